/* rng.h: a small deterministic random stream (xoshiro256** seeded through
   splitmix64). Every random number in rnnbench comes from one of these, owned
   by one run, so results depend only on seeds, never on threads or order. */
#ifndef RNNBENCH_RNG_H
#define RNNBENCH_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *rng, uint64_t seed);
/* an independent stream for (seed, purpose), e.g. purpose "init" or "eval" */
void rng_stream(Rng *rng, uint64_t seed, const char *purpose);
uint64_t rng_u64(Rng *rng);
double rng_uniform(Rng *rng);                   /* [0, 1) */
double rng_range(Rng *rng, double lo, double hi); /* [lo, hi) */
int rng_int(Rng *rng, int n);                   /* 0 .. n-1, unbiased */
double rng_normal(Rng *rng);                    /* N(0, 1) */
/* a stable 64-bit hash of bytes (FNV-1a then a splitmix finaliser) */
uint64_t hash_bytes(const void *data, uint64_t len, uint64_t h);

#endif
