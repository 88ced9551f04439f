/* mut.c: MUT1, MUT2 and MUT3, the three best architectures of Jozefowicz,
   Zaremba & Sutskever's 2015 search (docs/cells.md "mut1, mut2, mut3").
   Blocks of the input projection in order z, r, h; weight_hh in order
   (z,) r, h:
     MUT1: z = σ(W_z x + b_z)                r = σ(W_r x + R_r h + b_r)
           h' = tanh(R_h (r ⊙ h) + tanh(W_h x) + b_h) ⊙ z + h ⊙ (1 - z)
     MUT2: z = σ(W_z x + R_z h + b_z)        r = σ(W_r x + R_r h + b_r)
           h' = tanh(R_h (r ⊙ h) + W_h x + b_h) ⊙ z + h ⊙ (1 - z)
     MUT3: z = σ(W_z x + R_z tanh(h) + b_z)  r = σ(W_r x + R_r h + b_r)
           h' = tanh(R_h (r ⊙ h) + W_h x + b_h) ⊙ z + h ⊙ (1 - z)
   The paper adds the raw x where these have W_h x (MUT1's tanh(x), MUT2's x
   inside r), which needs X = H; the learned projection is cells.md's
   adaptation. Closest existing cell: gru (reset before the product). With
   the projection MUT2 is gru itself, z = 1 - u (docs/cells.md "Like with
   like"); MUT1 drops z's recurrence and squashes W_h x, MUT3 feeds z tanh(h).

   b_h sits outside MUT1's inner tanh, so the input projection runs with the
   bias [b_z, b_r, 0] and b_h is added in the step, the same way for all
   three. One input GEMM over all T steps; each step two products (MUT3:
   three, its z reads tanh(h)). */
#include "kernel.h"
#include "gemm.h"
#include "rec_kernel.h"

#include <stdio.h>
#include <string.h>

/* what a mut cell is, resolved by mut_make (Cell.kind_data) */
typedef struct {
    int variant;            /* 1, 2 or 3 */
    int n_rec;              /* H-row blocks of weight_hh: 2 (MUT1: r, h) or 3 (z, r, h) */
    int rz, rr, rh;         /* block of R_z (-1 for MUT1), R_r and R_h in weight_hh */
    size_t w_ih, w_hh, bias; /* tensor offsets */
} MutData;

CELL_KIND_DATA_OF(MutData)

/* the MUTs' own arrays in CellCache.own */
enum {
    AUX,   /* (T,B,H) r ⊙ h_{t-1}, the input of R_h */
    DQ,    /* (T,B,H) dL/dq, q the pre-activation of the candidate (R_h's and b_h's gradient) */
    EXTRA, /* (T,B,H) MUT1: tanh(W_h x_t); MUT3: tanh(h_{t-1}); MUT2: none */
    BIAS,  /* (6H) the input projection's bias [b_z, b_r, 0], then its gradient */
};

