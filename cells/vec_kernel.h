/* vec_kernel.h: one SIMD register of reals as a GCC vector type, for the
   hand-written loops of input.c and rec_kernel.c. Private to cells/. */
#ifndef RNNBENCH_VEC_KERNEL_H
#define RNNBENCH_VEC_KERNEL_H

#include "real.h"

/* As wide as the machine's registers: 512 bits with AVX-512, 256 with AVX,
   128 otherwise; loaded and stored at any alignment. A type wider than the
   registers spills: 512 bits on an AVX2 core (Zen 3) went through the stack
   and general registers, and input_grads_rows took 10 % of a W1 lstm step. */
#if defined(__AVX512F__)
#define VEC_BYTES 64
#elif defined(__AVX__)
#define VEC_BYTES 32
#else
#define VEC_BYTES 16
#endif
#define LANES (VEC_BYTES / (int)sizeof(real))
/* GCC notes that returning a wide vector has another ABI with AVX-512
   than without; these helpers are static and inlined, so no call crosses
   an ABI boundary */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef real vreal __attribute__((vector_size(VEC_BYTES), aligned(sizeof(real)), may_alias));
static inline vreal vload(const real *p) { return *(const vreal *)p; }
static inline void vstore(real *p, vreal v) { *(vreal *)p = v; }
/* a - 0 is a for every a, -0 included, so the subtraction folds away and
   leaves a broadcast (0 + a would stay: it maps -0 to +0) */
static inline vreal vbroadcast(real a) { return a - (vreal){0}; }

#endif
