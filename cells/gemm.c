/* gemm.c: the GEMM backend switch. Compiled with -DRNNBENCH_ONEDNN to route
   float products to dnnl_sgemm, otherwise everything goes to CBLAS. */
#include "gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(RNNBENCH_ONEDNN) && !defined(RNNBENCH_DOUBLE)
#include <oneapi/dnnl/dnnl.h>
#define USE_ONEDNN 1
#endif

void openblas_set_num_threads(int num_threads); /* OpenBLAS extension */

void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha,
          const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
#ifdef USE_ONEDNN
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha,
                                  A, lda, B, ldb, beta, C, ldc);
    if (st != dnnl_success) {
        fprintf(stderr, "rnnbench: dnnl_sgemm failed (status %d) for %dx%dx%d\n", (int)st, M, N, K);
        abort();
    }
#else
    enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
#ifdef RNNBENCH_DOUBLE
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
#endif
}

void gemm_single_thread(void) {
    /* A run is single-threaded by design: parallelism is across runs. The
       backend must not fan out inside one, or results would depend on how many
       threads it happened to get. */
    openblas_set_num_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(1); /* limits nested regions started from this thread (oneDNN) */
#endif
}

const char *gemm_backend(void) {
#ifdef USE_ONEDNN
    return "onednn";
#else
    return "openblas";
#endif
}
