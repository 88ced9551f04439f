/* toy.c: a cell kind that exists only to show what adding one takes
   (tests/test_new_cell.py copies it to cells/toy.c in a scratch copy of the
   project and adds `CELL_KIND(toy)` to cells/kinds.h, nothing else).

   A leaky tanh unit with a fixed leak of one half:
       z_t = tanh(W x_t + R h_{t-1} + b)
       h_t = (1 - a) h_{t-1} + a z_t,   a = 1/2 */
#include "kernel.h"
#include "gemm.h"

#include <stdio.h>
#include <string.h>

#define LEAK ((real)0.5)

typedef struct { InputRecurrent at; } ToyData;

CELL_KIND_DATA_OF(ToyData)

static void toy_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const ToyData d = data_of(cell);
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    input_project(cc->act, x, params + d.at.w_ih, params + d.at.bias, T * B, X, H);
    for (int t = 0; t < T; t++) {
        real *z = cc->act + (size_t)t * BH;
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH;
        gemm(0, 1, B, H, H, 1, h_prev, H, params + d.at.w_hh, H, 1, z, H);
        for (size_t k = 0; k < BH; k++) {
            z[k] = R_TANH(z[k]);
            h_t[k] = (1 - LEAK) * h_prev[k] + LEAK * z[k];
        }
    }
}

static void toy_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                         const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                         real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c;
    const ToyData d = data_of(cell);
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    for (int t = T - 1; t >= 0; t--) {
        const real *z = cc->act + (size_t)t * BH;
        real *dpre = cc->dpre + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        for (size_t k = 0; k < BH; k++) {
            dpre[k] = dh[k] * LEAK * (1 - z[k] * z[k]);
            dh_next[k] = dh[k] * (1 - LEAK);
        }
        sum_rows_into(dparams + d.at.bias, dpre, B, H);
        gemm(0, 0, B, H, H, 1, dpre, H, params + d.at.w_hh, H, 1, dh_next, H);
    }
    input_grads(dparams + d.at.w_ih, cc->dpre, x, T * B, X, H);
    gemm(1, 0, H, H, T * B, 1, cc->dpre, H, cc->h, H, 1, dparams + d.at.w_hh, H);
    if (dx) gemm(0, 0, T * B, X, H, 1, cc->dpre, H, params + d.at.w_ih, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

static const CellInfo toy_names[] = {
    {"toy", "leaky tanh unit, h = h/2 + tanh(W x + R h + b)/2 (a test's example)", "NM + N^2 + N"},
};

static int toy_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    if (strcmp(name, "toy")) return 0;
    snprintf(c->name, sizeof c->name, "toy");
    ToyData d = {cell_add_input_recurrent(c, 1)};
    cell_add_gate(c, "z");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

static void toy_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    size_t TBH = (size_t)T * B * c->H;
    cc->act = carve(cv, TBH);
    cc->dpre = carve(cv, TBH);
}

static int toy_attrs(const Cell *c, const AttrSink *s) {
    (void)c;
    return s->put_str(s->ctx, "leak", "0.5");
}

static double toy_step_madds(const Cell *c) { return (double)(c->X + c->H) * c->H; }

const CellOps toy_ops = {
    .kind = "toy",
    .names = toy_names,
    .n_names = 1,
    .make = toy_make,
    .cache = toy_cache,
    .forward = toy_forward,
    .backward = toy_backward,
    .attrs = toy_attrs,
    .step_madds = toy_step_madds,
};
