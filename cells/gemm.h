/* gemm.h: row-major C = alpha * op(A) op(B) + beta * C in the build's precision.
   One entry point so that the backend (oneDNN's dnnl_sgemm or a CBLAS) is chosen
   at build time (make BLAS=onednn|openblas) and no cell names a library.
   Double precision always goes through CBLAS (oneDNN has no dgemm). */
#ifndef RNNBENCH_GEMM_H
#define RNNBENCH_GEMM_H

#include "real.h"

/* op(A) is M x K, op(B) is K x N, C is M x N; trans_a/trans_b are 0 or 1. */
void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha,
          const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc);

/* Restrict the backend to the calling thread (call once per run/thread). */
void gemm_single_thread(void);

/* Name of the backend in use, e.g. "onednn" or "openblas". */
const char *gemm_backend(void);

#endif
