/* dglstm.c: the Depth-Gated LSTM of Yao et al. 2015 (docs/cells.md
   "dglstm"), a stack of L >= 2 layers. Layer 0 is a plain `lstm` (NP) and
   runs lstm.c's kernels; each layer l >= 1 is an LSTM (NP) whose cell
   state also reads the cell state of the layer below through a depth gate:
       d_t = σ(W_d x_t + p_cd ⊙ c_{t-1} + p_ld ⊙ c_t^{below} + b_d)
       c_t = d_t ⊙ c_t^{below} + f_t ⊙ c_{t-1} + i_t ⊙ z_t
   with x_t = h_t^{below} (model.c passes it, and c^{below} through the
   cache's links). The layout puts W_d right after weight_ih and bias_d
   right after bias, so that the five blocks i, f, z, o, d take one input
   product over all T steps; the recurrent product covers i, f, z, o only
   (d has no R h term). */
#include "kernel.h"
#include "gemm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const CellOps lstm_ops; /* layer 0 is lstm.c's */

/* what a layer >= 1 is: tensor offsets (Cell.kind_data); layer 0 holds
   lstm.c's data instead */
typedef struct {
    size_t w_ih, w_d, w_hh, bias, bias_d, peep_cd, peep_ld;
} DglstmData;

CELL_KIND_DATA_OF(DglstmData)

enum { BLK_I, BLK_F, BLK_Z, BLK_O, BLK_D, N_BLOCKS };

/* x (T,B,X) and c of the layer below -> h, c (T+1,B,H); act (T,B,5H) holds
   i, f, z, o, d after the call. */
static void upper_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = N_BLOCKS * H, RH = 4 * H;
    const size_t BH = (size_t)B * H;
    const DglstmData d = data_of(cell);
    const real *W = params + d.w_ih, *b = params + d.bias; /* 5 blocks each (w_d, bias_d follow) */
    const real *p_cd = params + d.peep_cd, *p_ld = params + d.peep_ld;
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, GH);
    else input_project(cc->act, x, W, b, T * B, X, GH);
    input_transpose(cc->r_t, params + d.w_hh, H, RH);
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x) input_project_small(a, x + (size_t)t * B * X, cc->in_work, b, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH, *c_prev = cc->c + (size_t)t * BH;
        const real *c_below = cc->below_c + (size_t)(t + 1) * BH;
        real *c_t = cc->c + (size_t)(t + 1) * BH, *h_t = cc->h + (size_t)(t + 1) * BH;
        gemm(0, 0, B, RH, H, 1, h_prev, H, cc->r_t, RH, 1, a, GH);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real cp = c_prev[k0 + j], cb = c_below[k0 + j];
                const real gi = sigmoid_r(ab[j]), gf = sigmoid_r(ab[H + j]);
                const real gz = R_TANH(ab[2 * H + j]), go = sigmoid_r(ab[3 * H + j]);
                const real gd = sigmoid_r(ab[4 * H + j] + p_cd[j] * cp + p_ld[j] * cb);
                const real cn = gd * cb + gf * cp + gi * gz;
                ab[j] = gi;
                ab[H + j] = gf;
                ab[2 * H + j] = gz;
                ab[3 * H + j] = go;
                ab[4 * H + j] = gd;
                c_t[k0 + j] = cn;
                h_t[k0 + j] = go * R_TANH(cn);
            }
        }
    }
}

/* Backward of upper_forward; also writes dL/dc_t of the layer below
   (cc->below_dc, (T,B,H)), which that layer adds to its own. */
