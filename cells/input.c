/* input.c: the input side of every cell, pre = x W^T + b, and its gradients
   dW += dpre^T x, db += sum of dpre rows; and the recurrent weights'
   gradient, the other product over all T*B rows.

   With few inputs (the adding problem has 2, the copy task 10) these are
   matrix products with an inner or outer dimension of X, a shape GEMM
   libraries handle badly (dnnl_sgemm measured 9-40 GFLOP/s on them, against
   100 on square ones). Up to INPUT_SMALL_X inputs the loops below do the work
   instead, one step at a time while its rows are in cache: the projection in
   forward, and in backward the weight and bias gradients together. Wider
   inputs go through the GEMM backend, over all T steps at once. */
#include "kernel.h"
#include "gemm.h"
#include "vec_kernel.h"

#include <string.h>

int input_is_small(int X) { return X <= INPUT_SMALL_X; }

/* wt (X,G) = W^T for W (G,X), in tiles that keep both sides in L1 */
void input_transpose(real *wt, const real *W, int X, int G) {
    enum { TILE = 32 };
    for (int g0 = 0; g0 < G; g0 += TILE)
        for (int k0 = 0; k0 < X; k0 += TILE)
            for (int k = k0; k < k0 + TILE && k < X; k++)
                for (int g = g0; g < g0 + TILE && g < G; g++)
                    wt[(size_t)k * G + g] = W[(size_t)g * X + k];
}

/* The loops below use one SIMD register of reals (vec_kernel.h). Written
   this way, and with X a constant in each instance, the sums stay in
   registers: the plain loops spilled them to the stack and ran 4x slower. */

/* out (rows,G) = init + x wt for a fixed X, wt (X,G), in tiles of 4
   registers; init's rows are init_ld apart (0: one row for all, a bias) */
static inline __attribute__((always_inline)) void project_x(real *out, const real *x,
                                                            const real *wt, const real *init,
                                                            size_t init_ld, int rows,
                                                            const int X, int G) {
    const int tile = 4 * LANES;
    for (int r = 0; r < rows; r++) {
        const real *xr = x + (size_t)r * X, *bias = init + r * init_ld;
        real *o = out + (size_t)r * G;
        int j0 = 0;
        for (; j0 + tile <= G; j0 += tile) {
            vreal a0 = vload(bias + j0), a1 = vload(bias + j0 + LANES);
            vreal a2 = vload(bias + j0 + 2 * LANES), a3 = vload(bias + j0 + 3 * LANES);
            for (int k = 0; k < X; k++) {
                const vreal xv = vbroadcast(xr[k]);
                const real *w = wt + (size_t)k * G + j0;
                a0 += xv * vload(w);
                a1 += xv * vload(w + LANES);
                a2 += xv * vload(w + 2 * LANES);
                a3 += xv * vload(w + 3 * LANES);
            }
            vstore(o + j0, a0);
            vstore(o + j0 + LANES, a1);
            vstore(o + j0 + 2 * LANES, a2);
            vstore(o + j0 + 3 * LANES, a3);
        }
        for (int j = j0; j < G; j++) {
            real s = bias[j];
            for (int k = 0; k < X; k++) s += xr[k] * wt[(size_t)k * G + j];
            o[j] = s;
        }
    }
}

/* dW (G,X) += dpre^T x and dbias += column sums of dpre, for a fixed X. For
   each chunk of rows (kept in L2) and each register-wide column tile, the X
   weight sums and the bias sum stay in registers over the chunk; acc (X+1,G)
   carries them between chunks. */
static inline __attribute__((always_inline)) void grads_x(real *acc, const real *dpre,
                                                          const real *x, int rows, const int X,
                                                          int G) {
    enum { CHUNK = 128 };
    for (int r0 = 0; r0 < rows; r0 += CHUNK) {
        const int r1 = r0 + CHUNK < rows ? r0 + CHUNK : rows;
        int g0 = 0;
        for (; g0 + LANES <= G; g0 += LANES) {
            vreal s[INPUT_SMALL_X + 1];
            for (int k = 0; k <= X; k++) s[k] = vload(acc + (size_t)k * G + g0);
            for (int r = r0; r < r1; r++) {
                const vreal d = vload(dpre + (size_t)r * G + g0);
                const real *xr = x + (size_t)r * X;
                for (int k = 0; k < X; k++) s[k] += vbroadcast(xr[k]) * d;
                s[X] += d;
            }
            for (int k = 0; k <= X; k++) vstore(acc + (size_t)k * G + g0, s[k]);
        }
        for (int g = g0; g < G; g++)
            for (int r = r0; r < r1; r++) {
                const real d = dpre[(size_t)r * G + g];
                for (int k = 0; k < X; k++) acc[(size_t)k * G + g] += x[(size_t)r * X + k] * d;
                acc[(size_t)X * G + g] += d;
            }
    }
}

/* one instance per input width, so that X is a constant in each */
#define FOR_EACH_SMALL_X(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) \
    F(13) F(14) F(15) F(16)

