/* gru.c: the two GRU forms of cells.md, blocks in order r, u(=z), n.
   gru (Cho et al. 2014), reset before the recurrent product:
       r = σ(W_r x + R_r h + b_r),  u = σ(W_u x + R_u h + b_u)
       n = tanh(W_n x + R_n (r ⊙ h) + b_n)
   gru-ra (cuDNN/PyTorch), reset after it, with its own bias b_rn:
       n = tanh(W_n x + b_n + r ⊙ (R_n h + b_rn))
   both: h' = (1 - u) ⊙ n + u ⊙ h. */
#include "cell.h"
#include "gemm.h"

#include <string.h>

/* x (T,B,X) -> h (T+1,B,H); act (T,B,3H) holds r, u, n; aux (T,B,H) holds
   r ⊙ h_{t-1} (gru) or R_n h_{t-1} + b_rn (gru-ra). */
void gru_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;
    const int reset_after = cell->flags.reset_after;
    const real *b_rn = reset_after ? params + cell->bias_rn : NULL;
    /* products on R^T: dnnl_sgemm runs them faster untransposed (108 against
       87 GFLOP/s at B = 32, H = 64) */
    const real *R_t = cc->r_t, *R_t_n = cc->r_t + 2 * H;
    input_transpose(cc->r_t, R, H, GH);

    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    } else {
        input_project(cc->act, x, W, params + cell->bias, T * B, X, GH); /* all T steps */
    }
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x)
            input_project_small(a, x + (size_t)t * B * X, cc->in_work, params + cell->bias, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH;
        real *aux = cc->aux + (size_t)t * BH;
        if (reset_after) {
            real *hh = cc->tmp; /* (B,3H) = h_{t-1} R^T */
            gemm(0, 0, B, GH, H, 1, h_prev, H, R_t, GH, 0, hh, GH);
            for (int b = 0; b < B; b++) {
                real *ab = a + (size_t)b * GH;
                const real *hb = hh + (size_t)b * GH;
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    size_t k = (size_t)b * H + j;
                    real r = sigmoid_r(ab[j] + hb[j]);
                    real u = sigmoid_r(ab[H + j] + hb[H + j]);
                    real hn = hb[2 * H + j] + b_rn[j];
                    real n = R_TANH(ab[2 * H + j] + r * hn);
                    ab[j] = r;
                    ab[H + j] = u;
                    ab[2 * H + j] = n;
                    aux[k] = hn;
                    h_t[k] = (1 - u) * n + u * h_prev[k];
                }
            }
        } else {
            /* r and u first: they need only h_{t-1} */
            gemm(0, 0, B, 2 * H, H, 1, h_prev, H, R_t, GH, 1, a, GH);
            for (int b = 0; b < B; b++) {
                real *ab = a + (size_t)b * GH;
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    ab[j] = sigmoid_r(ab[j]);
                    ab[H + j] = sigmoid_r(ab[H + j]);
                    aux[(size_t)b * H + j] = ab[j] * h_prev[(size_t)b * H + j];
                }
            }
            gemm(0, 0, B, H, H, 1, aux, H, R_t_n, GH, 1, a + 2 * H, GH);
            for (int b = 0; b < B; b++) {
                real *ab = a + (size_t)b * GH;
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    size_t k = (size_t)b * H + j;
                    real n = R_TANH(ab[2 * H + j]);
                    ab[2 * H + j] = n;
                    h_t[k] = (1 - ab[H + j]) * n + ab[H + j] * h_prev[k];
                }
            }
        }
    }
}

