/* real.h: the one floating-point type of a build.
   `make` builds with float; `make PRECISION=double` defines RNNBENCH_DOUBLE and
   every tensor, GEMM call and HDF5 dataset follows. Nothing else should name
   float or double for model data. */
#ifndef RNNBENCH_REAL_H
#define RNNBENCH_REAL_H

#include <math.h>

#ifdef RNNBENCH_DOUBLE
typedef double real;
#define REAL_NAME "double"
#define R_EXP exp
#define R_TANH tanh
#define R_LOG log
#define R_LOG1P_UNIT log1p
#define R_SQRT sqrt
#else
typedef float real;
#define REAL_NAME "float"
#define R_EXP exp_f
#define R_TANH tanh_f
#define R_LOG logf
#define R_LOG1P_UNIT log1p_unit_f
#define R_SQRT sqrtf

/* a ? x : y selected through the bits. GCC 12 (-ftrapping-math, the ISO
   default) turns a plain `?:` between floats into a branch once arithmetic
   follows it, and a loop with a branch does not vectorize: the gate loops
   of every cell ran scalar (measured: 40 % of a W1 lstm step in its forward
   gate loop alone). A mask on the bits is not a branch. */
static inline float select_f(int a, float x, float y) {
    union { float f; int i; } ux = {x}, uy = {y}, out;
    const int m = -(a != 0);
    out.i = (ux.i & m) | (uy.i & ~m);
    return out.f;
}

/* exp without a library call, so that the gate loops vectorize: Cody-Waite
   reduction x = k ln2 + r, then the degree-6 minimax polynomial of Cephes'
   expf on |r| <= ln2/2 (about 1 ulp), scaled by 2^k through the exponent
   bits. Branch-free (select_f); the input is clamped to the finite range
   and a NaN is passed through (divergence detection relies on it). */
static inline float exp_f(float x) {
    float xc = select_f(x > -87.0f, x, -87.0f);
    xc = select_f(xc < 88.0f, xc, 88.0f);
    /* k = xc / ln2 rounded to the nearest integer by adding and removing
       1.5 * 2^23, where floats are integers: plain arithmetic, so the loops
       vectorize without SSE4.1's round instruction too (make PORTABLE=1);
       __builtin_rintf there was a library call and kept them scalar */
    float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int i; float f; } scale;
    scale.i = ((int)k + 127) << 23;
    float y = p * scale.f;
    return select_f(x == x, y, x);
}

/* log(1 + e) for e in [0, 1], without a library call, so that the BCE loss loop
   vectorizes (libm's log1p was 10 % of a W4 step, measured with perf):
   log(1 + e) = 2 atanh(s) with s = e / (2 + e) in [0, 1/3], and the series
   2 (s + s^3/3 + ... + s^13/13) leaves a remainder below 2 (1/3)^15 / 15 * 9/8,
   about 1e-8 against log 2: inside a float's half ulp. Exact at 0. */
static inline float log1p_unit_f(float e) {
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* tanh without a library call, as a rational function: x P(x^2) / Q(x^2)
   with P and Q of degree 4 in x^2, fitted for this project (a weighted
   least-squares fit of the relative error on (0, 9], reweighted towards
   the largest errors; about 2e-8 in exact arithmetic). Evaluated in float
   it is within 6 ulp of tanh, as the exp-based form it replaces was, at
   less than half the cost (measured on Zen 3: 0.42 against 1.10 ns an
   element): one division and ten multiply-adds, no exponent bits. Beyond
   |x| = 9 tanh is 1 to within a float's half ulp, so |x| is clamped there,
   and the result to 1 (rounding leaves it up to 2 ulp above). Each
   comparison is written so that it is false for a NaN, which then passes
   through untouched (divergence detection relies on it). */
static inline float tanh_f(float a) {
    const float x = select_f(__builtin_fabsf(a) > 9.0f, 9.0f, __builtin_fabsf(a));
    const float s = x * x;
    float p = 1.33559555e-8f;
    p = p * s + 2.0610034e-5f;
    p = p * s + 3.4956469e-3f;
    p = p * s + 1.3381076e-1f;
    p = p * s + 1.0f;
    float q = 7.777093e-7f;
    q = q * s + 3.2857302e-4f;
    q = q * s + 2.5877206e-2f;
    q = q * s + 4.6714392e-1f;
    q = q * s + 1.0f;
    const float r = x * p / q;
    return __builtin_copysignf(select_f(r > 1.0f, 1.0f, r), a);
}
#endif

/* a ? x : y for the build's real, both sides evaluated: in float without a
   branch (select_f); in double the gate functions are library calls, which
   keep a loop scalar anyway */
#ifdef RNNBENCH_DOUBLE
#define select_r(a, x, y) ((a) ? (x) : (y))
#else
#define select_r(a, x, y) select_f((a), (x), (y))
#endif

/* sigma(a) = (1 + tanh(a/2)) / 2: in float one rational function instead
   of an exponential and a division (W1 lstm 1.09x faster, measured); within
   2e-7 of sigma everywhere and inside [0, 1], which is all a gate needs.
   Its relative accuracy far in the lower tail is lost (sigma(-20) is 0
   here), so nothing that takes a logarithm of it may use it: the losses
   have their own (the BCE in cells/model.c). In double, libm. */
#ifdef RNNBENCH_DOUBLE
static inline real sigmoid_r(real a) { return (real)1 / ((real)1 + R_EXP(-a)); }
#else
static inline real sigmoid_r(real a) { return 0.5f + 0.5f * tanh_f(0.5f * a); }
#endif

#endif