/* out (rows,G) = x (rows,X) W^T + bias, with wt = W^T (X,G) from input_transpose */
void input_project_small(real *out, const real *x, const real *wt, const real *bias,
                         int rows, int X, int G) {
    switch (X) {
#define CASE(n) case n: project_x(out, x, wt, bias, 0, rows, n, G); break;
        FOR_EACH_SMALL_X(CASE)
#undef CASE
    }
}

void upstream_grad(const Upstream *up, int t, int B, int H, const real *dh_next, real *dh) {
    const size_t BH = (size_t)B * H;
    if (up->dh_above) {
        const real *above = up->dh_above + (size_t)t * BH;
        for (size_t k = 0; k < BH; k++) dh[k] = dh_next[k] + above[k];
        return;
    }
    if (!up->active[t]) {
        memcpy(dh, dh_next, BH * sizeof(real));
        return;
    }
    const real *dy = up->dy + (size_t)t * B * up->Y;
    switch (up->Y <= INPUT_SMALL_X ? up->Y : 0) {
#define CASE(n) case n: project_x(dh, dy, up->V, dh_next, H, B, n, H); break;
        FOR_EACH_SMALL_X(CASE)
#undef CASE
    default:
        memcpy(dh, dh_next, BH * sizeof(real));
        gemm(0, 0, B, H, up->Y, 1, dy, up->Y, up->V, H, 1, dh, H);
    }
}

void upstream_grad_c(const Upstream *up, int t, int B, int H, real *dc) {
    if (!up->dc_above) return;
    const size_t BH = (size_t)B * H;
    const real *above = up->dc_above + (size_t)t * BH;
    for (size_t k = 0; k < BH; k++) dc[k] += above[k];
}

void readout_grads(real *dV, real *dd, const real *dy, const real *h, int rows, int Y, int H,
                   real *acc) {
    if (Y > INPUT_SMALL_X) {
        gemm(1, 0, Y, H, rows, 1, dy, Y, h, H, 1, dV, H);
        sum_rows_into(dd, dy, rows, Y);
        return;
    }
    /* the input gradients' loop with h in dpre's place: acc's first Y rows
       are dV's layout already (its last row, sums of h, goes unused) */
    memset(acc, 0, (size_t)(Y + 1) * H * sizeof(real));
    input_grads_rows(acc, h, dy, rows, Y, H);
    for (size_t k = 0; k < (size_t)Y * H; k++) dV[k] += acc[k];
    sum_rows_into(dd, dy, rows, Y);
}

void input_grads_begin(real *acc, int X, int G) {
    memset(acc, 0, (size_t)(X + 1) * G * sizeof(real));
}

void input_grads_rows(real *acc, const real *dpre, const real *x, int rows, int X, int G) {
    switch (X) {
#define CASE(n) case n: grads_x(acc, dpre, x, rows, n, G); break;
        FOR_EACH_SMALL_X(CASE)
#undef CASE
    }
}

void input_grads_finish(real *dW, real *dbias, const real *acc, int X, int G) {
    const real *acc_b = acc + (size_t)X * G;
    for (int g = 0; g < G; g++) {
        for (int k = 0; k < X; k++) dW[(size_t)g * X + k] += acc[(size_t)k * G + g];
        dbias[g] += acc_b[g];
    }
}

void input_project(real *out, const real *x, const real *W, const real *bias, int rows, int X,
                   int G) {
    /* the bias first and the product added to it: one pass over out fewer
       than adding the bias afterwards */
    for (int r = 0; r < rows; r++) memcpy(out + (size_t)r * G, bias, (size_t)G * sizeof(real));
    gemm(0, 1, rows, G, X, 1, x, X, W, X, 1, out, G);
}

void input_grads(real *dW, const real *dpre, const real *x, int rows, int X, int G) {
    gemm(1, 0, G, X, rows, 1, dpre, G, x, X, 1, dW, X);
}

/* dR (G,H) += dpre^T h, dpre's rows ld_dpre apart. dnnl_sgemm runs the transposed product h^T dpre,
   with the wide G as its N, 10-15 % faster (measured 85 -> 99 GFLOP/s at
   G = 2048, H = 512); it goes into scratch (of scratch_n reals, a cache
   block backward no longer needs) and is added back transposed. */
void recurrent_grads(real *dR, const real *dpre, int ld_dpre, const real *h, int rows, int H,
                     int G, real *scratch, size_t scratch_n) {
    if (scratch_n < (size_t)H * G) {
        gemm(1, 0, G, H, rows, 1, dpre, ld_dpre, h, H, 1, dR, H);
        return;
    }
    gemm(1, 0, H, G, rows, 1, h, H, dpre, ld_dpre, 0, scratch, G);
    enum { TILE = 32 }; /* tiles keep both sides of the transpose in L1 */
    for (int g0 = 0; g0 < G; g0 += TILE)
        for (int k0 = 0; k0 < H; k0 += TILE)
            for (int g = g0; g < g0 + TILE && g < G; g++)
                for (int k = k0; k < k0 + TILE && k < H; k++)
                    dR[(size_t)g * H + k] += scratch[(size_t)k * G + g];
}
