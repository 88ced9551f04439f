/* gru.c: the two GRU forms of docs/cells.md, blocks in order r, u(=z), n.
   gru (Cho et al. 2014), reset before the recurrent product:
       r = σ(W_r x + R_r h + b_r),  u = σ(W_u x + R_u h + b_u)
       n = tanh(W_n x + R_n (r ⊙ h) + b_n)
   gru-ra (cuDNN/PyTorch), reset after it, with its own bias b_rn:
       n = tanh(W_n x + b_n + r ⊙ (R_n h + b_rn))
   both: h' = (1 - u) ⊙ n + u ⊙ h. */
#include "kernel.h"
#include "gemm.h"

#include <stdio.h>
#include <string.h>

/* what a gru cell is, resolved by gru_make (Cell.kind_data) */
typedef struct {
    int reset_after;   /* gru-ra */
    InputRecurrent at; /* tensor offsets */
    size_t bias_rn;    /* gru-ra's b_rn */
} GruData;

CELL_KIND_DATA_OF(GruData)

/* the GRU's own arrays in CellCache.own */
enum {
    AUX, /* (T,B,H) r ⊙ h_{t-1} (gru) or R_n h_{t-1} + b_rn (gru-ra) */
    DHN, /* (T,B,H) dL/d(R_n h_{t-1} + b_rn) (gru-ra) */
};

/* x (T,B,X) -> h (T+1,B,H); act (T,B,3H) holds r, u, n; aux (T,B,H) holds
   r ⊙ h_{t-1} (gru) or R_n h_{t-1} + b_rn (gru-ra). */
static void gru_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H;
    const GruData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    const int reset_after = d.reset_after;
    const real *b_rn = reset_after ? params + d.bias_rn : NULL;
    /* products on R^T: dnnl_sgemm runs them faster untransposed (108 against
       87 GFLOP/s at B = 32, H = 64) */
    const real *R_t = cc->r_t, *R_t_n = cc->r_t + 2 * H;
    input_transpose(cc->r_t, R, H, GH);

    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    } else {
        input_project(cc->act, x, W, params + d.at.bias, T * B, X, GH); /* all T steps */
    }
    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        if (small_x)
            input_project_small(a, x + (size_t)t * B * X, cc->in_work, params + d.at.bias, B, X, GH);
        const real *h_prev = cc->h + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH;
        real *aux = cc->own[AUX] + (size_t)t * BH;
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

static void gru_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                         const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                         real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H, GH = 3 * H;
    const size_t BH = (size_t)B * H;
    const size_t TBH = (size_t)T * BH;
    const GruData d = data_of(cell);
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    const real *R_n = R + (size_t)2 * H * H;
    const int reset_after = d.reset_after;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);

    for (int t = T - 1; t >= 0; t--) {
        const real *a = cc->act + (size_t)t * B * GH;
        const real *h_prev = cc->h + (size_t)t * BH;
        const real *aux = cc->own[AUX] + (size_t)t * BH;
        real *dpre = cc->dpre + (size_t)t * B * GH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        if (reset_after) {
            /* dL/d(h_{t-1} R^T + [0,0,b_rn]) for this step, (B,3H): it equals
               dpre but in the n block, which is kept (T-sized) in dhn */
            real *dhh = cc->tmp, *dhn = cc->own[DHN] + (size_t)t * BH;
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
        else sum_rows_into(dparams + d.at.bias, dpre, B, GH);
    }
    if (small_x) input_grads_finish(dparams + d.at.w_ih, dparams + d.at.bias, cc->in_work, X, GH);
    else input_grads(dparams + d.at.w_ih, cc->dpre, x, T * B, X, GH);
    if (reset_after) {
        /* R_r, R_u see the same gradient as W_r, W_u; R_n sees dhn. aux
           (T*B*H) is spent and serves as the transposing scratch. */
        gemm(1, 0, H, H, T * B, 1, cc->own[DHN], H, cc->h, H, 1, dparams + d.at.w_hh + (size_t)2 * H * H, H);
        sum_rows_into(dparams + d.bias_rn, cc->own[DHN], T * B, H);
        recurrent_grads(dparams + d.at.w_hh, cc->dpre, GH, cc->h, T * B, H, 2 * H, cc->own[AUX], TBH);
    } else {
        gemm(1, 0, H, H, T * B, 1, cc->dpre + 2 * H, GH, cc->own[AUX], H, 1,
             dparams + d.at.w_hh + (size_t)2 * H * H, H);
        /* after R_n's product aux is spent: the transposing scratch */
        recurrent_grads(dparams + d.at.w_hh, cc->dpre, GH, cc->h, T * B, H, 2 * H, cc->own[AUX], TBH);
    }
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo gru_names[] = {
    {"gru", "GRU of Cho et al. 2014, reset before the recurrent product", "3NM + 3N^2 + 3N"},
    {"gru-ra", "GRU with reset after the recurrent product (cuDNN/PyTorch form)", "3NM + 3N^2 + 3N + N"},
};

/* blocks r, u(=z), n (docs/cells.md) */
static int gru_make(Cell *c, const char *name, char *err, size_t err_len) {
    (void)err, (void)err_len;
    GruData d = {0};
    if (!strcmp(name, "gru-ra")) d.reset_after = 1;
    else if (strcmp(name, "gru")) return 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    d.at = cell_add_input_recurrent(c, 3);
    if (d.reset_after) d.bias_rn = cell_add_tensor(c, "bias_rn", c->H, 1);
    cell_add_gate(c, "r");
    cell_add_gate(c, "u");
    cell_add_gate(c, "n");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void gru_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    const GruData d = data_of(c);
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = 3 * H;
    cc->act = carve(cv, TB * GH);
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    /* gru-ra's backward writes pre-activation gradients over the gate
       activations: a T-sized block fewer */
    cc->dpre = d.reset_after ? cc->act : carve(cv, TB * GH);
    cc->own[AUX] = carve(cv, TB * H);
    cc->r_t = carve(cv, H * GH);
    if (d.reset_after) cc->own[DHN] = carve(cv, TB * H);
}

static int gru_attrs(const Cell *c, const AttrSink *s) {
    return s->put_int(s->ctx, "reset_after", data_of(c).reset_after);
}

static double gru_step_madds(const Cell *c) { return (double)(c->X + c->H) * 3 * c->H; }

const CellOps gru_ops = {
    .kind = "gru",
    .names = gru_names,
    .n_names = (int)(sizeof gru_names / sizeof gru_names[0]),
    .make = gru_make,
    .cache = gru_cache,
    .forward = gru_forward,
    .backward = gru_backward,
    .attrs = gru_attrs,
    .step_madds = gru_step_madds,
};
