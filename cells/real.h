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
#define R_SQRT sqrt
#else
typedef float real;
#define REAL_NAME "float"
#define R_EXP expf
#define R_TANH tanh_f
#define R_LOG logf
#define R_SQRT sqrtf

/* tanh through expf, which is several times faster than glibc's tanhf (the
   gate nonlinearities dominated a training step). Near 0 the odd Taylor
   series avoids the cancellation of (1 - e) / (1 + e); elsewhere that
   quotient loses at most 3 bits: a few ulp, far inside the 1e-5 float
   tolerance of the PyTorch comparison. */
static inline float tanh_f(float a) {
    float x = fabsf(a);
    if (x < 0.0625f) {
        float x2 = a * a;
        return a * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))));
    }
    float e = expf(-2.0f * x);
    return copysignf((1.0f - e) / (1.0f + e), a);
}
#endif

static inline real sigmoid_r(real a) { return (real)1 / ((real)1 + R_EXP(-a)); }

#endif
