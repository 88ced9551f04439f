/* rec_kernel.h: the per-step recurrent product a += h R^T of a cell's
   forward, on a copy of R made once per sequence: a register-blocked kernel
   on a panel-packed copy where the machine has FMA, otherwise R^T for the
   GEMM backend (rec_kernel.c says why, with the measurements). A cell calls
   rec_prepare once, then rec_product at each step with the same shape. */
#ifndef RNNBENCH_REC_KERNEL_H
#define RNNBENCH_REC_KERNEL_H

#include "real.h"

/* whether the products take the kernel (1 where the machine has FMA) or
   the GEMM backend */
int rec_uses_kernel(void);

/* packed (K*N reals) = R^T, the right-hand matrix of `out += h R^T`, for
   R (N,K) row-major with rows ldr apart: panel by panel for the kernel,
   plainly for the GEMM */
void rec_prepare(real *packed, const real *R, int ldr, int K, int N);

/* the same for `out += a M`, M (K,N) row-major with rows ldm apart (a
   backward's dL/dh_{t-1} = dpre R) */
void rec_prepare_nn(real *packed, const real *M, int ldm, int K, int N);

/* out (M,N, rows ldo apart) += a (M,K, rows lda apart) times the matrix
   rec_prepare packed from R (N,K); beta 0 (out overwritten) when
   overwrite is 1 */
void rec_product(real *out, int ldo, const real *a, int lda, const real *packed, int M, int K,
                 int N, int overwrite);

#endif
