/* janet.c: JANET, the forget-gate-only LSTM of van der Westhuizen & Lasenby
   2018 (docs/cells.md "janet"), blocks in order f, c:
       s_t  = W_f x_t + R_f h_{t-1} + b_f
       c~_t = tanh(W_c x_t + R_c h_{t-1} + b_c)
       h_t  = c_t = σ(s_t) ⊙ h_{t-1} + (1 - σ(s_t - β)) ⊙ c~_t,   β = 1
   The input gate is the forget gate's complement, shifted by β so that a
   unit can both keep and write a little; there is no output gate and no
   output activation, so h and c are one state. Closest existing cell:
   lstm+nog+noaf+cifg (coupled gates, no output gate, linear output) with the
   shift β. One input GEMM over all T steps, one (B,H)x(H,2H) product a step. */
#include "kernel.h"
#include "gemm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define JANET_BETA ((real)1)

/* what a janet cell is, resolved by janet_make (Cell.kind_data) */
typedef struct {
    InputRecurrent at; /* tensor offsets, blocks f, c */
} JanetData;

CELL_KIND_DATA_OF(JanetData)

/* JANET's own arrays in CellCache.own */
enum {
    SHIFTED, /* (T,B,H) σ(s_t - β), the input gate */
};

/* x (T,B,X) -> h (T+1,B,H); act (T,B,2H) holds σ(s), c~ after the call. */
static void janet_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 2 * H;
    const size_t BH = (size_t)B * H;
    const JanetData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh, *b = params + d.at.bias;
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    else input_project(cc->act, x, W, b, T * B, X, GH);  /* all T steps at once */
    input_transpose(cc->r_t, R, H, GH); /* the product on R^T, as the other cells */
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x) input_project_small(a, x + (size_t)t * B * X, cc->in_work, b, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH, *sg = cc->own[SHIFTED] + (size_t)t * BH;
        gemm(0, 0, B, GH, H, 1, h_prev, H, cc->r_t, GH, 1, a, GH);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real s = ab[j];
                const real f = sigmoid_r(s), i = sigmoid_r(s - JANET_BETA);
                const real cand = R_TANH(ab[H + j]);
                ab[j] = f;
                ab[H + j] = cand;
                sg[k0 + j] = i;
                h_t[k0 + j] = f * h_prev[k0 + j] + (1 - i) * cand;
            }
        }
    }
}

static void janet_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                           const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                           real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* h is c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 2 * H;
    const size_t BH = (size_t)B * H;
    const JanetData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    for (int t = T - 1; t >= 0; t--) {
        real *dpre = cc->dpre + (size_t)t * B * GH; /* over act: each j reads, then writes */
        const real *h_prev = cc->h + (size_t)t * BH, *sg = cc->own[SHIFTED] + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        for (int bb = 0; bb < B; bb++) {
            real *db = dpre + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real f = db[j], cand = db[H + j], i = sg[k0 + j];
                const real g = dh[k0 + j], hp = h_prev[k0 + j];
                /* h = f h_prev + (1 - i) c~, f = σ(s), i = σ(s - β) */
                db[j] = g * (hp * f * (1 - f) - cand * i * (1 - i));
                db[H + j] = g * (1 - i) * (1 - cand * cand);
                dh_next[k0 + j] = g * f;
            }
        }
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + d.at.bias, dpre, B, GH);
        /* both blocks saw R h_{t-1} */
        gemm(0, 0, B, H, GH, 1, dpre, GH, R, H, 1, dh_next, H);
    }
    if (small_x) input_grads_finish(dparams + d.at.w_ih, dparams + d.at.bias, cc->in_work, X, GH);
    else input_grads(dparams + d.at.w_ih, cc->dpre, x, T * B, X, GH);
    /* σ(s - β) is spent: the transposing scratch */
    recurrent_grads(dparams + d.at.w_hh, cc->dpre, GH, cc->h, T * B, H, GH, cc->own[SHIFTED],
                    (size_t)T * BH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo janet_names[] = {
    {"janet", "JANET (van der Westhuizen & Lasenby 2018): forget gate only, h = c, beta = 1; "
              "like lstm+nog+noaf+cifg", "2NM + 2N^2 + 2N"},
};

static int janet_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    if (strcmp(name, "janet")) return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    JanetData d = {cell_add_input_recurrent(c, 2)};
    cell_add_gate(c, "f");
    cell_add_gate(c, "c");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void janet_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = 2 * H;
    cc->act = carve(cv, TB * GH);
    /* backward writes the pre-activation gradients over the activations */
    cc->dpre = cc->act;
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    cc->own[SHIFTED] = carve(cv, TB * H);
    cc->r_t = carve(cv, H * GH);
}

/* The forget bias b_f: chrono (Tallec & Ollivier 2018: b_f = log(u),
   u ~ U[1, T_max - 1]), the initialisation of JANET's paper, with
   forget_bias = chrono; a number sets a constant b_f (the setting's default,
   1, as for the LSTM); NAN leaves the drawn value. There is no input gate of
   its own, so no b_i = -b_f. Making chrono the default needs the task's
   T_max in every CellInit, which the harness passes only with chrono. */
static void janet_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    real *b_f = params + data_of(c).at.bias; /* block f comes first */
    if (init->chrono_T > 0) {
        double hi = init->chrono_T - 1 > 1 ? init->chrono_T - 1 : 1;
        for (int j = 0; j < c->H; j++) b_f[j] = (real)log(rng_range(rng, 1, hi));
    } else if (!isnan(init->forget_bias)) {
        for (int j = 0; j < c->H; j++) b_f[j] = (real)init->forget_bias;
    }
}

static int janet_attrs(const Cell *c, const AttrSink *s) {
    (void)c;
    char beta[32];
    snprintf(beta, sizeof beta, "%g", (double)JANET_BETA);
    return s->put_str(s->ctx, "beta", beta);
}

static double janet_step_madds(const Cell *c) { return (double)(c->X + c->H) * 2 * c->H; }

const CellOps janet_ops = {
    .kind = "janet",
    .names = janet_names,
    .n_names = (int)(sizeof janet_names / sizeof janet_names[0]),
    .make = janet_make,
    .cache = janet_cache,
    .forward = janet_forward,
    .backward = janet_backward,
    .init = janet_init,
    .attrs = janet_attrs,
    .step_madds = janet_step_madds,
};
