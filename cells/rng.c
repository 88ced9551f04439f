/* rng.c: xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint64_t hash_bytes(const void *data, uint64_t len, uint64_t h) {
    const unsigned char *p = data;
    h ^= 0xCBF29CE484222325ULL;
    for (uint64_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001B3ULL;
    return splitmix64(&h);
}

void rng_stream(Rng *rng, uint64_t seed, const char *purpose) {
    rng_seed(rng, hash_bytes(purpose, strlen(purpose), seed));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *rng) { return (double)(rng_u64(rng) >> 11) * 0x1.0p-53; }

double rng_range(Rng *rng, double lo, double hi) { return lo + (hi - lo) * rng_uniform(rng); }

int rng_int(Rng *rng, int n) {
    /* rejection sampling keeps every value equally likely */
    uint64_t un = (uint64_t)n, limit = UINT64_MAX - UINT64_MAX % un;
    uint64_t v;
    do v = rng_u64(rng); while (v >= limit);
    return (int)(v % un);
}

double rng_normal(Rng *rng) {
    double u1 = rng_uniform(rng), u2 = rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
