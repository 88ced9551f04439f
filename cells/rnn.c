/* rnn.c: the Elman RNN (docs/cells.md "Elman RNN"), tanh or ReLU (irnn).
       h_t = act(W x_t + R h_{t-1} + b)
   The input projection (input.c) is one GEMM over all T steps, or with few
   inputs a loop per step; each step adds one (B,H)x(H,H) product and applies
   the activation in place. */
#include "kernel.h"
#include "gemm.h"
#include "rec_kernel.h"

#include <stdio.h>
#include <string.h>

/* what an rnn cell is, resolved by rnn_make (Cell.kind_data) */
typedef struct {
    int relu;          /* irnn */
    InputRecurrent at; /* tensor offsets */
} RnnData;

CELL_KIND_DATA_OF(RnnData)

/* x (T,B,X) -> cc->h (T+1,B,H); h[0] is h_0, set by the caller. */
static void rnn_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const RnnData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh, *b = params + d.at.bias;
    real *h = cc->h;
    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, H); /* projected step by step below */
    } else {
        input_project(h + BH, x, W, b, T * B, X, H); /* h[1..T], all steps at once */
    }
    rec_prepare(cc->r_t, R, H, H, H); /* h R^T on a copy of R made once (rec_kernel.c) */
    for (int t = 0; t < T; t++) {
        real *h_prev = h + (size_t)t * BH, *h_t = h_prev + BH;
        if (small_x) input_project_small(h_t, x + (size_t)t * B * X, cc->in_work, b, B, X, H);
        rec_product(h_t, H, h_prev, H, cc->r_t, B, H, H, 0);
        if (d.relu) {
            for (size_t k = 0; k < BH; k++) h_t[k] = h_t[k] > 0 ? h_t[k] : 0;
        } else {
            for (size_t k = 0; k < BH; k++) h_t[k] = R_TANH(h_t[k]);
        }
    }
}

static void rnn_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                         const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                         real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const RnnData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, H);
    real *dpre_all = cc->dpre;
    const int relu = d.relu;
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
        else sum_rows_into(dparams + d.at.bias, dpre, B, H);
        /* pre = ... + R h_{t-1}: dh_{t-1} = dpre R */
        gemm(0, 0, B, H, H, 1, dpre, H, R, H, 0, dh_next, H);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    if (small_x) input_grads_finish(dparams + d.at.w_ih, dparams + d.at.bias, cc->in_work, X, H);
    else input_grads(dparams + d.at.w_ih, dpre_all, x, T * B, X, H);
    gemm(1, 0, H, H, T * B, 1, dpre_all, H, cc->h, H, 1, dparams + d.at.w_hh, H);
    if (dx) gemm(0, 0, T * B, X, H, 1, dpre_all, H, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo rnn_names[] = {
    {"rnn", "Elman RNN, h = tanh(W x + R h + b)", "NM + N^2 + N"},
    {"irnn", "Elman RNN with ReLU, R initialised to I, b = 0 (Le et al. 2015)", "NM + N^2 + N"},
};

static int rnn_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    RnnData d = {0};
    if (!strcmp(name, "irnn")) d.relu = 1;
    else if (strcmp(name, "rnn")) return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    d.at = cell_add_input_recurrent(c, 1);
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void rnn_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    size_t H = (size_t)c->H;
    cc->r_t = carve(cv, H * H);
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * H);
    cc->dpre = carve(cv, (size_t)T * B * H);
}

/* irnn (Le et al. 2015): R = I and b = 0 */
static void rnn_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    (void)init, (void)rng;
    const RnnData d = data_of(c);
    if (!d.relu) return;
    const int H = c->H;
    real *R = params + d.at.w_hh;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) R[(size_t)i * H + j] = (real)(i == j);
    for (int j = 0; j < H; j++) params[d.at.bias + j] = 0;
}

static int rnn_attrs(const Cell *c, const AttrSink *s) {
    return s->put_str(s->ctx, "activation", data_of(c).relu ? "relu" : "tanh");
}

static double rnn_step_madds(const Cell *c) { return (double)(c->X + c->H) * c->H; }

const CellOps rnn_ops = {
    .kind = "rnn",
    .names = rnn_names,
    .n_names = (int)(sizeof rnn_names / sizeof rnn_names[0]),
    .make = rnn_make,
    .cache = rnn_cache,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .init = rnn_init,
    .attrs = rnn_attrs,
    .step_madds = rnn_step_madds,
};