void gru_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                  const Upstream *up, real *dparams, real *dx, real *dh0, real *flow_h) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H;
    const size_t TBH = (size_t)T * BH;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;
    const real *R_n = R + (size_t)2 * H * H;
    const int reset_after = cell->flags.reset_after;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);

    for (int t = T - 1; t >= 0; t--) {
        const real *a = cc->act + (size_t)t * B * GH;
        const real *h_prev = cc->h + (size_t)t * BH;
        const real *aux = cc->aux + (size_t)t * BH;
        real *dpre = cc->dpre + (size_t)t * B * GH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        if (reset_after) {
            /* dL/d(h_{t-1} R^T + [0,0,b_rn]) for this step, (B,3H): it equals
               dpre but in the n block, which is kept (T-sized) in dhn */
            real *dhh = cc->tmp, *dhn = cc->dhn + (size_t)t * BH;
            for (int b = 0; b < B; b++) {
                /* di is ab (dpre shares act's memory): each j reads r, u, n
                   before it writes their gradients, and no j touches another's */
                const real *ab = a + (size_t)b * GH;
                real *di = dpre + (size_t)b * GH, *dr_ = dhh + (size_t)b * GH;
#pragma GCC ivdep
                for (int j = 0; j < H; j++) {
                    size_t k = (size_t)b * H + j;
                    real r = ab[j], u = ab[H + j], n = ab[2 * H + j];
                    /* h' = (1-u) n + u h */
                    real dn = dh[k] * (1 - u), du = dh[k] * (h_prev[k] - n);
                    /* n = tanh(a_n + r * hn) */
                    real dan = dn * (1 - n * n);
                    real dar = dan * aux[k] * r * (1 - r);
                    real dau = du * u * (1 - u);
                    di[j] = dr_[j] = dar;
                    di[H + j] = dr_[H + j] = dau;
                    di[2 * H + j] = dan;
                    dr_[2 * H + j] = dhn[k] = dan * r;
                    dh_next[k] = dh[k] * u;
                }
            }
            gemm(0, 0, B, H, GH, 1, dhh, GH, R, H, 1, dh_next, H);
        } else {
            /* pass 1: n and u, which do not need R_n's product */
            for (int b = 0; b < B; b++) {
                const real *ab = a + (size_t)b * GH;
                real *db = dpre + (size_t)b * GH;
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    size_t k = (size_t)b * H + j;
                    real u = ab[H + j], n = ab[2 * H + j];
                    db[2 * H + j] = dh[k] * (1 - u) * (1 - n * n);
                    db[H + j] = dh[k] * (h_prev[k] - n) * u * (1 - u);
                }
            }
            /* n = tanh(... + R_n (r ⊙ h)): d(r ⊙ h) = dan R_n */
            real *drh = cc->tmp;
            gemm(0, 0, B, H, H, 1, dpre + 2 * H, GH, R_n, H, 0, drh, H);
            for (int b = 0; b < B; b++) {
                const real *ab = a + (size_t)b * GH;
                real *db = dpre + (size_t)b * GH;
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    size_t k = (size_t)b * H + j;
                    real r = ab[j], u = ab[H + j];
                    db[j] = drh[k] * h_prev[k] * r * (1 - r);
                    dh_next[k] = dh[k] * u + drh[k] * r;
                }
            }
            gemm(0, 0, B, H, 2 * H, 1, dpre, GH, R, H, 1, dh_next, H);
        }
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + cell->bias, dpre, B, GH);
    }
    if (small_x) input_grads_finish(dparams + cell->w_ih, dparams + cell->bias, cc->in_work, X, GH);
    else input_grads(dparams + cell->w_ih, cc->dpre, x, T * B, X, GH);
    if (reset_after) {
        /* R_r, R_u see the same gradient as W_r, W_u; R_n sees dhn. aux
           (T*B*H) is spent and serves as the transposing scratch. */
        gemm(1, 0, H, H, T * B, 1, cc->dhn, H, cc->h, H, 1, dparams + cell->w_hh + (size_t)2 * H * H, H);
        sum_rows_into(dparams + cell->bias_rn, cc->dhn, T * B, H);
        recurrent_grads(dparams + cell->w_hh, cc->dpre, GH, cc->h, T * B, H, 2 * H, cc->aux, TBH);
    } else {
        gemm(1, 0, H, H, T * B, 1, cc->dpre + 2 * H, GH, cc->aux, H, 1,
             dparams + cell->w_hh + (size_t)2 * H * H, H);
        /* after R_n's product aux is spent: the transposing scratch */
        recurrent_grads(dparams + cell->w_hh, cc->dpre, GH, cc->h, T * B, H, 2 * H, cc->aux, TBH);
    }
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}