/* x (T,B,X) -> h (T+1,B,H); act (T,B,3H) holds z, r and the candidate after the call. */
static void mut_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H;
    const MutData d = data_of(cell);
    const int v = d.variant;
    const real *W = params + d.w_ih, *R = params + d.w_hh, *b = params + d.bias;
    const real *b_h = b + 2 * H;
    real *bias_in = cc->own[BIAS];
    memcpy(bias_in, b, (size_t)2 * H * sizeof(real));
    memset(bias_in + 2 * H, 0, (size_t)H * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, GH);     /* projected step by step below */
    else input_project(cc->act, x, W, bias_in, T * B, X, GH); /* all T steps at once */
    /* each H x H block of R packed once (rec_kernel.c), block k at k H^2 of
       r_t: dnnl_sgemm's cost per call weighed on these small products */
    const size_t HH = (size_t)H * H;
    for (int k = 0; k < d.n_rec; k++) rec_prepare(cc->r_t + k * HH, R + k * HH, H, H, H);
    const real *P_z = d.rz >= 0 ? cc->r_t + d.rz * HH : NULL, *P_r = cc->r_t + d.rr * HH,
               *P_h = cc->r_t + d.rh * HH;
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x) input_project_small(a, x + (size_t)t * B * X, cc->in_work, bias_in, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH, *aux = cc->own[AUX] + (size_t)t * BH;
        real *extra = v != 2 ? cc->own[EXTRA] + (size_t)t * BH : NULL;
        if (v == 2) { /* z reads h */
            rec_product(a, GH, h_prev, H, P_z, B, H, H, 0);
        } else if (v == 3) { /* z reads tanh(h_{t-1}) */
            for (size_t k = 0; k < BH; k++) extra[k] = R_TANH(h_prev[k]);
            rec_product(a, GH, extra, H, P_z, B, H, H, 0);
        }
        rec_product(a + H, GH, h_prev, H, P_r, B, H, H, 0);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
            /* MUT1's tanh(W_h x) in a loop of its own: a test of v inside
               the loop kept it from vectorizing (MUT1 ran at 1/3 of lstm's
               GFLOP/s, 67 % of its step in this loop) */
            if (v == 1) {
#pragma GCC ivdep /* rows of different arrays never overlap */
                for (int j = 0; j < H; j++) {
                    const real u = R_TANH(ab[2 * H + j]); /* tanh(W_h x) */
                    extra[k0 + j] = u;
                    ab[2 * H + j] = u + b_h[j];
                }
            } else {
                for (int j = 0; j < H; j++) ab[2 * H + j] += b_h[j];
            }
#pragma GCC ivdep
            for (int j = 0; j < H; j++) {
                ab[j] = sigmoid_r(ab[j]);
                const real r = sigmoid_r(ab[H + j]);
                ab[H + j] = r;
                aux[k0 + j] = r * h_prev[k0 + j];
            }
        }
        rec_product(a + 2 * H, GH, aux, H, P_h, B, H, H, 0);
        for (int bb = 0; bb < B; bb++) {
            real *ab = a + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real z = ab[j], cand = R_TANH(ab[2 * H + j]);
                ab[2 * H + j] = cand;
                h_t[k0 + j] = cand * z + h_prev[k0 + j] * (1 - z);
            }
        }
    }
}

