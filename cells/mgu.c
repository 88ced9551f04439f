/* mgu.c: the minimal gated unit of Zhou et al. 2016 (docs/cells.md "mgu"),
   blocks in order f, n:
       f_t = σ(W_f x_t + R_f h_{t-1} + b_f)
       n_t = tanh(W_n x_t + R_n (f_t ⊙ h_{t-1}) + b_n)
       h_t = (1 - f_t) ⊙ h_{t-1} + f_t ⊙ n_t
   A gru whose one gate f serves as both its reset and its update gate
   (closest existing cell: gru, reset before the product). One input GEMM
   over all T steps; each step two products, R_f's before R_n's because n
   needs f. */
#include "kernel.h"
#include "gemm.h"

#include <stdio.h>
#include <string.h>

/* what an mgu cell is, resolved by mgu_make (Cell.kind_data) */
typedef struct {
    InputRecurrent at; /* tensor offsets, blocks f, n */
} MguData;

CELL_KIND_DATA_OF(MguData)

/* the MGU's own arrays in CellCache.own */
enum {
    AUX, /* (T,B,H) f_t ⊙ h_{t-1}, the input of R_n */
};

/* x (T,B,X) -> h (T+1,B,H); act (T,B,2H) holds f, n after the call. */
static void mgu_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 2 * H;
    const size_t BH = (size_t)B * H;
    const MguData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh, *b = params + d.at.bias;
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    else input_project(cc->act, x, W, b, T * B, X, GH);  /* all T steps at once */
    /* products on R^T, as the other cells: columns [0,H) are R_f^T, [H,2H) R_n^T */
    input_transpose(cc->r_t, R, H, GH);
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x) input_project_small(a, x + (size_t)t * B * X, cc->in_work, b, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH, *aux = cc->own[AUX] + (size_t)t * BH;
        gemm(0, 0, B, H, H, 1, h_prev, H, cc->r_t, GH, 1, a, GH);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                ab[j] = sigmoid_r(ab[j]);
                aux[k0 + j] = ab[j] * h_prev[k0 + j];
            }
        }
        gemm(0, 0, B, H, H, 1, aux, H, cc->r_t + H, GH, 1, a + H, GH);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real f = ab[j], n = R_TANH(ab[H + j]);
                ab[H + j] = n;
                h_t[k0 + j] = (1 - f) * h_prev[k0 + j] + f * n;
            }
        }
    }
}

static void mgu_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                         const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                         real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 2 * H;
    const size_t BH = (size_t)B * H;
    const MguData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    const real *R_n = R + (size_t)H * H;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    /* tmp (B,2H) holds two (B,H) arrays: dL/d(f ⊙ h) and f's direct gradient */
    real *dfh = cc->tmp, *df_direct = cc->tmp + BH;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    for (int t = T - 1; t >= 0; t--) {
        real *dpre = cc->dpre + (size_t)t * B * GH; /* over act: each j reads, then writes */
        const real *h_prev = cc->h + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        /* pass 1: n's gradient, which R_n's product needs; f stays for pass 2 */
        for (int bb = 0; bb < B; bb++) {
            real *db = dpre + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real f = db[j], n = db[H + j], g = dh[k0 + j];
                /* h = (1 - f) h_prev + f n */
                db[H + j] = g * f * (1 - n * n);
                df_direct[k0 + j] = g * (n - h_prev[k0 + j]);
                dh_next[k0 + j] = g * (1 - f);
            }
        }
        /* n = tanh(... + R_n (f ⊙ h_prev)): d(f ⊙ h_prev) = dan R_n */
        gemm(0, 0, B, H, H, 1, dpre + H, GH, R_n, H, 0, dfh, H);
        for (int bb = 0; bb < B; bb++) {
            real *db = dpre + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real f = db[j];
                db[j] = (df_direct[k0 + j] + dfh[k0 + j] * h_prev[k0 + j]) * f * (1 - f);
                dh_next[k0 + j] += dfh[k0 + j] * f;
            }
        }
        gemm(0, 0, B, H, H, 1, dpre, GH, R, H, 1, dh_next, H);
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + d.at.bias, dpre, B, GH);
    }
    if (small_x) input_grads_finish(dparams + d.at.w_ih, dparams + d.at.bias, cc->in_work, X, GH);
    else input_grads(dparams + d.at.w_ih, cc->dpre, x, T * B, X, GH);
    gemm(1, 0, H, H, T * B, 1, cc->dpre + H, GH, cc->own[AUX], H, 1,
         dparams + d.at.w_hh + (size_t)H * H, H);
    /* after R_n's product aux is spent: the transposing scratch */
    recurrent_grads(dparams + d.at.w_hh, cc->dpre, GH, cc->h, T * B, H, H, cc->own[AUX],
                    (size_t)T * BH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo mgu_names[] = {
    {"mgu", "minimal gated unit (Zhou et al. 2016): one gate f as reset and update; like gru",
     "2NM + 2N^2 + 2N"},
};

static int mgu_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    if (strcmp(name, "mgu")) return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    MguData d = {cell_add_input_recurrent(c, 2)};
    cell_add_gate(c, "f");
    cell_add_gate(c, "n");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void mgu_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = 2 * H;
    cc->act = carve(cv, TB * GH);
    /* backward writes the pre-activation gradients over the activations */
    cc->dpre = cc->act;
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    cc->own[AUX] = carve(cv, TB * H);
    cc->r_t = carve(cv, H * GH);
}

static int mgu_attrs(const Cell *c, const AttrSink *s) {
    (void)c, (void)s; /* no flags: `kind` says it all */
    return 0;
}

static double mgu_step_madds(const Cell *c) { return (double)(c->X + c->H) * 2 * c->H; }

const CellOps mgu_ops = {
    .kind = "mgu",
    .names = mgu_names,
    .n_names = (int)(sizeof mgu_names / sizeof mgu_names[0]),
    .make = mgu_make,
    .cache = mgu_cache,
    .forward = mgu_forward,
    .backward = mgu_backward,
    .init = NULL,
    .attrs = mgu_attrs,
    .step_madds = mgu_step_madds,
};
