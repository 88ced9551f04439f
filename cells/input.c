/* input.c: the input side of every cell, pre = x W^T + b, and its gradients
   dW += dpre^T x, db += sum of dpre rows; and the recurrent weights'
   gradient, the other product over all T*B rows.

   With few inputs (the adding problem has 2, the copy task 10) these are
   matrix products with an inner or outer dimension of X, a shape GEMM
   libraries handle badly (dnnl_sgemm measured 9-40 GFLOP/s on them, against
   100 on square ones). Up to INPUT_SMALL_X inputs the loops below do the work
   instead: the projection one step at a time, while its rows are in cache,
   and the gradients in one pass over dpre that also sums the bias. Wider
   inputs go through the GEMM backend. */
#include "cell.h"
#include "gemm.h"

#include <string.h>

int input_is_small(int X) { return X <= INPUT_SMALL_X; }

void input_transpose(real *wt, const real *W, int X, int G) {
    for (int g = 0; g < G; g++)
        for (int k = 0; k < X; k++) wt[(size_t)k * G + g] = W[(size_t)g * X + k];
}

/* out (rows,G) = x (rows,X) W^T + bias, with wt = W^T (X,G) from input_transpose.
   Columns go in tiles of 64 so that a tile's sums stay in registers while the
   X inputs are folded in. */
void input_project_small(real *out, const real *x, const real *wt, const real *bias,
                         int rows, int X, int G) {
    enum { TILE = 64 };
    for (int r = 0; r < rows; r++) {
        const real *xr = x + (size_t)r * X;
        real *o = out + (size_t)r * G;
        int j0 = 0;
        for (; j0 + TILE <= G; j0 += TILE) {
            real acc[TILE];
            for (int j = 0; j < TILE; j++) acc[j] = bias[j0 + j];
            for (int k = 0; k < X; k++) {
                const real xv = xr[k], *w = wt + (size_t)k * G + j0;
                for (int j = 0; j < TILE; j++) acc[j] += xv * w[j];
            }
            for (int j = 0; j < TILE; j++) o[j0 + j] = acc[j];
        }
        for (int j = j0; j < G; j++) {
            real s = bias[j];
            for (int k = 0; k < X; k++) s += xr[k] * wt[(size_t)k * G + j];
            o[j] = s;
        }
    }
}

/* dW (G,X) += dpre^T x and dbias (G) += column sums of dpre (rows,G), read
   once. acc is scratch of (X+1)*G reals: row k < X gathers dW's column k,
   row X the bias. It stays in L1 for the shapes this path takes. */
void input_grads_small(real *dW, real *dbias, const real *dpre, const real *x,
                       int rows, int X, int G, real *acc) {
    memset(acc, 0, (size_t)(X + 1) * G * sizeof(real));
    real *acc_b = acc + (size_t)X * G;
    int r = 0;
    /* two rows at a time: each accumulator load and store serves two FMAs */
    for (; r + 2 <= rows; r += 2) {
        const real *d0 = dpre + (size_t)r * G, *d1 = d0 + G;
        const real *x0 = x + (size_t)r * X, *x1 = x0 + X;
        for (int k = 0; k < X; k++) {
            const real a0 = x0[k], a1 = x1[k];
            real *ak = acc + (size_t)k * G;
            for (int g = 0; g < G; g++) ak[g] += a0 * d0[g] + a1 * d1[g];
        }
        for (int g = 0; g < G; g++) acc_b[g] += d0[g] + d1[g];
    }
    for (; r < rows; r++) {
        const real *d0 = dpre + (size_t)r * G, *x0 = x + (size_t)r * X;
        for (int k = 0; k < X; k++) {
            real *ak = acc + (size_t)k * G;
            for (int g = 0; g < G; g++) ak[g] += x0[k] * d0[g];
        }
        for (int g = 0; g < G; g++) acc_b[g] += d0[g];
    }
    for (int g = 0; g < G; g++) {
        for (int k = 0; k < X; k++) dW[(size_t)g * X + k] += acc[(size_t)k * G + g];
        dbias[g] += acc_b[g];
    }
}

void input_grads(real *dW, real *dbias, const real *dpre, const real *x, int rows, int X,
                 int G, real *acc) {
    if (input_is_small(X)) {
        input_grads_small(dW, dbias, dpre, x, rows, X, G, acc);
    } else {
        gemm(1, 0, G, X, rows, 1, dpre, G, x, X, 1, dW, X);
        sum_rows_into(dbias, dpre, rows, G);
    }
}

/* dR (G,H) += dpre^T h. dnnl_sgemm runs the transposed product h^T dpre,
   with the wide G as its N, 10-15 % faster (measured 85 -> 99 GFLOP/s at
   G = 2048, H = 512); it goes into scratch (of scratch_n reals, a cache
   block backward no longer needs) and is added back transposed. */
void recurrent_grads(real *dR, const real *dpre, const real *h, int rows, int H, int G,
                     real *scratch, size_t scratch_n) {
    if (scratch_n < (size_t)H * G) {
        gemm(1, 0, G, H, rows, 1, dpre, G, h, H, 1, dR, H);
        return;
    }
    gemm(1, 0, H, G, rows, 1, h, H, dpre, G, 0, scratch, G);
    enum { TILE = 32 }; /* tiles keep both sides of the transpose in L1 */
    for (int g0 = 0; g0 < G; g0 += TILE)
        for (int k0 = 0; k0 < H; k0 += TILE)
            for (int g = g0; g < g0 + TILE && g < G; g++)
                for (int k = k0; k < k0 + TILE && k < H; k++)
                    dR[(size_t)g * H + k] += scratch[(size_t)k * G + g];
}