static void mut_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                         const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                         real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H, TBH = (size_t)T * BH, HH = (size_t)H * H;
    const MutData d = data_of(cell);
    const int v = d.variant;
    const real *W = params + d.w_ih, *R = params + d.w_hh;
    real *dR = dparams + d.w_hh, *dbias = dparams + d.bias;
    real *dbias_in = cc->own[BIAS] + 3 * H;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    /* tmp (B,3H): dL/d(r ⊙ h_{t-1}), then (MUT3) dL/dtanh(h_{t-1}) */
    real *drh = cc->tmp, *dth = cc->tmp + BH;
    memset(dh_next, 0, BH * sizeof(real));
    memset(dbias_in, 0, (size_t)GH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    for (int t = T - 1; t >= 0; t--) {
        real *dpre = cc->dpre + (size_t)t * B * GH; /* over act: each j reads, then writes */
        real *dq = cc->own[DQ] + (size_t)t * BH;
        const real *h_prev = cc->h + (size_t)t * BH;
        const real *extra = v != 2 ? cc->own[EXTRA] + (size_t)t * BH : NULL;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        /* pass 1: z and the candidate; r stays for pass 2, which needs R_h's product */
        for (int bb = 0; bb < B; bb++) {
            real *db = dpre + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real z = db[j], cand = db[2 * H + j], g = dh[k0 + j], hp = h_prev[k0 + j];
                /* h' = cand z + h (1 - z), cand = tanh(q) */
                const real dqk = g * z * (1 - cand * cand);
                dq[k0 + j] = dqk;
                db[j] = g * (cand - hp) * z * (1 - z);
                /* q = ... + u + b_h with u = tanh(W_h x) (MUT1) or W_h x */
                db[2 * H + j] = v == 1 ? dqk * (1 - extra[k0 + j] * extra[k0 + j]) : dqk;
                dh_next[k0 + j] = g * (1 - z);
            }
        }
        /* q = R_h (r ⊙ h_{t-1}) + ...: d(r ⊙ h_{t-1}) = dq R_h */
        gemm(0, 0, B, H, H, 1, dq, H, R + (size_t)d.rh * HH, H, 0, drh, H);
        for (int bb = 0; bb < B; bb++) {
            real *db = dpre + (size_t)bb * GH;
            const size_t k0 = (size_t)bb * H;
#pragma GCC ivdep /* rows of different arrays never overlap */
            for (int j = 0; j < H; j++) {
                const real r = db[H + j];
                db[H + j] = drh[k0 + j] * h_prev[k0 + j] * r * (1 - r);
                dh_next[k0 + j] += drh[k0 + j] * r;
            }
        }
        /* the gates' recurrent inputs */
        if (v == 2) {
            gemm(0, 0, B, H, 2 * H, 1, dpre, GH, R, H, 1, dh_next, H);
        } else {
            gemm(0, 0, B, H, H, 1, dpre + H, GH, R + (size_t)d.rr * HH, H, 1, dh_next, H);
            if (v == 3) { /* z saw tanh(h_{t-1}) */
                gemm(0, 0, B, H, H, 1, dpre, GH, R + (size_t)d.rz * HH, H, 0, dth, H);
                for (size_t k = 0; k < BH; k++) dh_next[k] += dth[k] * (1 - extra[k] * extra[k]);
            }
        }
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dbias_in, dpre, B, GH);
    }
    if (small_x) input_grads_finish(dparams + d.w_ih, dbias_in, cc->in_work, X, GH);
    else input_grads(dparams + d.w_ih, cc->dpre, x, T * B, X, GH);
    /* b_z, b_r were in the projection; b_h was added to q */
    for (int j = 0; j < 2 * H; j++) dbias[j] += dbias_in[j];
    sum_rows_into(dbias + 2 * H, cc->own[DQ], T * B, H);
    gemm(1, 0, H, H, T * B, 1, cc->own[DQ], H, cc->own[AUX], H, 1, dR + (size_t)d.rh * HH, H);
    if (v == 3)
        gemm(1, 0, H, H, T * B, 1, cc->dpre, GH, cc->own[EXTRA], H, 1, dR + (size_t)d.rz * HH, H);
    /* after R_h's product aux is spent: the transposing scratch */
    if (v == 2) recurrent_grads(dR, cc->dpre, GH, cc->h, T * B, H, 2 * H, cc->own[AUX], TBH);
    else recurrent_grads(dR + (size_t)d.rr * HH, cc->dpre + H, GH, cc->h, T * B, H, H, cc->own[AUX], TBH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo mut_names[] = {
    {"mut1", "MUT1 (Jozefowicz et al. 2015): z from x alone, tanh(W x) in h; like gru",
     "3NM + 2N^2 + 3N"},
    {"mut2", "MUT2 (Jozefowicz et al. 2015): W x for the raw x in r; = gru with z = 1 - u",
     "3NM + 3N^2 + 3N"},
    {"mut3", "MUT3 (Jozefowicz et al. 2015): z reads tanh(h); like gru", "3NM + 3N^2 + 3N"},
};

static int mut_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    MutData d;
    memset(&d, 0, sizeof d);
    if (!strcmp(name, "mut1")) d.variant = 1;
    else if (!strcmp(name, "mut2")) d.variant = 2;
    else if (!strcmp(name, "mut3")) d.variant = 3;
    else return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    const int H = c->H;
    /* MUT1's z has no recurrence: weight_hh holds r, h only */
    d.n_rec = d.variant == 1 ? 2 : 3;
    d.rz = d.variant == 1 ? -1 : 0;
    d.rr = d.n_rec - 2;
    d.rh = d.n_rec - 1;
    c->n_blocks = 3;
    d.w_ih = cell_add_tensor(c, "weight_ih", 3 * H, c->X);
    d.w_hh = cell_add_tensor(c, "weight_hh", d.n_rec * H, H);
    d.bias = cell_add_tensor(c, "bias", 3 * H, 1);
    cell_add_gate(c, "z");
    cell_add_gate(c, "r");
    cell_add_gate(c, "h");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void mut_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    const MutData d = data_of(c);
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = 3 * H;
    cc->act = carve(cv, TB * GH);
    /* backward writes the pre-activation gradients over the activations */
    cc->dpre = cc->act;
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    cc->own[AUX] = carve(cv, TB * H);
    cc->own[DQ] = carve(cv, TB * H);
    if (d.variant != 2) cc->own[EXTRA] = carve(cv, TB * H);
    cc->own[BIAS] = carve(cv, 2 * GH);
    cc->r_t = carve(cv, H * (size_t)d.n_rec * H);
}

static int mut_attrs(const Cell *c, const AttrSink *s) {
    return s->put_int(s->ctx, "variant", data_of(c).variant);
}

static double mut_step_madds(const Cell *c) {
    return (double)c->X * 3 * c->H + (double)data_of(c).n_rec * c->H * c->H;
}

const CellOps mut_ops = {
    .kind = "mut",
    .names = mut_names,
    .n_names = (int)(sizeof mut_names / sizeof mut_names[0]),
    .make = mut_make,
    .cache = mut_cache,
    .forward = mut_forward,
    .backward = mut_backward,
    .init = NULL,
    .attrs = mut_attrs,
    .step_madds = mut_step_madds,
};
