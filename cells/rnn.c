/* rnn.c: the Elman RNN (cells.md "Elman RNN"), tanh or ReLU (irnn).
       h_t = act(W x_t + R h_{t-1} + b)
   The input projection (input.c) is one GEMM over all T steps, or with few
   inputs a loop per step; each step adds one (B,H)x(H,H) product and applies
   the activation in place. */
#include "cell.h"
#include "gemm.h"

#include <string.h>

/* x (T,B,X) -> cc->h (T+1,B,H); h[0] is h_0, set by the caller. */
void rnn_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh, *b = params + cell->bias;
    real *h = cc->h;
    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, H); /* projected step by step below */
    } else {
        input_project(h + BH, x, W, b, T * B, X, H); /* h[1..T], all steps at once */
    }
    /* h R^T on R stored transposed: dnnl_sgemm runs the untransposed operand
       faster (106 against 96 GFLOP/s in this loop at W2) */
    input_transpose(cc->r_t, R, H, H);
    for (int t = 0; t < T; t++) {
        real *h_prev = h + (size_t)t * BH, *h_t = h_prev + BH;
        if (small_x) input_project_small(h_t, x + (size_t)t * B * X, cc->in_work, b, B, X, H);
        gemm(0, 0, B, H, H, 1, h_prev, H, cc->r_t, H, 1, h_t, H);
        if (cell->flags.relu) {
            for (size_t k = 0; k < BH; k++) h_t[k] = h_t[k] > 0 ? h_t[k] : 0;
        } else {
            for (size_t k = 0; k < BH; k++) h_t[k] = R_TANH(h_t[k]);
        }
    }
}

void rnn_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                  const Upstream *up, real *dparams, real *dx, real *dh0, real *flow_h) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, H);
    real *dpre_all = cc->dpre;
    const int relu = cell->flags.relu;
    for (int t = T - 1; t >= 0; t--) {
        const real *h_t = cc->h + (size_t)(t + 1) * BH;
        real *dpre = dpre_all + (size_t)t * BH;
        /* h_t feeds the readout and step t+1 (dh_next); in the forward pass
           h_t = act(pre), so dpre = dh * act'(pre) */
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        for (size_t k = 0; k < BH; k++)
            dpre[k] = relu ? (h_t[k] > 0 ? dh[k] : 0) : dh[k] * (1 - h_t[k] * h_t[k]);
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, H);
        else sum_rows_into(dparams + cell->bias, dpre, B, H);
        /* pre = ... + R h_{t-1}: dh_{t-1} = dpre R */
        gemm(0, 0, B, H, H, 1, dpre, H, R, H, 0, dh_next, H);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    if (small_x) input_grads_finish(dparams + cell->w_ih, dparams + cell->bias, cc->in_work, X, H);
    else input_grads(dparams + cell->w_ih, dpre_all, x, T * B, X, H);
    gemm(1, 0, H, H, T * B, 1, dpre_all, H, cc->h, H, 1, dparams + cell->w_hh, H);
    if (dx) gemm(0, 0, T * B, X, H, 1, dpre_all, H, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}
