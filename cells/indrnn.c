/* indrnn.c: the independently recurrent network of Li et al. 2018
   (docs/cells.md "indrnn"): each unit sees only its own past, through a
   vector u instead of a matrix R.
       h_t = relu(W x_t + u ⊙ h_{t-1} + b)
   The input projection (input.c) is one GEMM over all T steps, or with few
   inputs a loop per step; the recurrence is element-wise, so there is no
   recurrent product at all. Closest existing cell: irnn (ReLU, but a full R). */
#include "kernel.h"
#include "gemm.h"

#include <stdio.h>
#include <string.h>

/* what an indrnn cell is, resolved by indrnn_make (Cell.kind_data) */
typedef struct {
    size_t w_ih, u, bias; /* tensor offsets; u is weight_hh, a vector */
} IndrnnData;

CELL_KIND_DATA_OF(IndrnnData)

/* x (T,B,X) -> cc->h (T+1,B,H); h[0] is h_0, set by the caller. */
static void indrnn_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const IndrnnData d = data_of(cell);
    const real *W = params + d.w_ih, *u = params + d.u, *b = params + d.bias;
    real *h = cc->h;
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, H); /* projected step by step below */
    else input_project(h + BH, x, W, b, T * B, X, H);   /* h[1..T], all steps at once */
    for (int t = 0; t < T; t++) {
        const real *h_prev = h + (size_t)t * BH;
        real *h_t = h + (size_t)(t + 1) * BH;
        if (small_x) input_project_small(h_t, x + (size_t)t * B * X, cc->in_work, b, B, X, H);
        for (int bb = 0; bb < B; bb++) {
            real *hb = h_t + (size_t)bb * H;
            const real *pb = h_prev + (size_t)bb * H;
#pragma GCC ivdep /* rows of different steps never overlap */
            for (int j = 0; j < H; j++) {
                const real a = hb[j] + u[j] * pb[j];
                hb[j] = a > 0 ? a : 0;
            }
        }
    }
}

static void indrnn_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                            const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                            real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const IndrnnData d = data_of(cell);
    const real *W = params + d.w_ih, *u = params + d.u;
    real *du = dparams + d.u;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, H);
    real *dpre_all = cc->dpre;
    for (int t = T - 1; t >= 0; t--) {
        const real *h_t = cc->h + (size_t)(t + 1) * BH, *h_prev = cc->h + (size_t)t * BH;
        real *dpre = dpre_all + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        /* h_t = relu(pre), pre = ... + u ⊙ h_{t-1}: dpre = dh [h_t > 0],
           du += dpre ⊙ h_{t-1}, dh_{t-1} = dpre ⊙ u */
        for (int bb = 0; bb < B; bb++) {
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real g = h_t[k0 + j] > 0 ? dh[k0 + j] : 0;
                dpre[k0 + j] = g;
                du[j] += g * h_prev[k0 + j];
                dh_next[k0 + j] = g * u[j];
            }
        }
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, H);
        else sum_rows_into(dparams + d.bias, dpre, B, H);
    }
    if (small_x) input_grads_finish(dparams + d.w_ih, dparams + d.bias, cc->in_work, X, H);
    else input_grads(dparams + d.w_ih, dpre_all, x, T * B, X, H);
    if (dx) gemm(0, 0, T * B, X, H, 1, dpre_all, H, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo indrnn_names[] = {
    {"indrnn", "IndRNN (Li et al. 2018): h = relu(W x + u*h + b), u ~ U(0,1); like irnn", "NM + 2N"},
};

static int indrnn_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    if (strcmp(name, "indrnn")) return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    IndrnnData d;
    c->n_blocks = 1;
    d.w_ih = cell_add_tensor(c, "weight_ih", c->H, c->X);
    d.u = cell_add_tensor(c, "weight_hh", c->H, 1);
    d.bias = cell_add_tensor(c, "bias", c->H, 1);
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void indrnn_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    size_t H = (size_t)c->H;
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * H);
    cc->dpre = carve(cv, (size_t)T * B * H);
}

/* Li et al. 2018: the recurrent weights u ~ U(0, 1) */
static void indrnn_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    (void)init;
    real *u = params + data_of(c).u;
    for (int j = 0; j < c->H; j++) u[j] = (real)rng_range(rng, 0, 1);
}

static int indrnn_attrs(const Cell *c, const AttrSink *s) {
    (void)c;
    return s->put_str(s->ctx, "activation", "relu");
}

/* the input projection only: the recurrence is H multiplies, not a product */
static double indrnn_step_madds(const Cell *c) { return (double)c->X * c->H; }

const CellOps indrnn_ops = {
    .kind = "indrnn",
    .names = indrnn_names,
    .n_names = (int)(sizeof indrnn_names / sizeof indrnn_names[0]),
    .make = indrnn_make,
    .cache = indrnn_cache,
    .forward = indrnn_forward,
    .backward = indrnn_backward,
    .init = indrnn_init,
    .attrs = indrnn_attrs,
    .step_madds = indrnn_step_madds,
};