static void upper_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                           const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                           real *flow_h, real *flow_c) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = N_BLOCKS * H, RH = 4 * H;
    const size_t BH = (size_t)B * H;
    const DglstmData d = data_of(cell);
    const real *W = params + d.w_ih, *R = params + d.w_hh;
    const real *p_cd = params + d.peep_cd, *p_ld = params + d.peep_ld;
    real *dp_cd = dparams + d.peep_cd, *dp_ld = dparams + d.peep_ld;
    real *dh = cc->dh, *dh_next = cc->dh_next, *dc = cc->dc, *dc_next = cc->dc_next;
    memset(dh_next, 0, BH * sizeof(real));
    memset(dc_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    for (int t = T - 1; t >= 0; t--) {
        real *g = cc->dpre + (size_t)t * B * GH; /* the gates, overwritten by their gradients */
        const real *c_prev = cc->c + (size_t)t * BH, *c_t = cc->c + (size_t)(t + 1) * BH;
        const real *c_below = cc->below_c + (size_t)(t + 1) * BH;
        real *dc_below = cc->below_dc + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        upstream_grad_c(up, t, B, H, dc_next);
        for (int bb = 0; bb < B; bb++) {
            real *gb = g + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep
            for (int j = 0; j < H; j++) {
                const size_t k = k0 + j;
                const real gi = gb[j], gf = gb[H + j], gz = gb[2 * H + j], go = gb[3 * H + j];
                const real gd = gb[4 * H + j];
                const real cp = c_prev[k], cb = c_below[k], k_c = R_TANH(c_t[k]), dhk = dh[k];
                /* h = o tanh(c) */
                const real dct = dc_next[k] + dhk * go * (1 - k_c * k_c);
                const real dao = dhk * k_c * go * (1 - go);
                /* c = d c_below + f c_prev + i z */
                const real dai = dct * gz * gi * (1 - gi), daf = dct * cp * gf * (1 - gf);
                const real daz = dct * gi * (1 - gz * gz), dad = dct * cb * gd * (1 - gd);
                dc[k] = dct;
                dc_next[k] = dct * gf + dad * p_cd[j];   /* d saw p_cd ⊙ c_prev */
                dc_below[k] = dct * gd + dad * p_ld[j];  /* and p_ld ⊙ c_below */
                dp_cd[j] += dad * cp;
                dp_ld[j] += dad * cb;
                gb[j] = dai;
                gb[H + j] = daf;
                gb[2 * H + j] = daz;
                gb[3 * H + j] = dao;
                gb[4 * H + j] = dad;
            }
        }
        if (flow_c) flow_norms(dc, B, H, &flow_c[t]);
        if (small_x) input_grads_rows(cc->in_work, g, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + d.bias, g, B, GH);
        /* i, f, z, o saw R h_{t-1}; d did not */
        gemm(0, 0, B, H, RH, 1, g, GH, R, H, 0, dh_next, H);
    }
    /* weight_ih and weight_d (adjacent: 5H rows), bias and bias_d likewise */
    if (small_x) input_grads_finish(dparams + d.w_ih, dparams + d.bias, cc->in_work, X, GH);
    else input_grads(dparams + d.w_ih, cc->dpre, x, T * B, X, GH);
    recurrent_grads(dparams + d.w_hh, cc->dpre, GH, cc->h, T * B, H, RH, cc->c, (size_t)(T + 1) * BH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind: layer 0 through lstm.c, the layers above its own */

static const CellInfo dglstm_names[] = {
    {"dglstm", "Depth-Gated LSTM (Yao et al. 2015), counted at 2 layers (needs layers >= 2): lstm "
               "layers whose c reads the c below through a depth gate; each further layer +9N^2 + 7N; "
               "base: lstm with as many layers",
     "4NM + 4N^2 + 4N + 9N^2 + 7N"},
};

static int dglstm_make(Cell *c, const char *name, char *err, size_t err_len) {
    if (strcmp(name, "dglstm")) return 0;
    if (c->layer == 0) {
        if (lstm_ops.make(c, "lstm", err, err_len) != 1) return -1;
        snprintf(c->name, sizeof c->name, "dglstm");
        return 1;
    }
    snprintf(c->name, sizeof c->name, "dglstm");
    c->has_c = 1;
    c->reads_below_c = 1;
    c->n_blocks = N_BLOCKS;
    const int H = c->H;
    DglstmData d;
    /* the order makes [weight_ih; weight_d] and [bias; bias_d] one block each */
    d.w_ih = cell_add_tensor(c, "weight_ih", 4 * H, c->X);
    d.w_d = cell_add_tensor(c, "weight_d", H, c->X);
    d.w_hh = cell_add_tensor(c, "weight_hh", 4 * H, H);
    d.bias = cell_add_tensor(c, "bias", 4 * H, 1);
    d.bias_d = cell_add_tensor(c, "bias_d", H, 1);
    d.peep_cd = cell_add_tensor(c, "peep_cd", H, 1);
    d.peep_ld = cell_add_tensor(c, "peep_ld", H, 1);
    cell_add_gate(c, "i");
    cell_add_gate(c, "f");
    cell_add_gate(c, "z");
    cell_add_gate(c, "o");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

static void dglstm_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    if (c->layer == 0) {
        lstm_ops.cache(c, T, B, cv, cc);
        return;
    }
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = N_BLOCKS * H;
    cc->act = carve(cv, TB * GH);
    cc->dpre = cc->act; /* backward writes the gradients over the activations */
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    cc->c = carve(cv, (TB + B) * H);
    cc->dc = carve(cv, B * H);
    cc->dc_next = carve(cv, B * H);
    cc->r_t = carve(cv, H * 4 * H);
}

static void dglstm_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    if (cell->layer == 0) lstm_ops.forward(cell, params, x, cc);
    else upper_forward(cell, params, x, cc);
}

static void dglstm_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                            const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                            real *flow_h, real *flow_c) {
    if (cell->layer == 0) lstm_ops.backward(cell, params, x, cc, up, dparams, dx, dh0, dc0, flow_h, flow_c);
    else upper_backward(cell, params, x, cc, up, dparams, dx, dh0, dc0, flow_h, flow_c);
}

/* the forget-gate bias as lstm's (a constant, or chrono with b_i = -b_f);
   the depth gate keeps its draw */
static void dglstm_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    if (c->layer == 0) {
        lstm_ops.init(c, params, init, rng);
        return;
    }
    const DglstmData d = data_of(c);
    const int H = c->H;
    real *b_i = params + d.bias + (size_t)BLK_I * H, *b_f = params + d.bias + (size_t)BLK_F * H;
    for (int j = 0; j < H; j++) {
        if (init->chrono_T > 0) {
            double hi = init->chrono_T - 1 > 1 ? init->chrono_T - 1 : 1;
            b_f[j] = (real)log(rng_range(rng, 1, hi));
            b_i[j] = -b_f[j];
        } else if (!isnan(init->forget_bias)) {
            b_f[j] = (real)init->forget_bias;
        }
    }
}

static int dglstm_attrs(const Cell *c, const AttrSink *s) {
    (void)c;
    return s->put_int(s->ctx, "depth_gate", 1);
}

static double dglstm_step_madds(const Cell *c) {
    if (c->layer == 0) return lstm_ops.step_madds(c);
    return (double)c->X * N_BLOCKS * c->H + (double)c->H * 4 * c->H;
}

const CellOps dglstm_ops = {
    .kind = "dglstm",
    .names = dglstm_names,
    .n_names = 1,
    .make = dglstm_make,
    .cache = dglstm_cache,
    .forward = dglstm_forward,
    .backward = dglstm_backward,
    .init = dglstm_init,
    .attrs = dglstm_attrs,
    .step_madds = dglstm_step_madds,
    .min_layers = 2,
};
