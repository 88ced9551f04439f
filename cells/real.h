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
#define R_TANH tanhf
#define R_LOG logf
#define R_SQRT sqrtf
#endif

static inline real sigmoid_r(real a) { return (real)1 / ((real)1 + R_EXP(-a)); }

#endif
