/* lstm.c: the whole LSTM family of Greff et al. 2015 in one implementation,
   driven by CellFlags (cells.md "LSTM"):
       z_t = g(W_z x_t + R_z h_{t-1} + b_z)
       i_t = σ(W_i x_t + R_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)      (1 without input gate)
       f_t = σ(W_f x_t + R_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)      (1 without, 1 - i_t if coupled)
       c_t = i_t ⊙ z_t + f_t ⊙ c_{t-1}
       o_t = σ(W_o x_t + R_o h_{t-1} + p_o ⊙ c_t + b_o)          (1 without output gate)
       h_t = o_t ⊙ k(c_t)
   With full gate recurrence every gate also receives W_gg (i,f,o)_{t-1}.
   Only present gates have blocks in weight_ih/weight_hh/bias, in order i, f, z, o.
   Not here: the readout and the loss (readout.c), layer stacking. */
#include "cell.h"
#include "gemm.h"

#include <string.h>

/* the per-sequence view of the flags and tensors, resolved once */
typedef struct {
    int H, GH, FH;
    int oi, of, oz, oo;        /* column offset of each block in a GH row, -1 if absent */
    int fi, ff, fo;            /* column offset inside an FH row, -1 if absent */
    int coupled, g_linear, k_linear;
    const real *p_i, *p_f, *p_o;
} LstmView;

static LstmView view_of(const Cell *cell, const real *params) {
    LstmView v;
    int H = cell->H;
    v.H = H;
    v.GH = cell->n_blocks * H;
    v.FH = cell->n_fgr * H;
    v.oi = cell->blk_i >= 0 ? cell->blk_i * H : -1;
    v.of = cell->blk_f >= 0 ? cell->blk_f * H : -1;
    v.oz = cell->blk_z * H;
    v.oo = cell->blk_o >= 0 ? cell->blk_o * H : -1;
    v.fi = cell->fgr_i >= 0 ? cell->fgr_i * H : -1;
    v.ff = cell->fgr_f >= 0 ? cell->fgr_f * H : -1;
    v.fo = cell->fgr_o >= 0 ? cell->fgr_o * H : -1;
    v.coupled = cell->flags.coupled;
    v.g_linear = cell->flags.input_linear;
    v.k_linear = cell->flags.output_linear;
    v.p_i = cell->peep_i != NO_TENSOR ? params + cell->peep_i : NULL;
    v.p_f = cell->peep_f != NO_TENSOR ? params + cell->peep_f : NULL;
    v.p_o = cell->peep_o != NO_TENSOR ? params + cell->peep_o : NULL;
    return v;
}

/* The gate math of one batch row, for one combination of the flags that
   decide what is computed at all: which gates exist, peepholes, FGR. The
   step functions below pass them as constants, so the compiler builds one
   loop per combination in which an absent gate costs nothing, and the flags
   are resolved once per sequence, not per element. The rest (coupled,
   linear g or k) are selects that compute both sides. */
static inline __attribute__((always_inline)) void forward_row(
    int H, const int has_i, const int has_f, const int has_o, const int peep, int coupled,
    int g_lin, int k_lin, real *ai, real *af, real *az, real *ao, const real *pi,
    const real *pf, const real *po, const real *restrict cp, real *restrict cn_row,
    real *restrict h_row) {
    const real mc = coupled, mg = g_lin, mk = k_lin;
    /* ai, af, az, ao are disjoint blocks of one row */
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        const real c_old = cp[j];
        real gi = 1, gf = 1, go = 1;
        if (has_i) gi = sigmoid_r(peep ? ai[j] + pi[j] * c_old : ai[j]);
        if (has_f) gf = sigmoid_r(peep ? af[j] + pf[j] * c_old : af[j]);
        /* the runtime flags as 0/1 multipliers: x*m + y*(1-m) selects
           exactly, and unlike a condition here it vectorizes */
        gf = mc * (1 - gi) + (1 - mc) * gf;
        const real gz = mg * az[j] + (1 - mg) * R_TANH(az[j]);
        const real cn = gi * gz + gf * c_old;
        /* the output gate peeks at the new state c_t */
        if (has_o) go = sigmoid_r(peep ? ao[j] + po[j] * cn : ao[j]);
        const real k_c = mk * cn + (1 - mk) * R_TANH(cn);
        if (has_i) ai[j] = gi;
        if (has_f) af[j] = gf;
        az[j] = gz;
        if (has_o) ao[j] = go;
        cn_row[j] = cn;
        h_row[j] = go * k_c;
    }
}

/* Backward of forward_row: reads the gates in a row of act and writes their
   pre-activation gradients over them (each j reads before it writes). dfi,
   dff, dfo bring dL/d(gate) from the next step's FGR; gfi, gff, gfo receive
   the gradients it needs. */
static inline __attribute__((always_inline)) void backward_row(
    int H, const int has_i, const int has_f, const int has_o, const int peep, const int fgr,
    int coupled, int g_lin, int k_lin, real *ai, real *af, real *az, real *ao,
    const real *pi, const real *pf, const real *po, real *dpi, real *dpf, real *dpo,
    const real *dfi, const real *dff, const real *dfo, real *gfi, real *gff, real *gfo,
    const real *restrict cp, const real *restrict cnr, const real *restrict dhr,
    real *restrict dcr, real *restrict dcn) {
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        const real gi = has_i ? ai[j] : 1;
        const real gf = coupled ? 1 - gi : has_f ? af[j] : 1;
        const real gz = az[j], go = has_o ? ao[j] : 1;
        const real c_old = cp[j], cn = cnr[j], dhk = dhr[j];
        /* k(c_t) again rather than a T-sized cache of it: one tanh costs less
           than the memory */
        const real k_c = k_lin ? cn : R_TANH(cn);
        /* h = o * k(c) */
        real dct = dcn[j] + dhk * go * (k_lin ? 1 : 1 - k_c * k_c);
        if (has_o) {
            const real dao = (fgr ? dhk * k_c + dfo[j] : dhk * k_c) * go * (1 - go);
            if (peep) {
                dct += dao * po[j]; /* o saw p_o * c_t */
                dpo[j] += dao * cn;
            }
            ao[j] = dao;
            if (fgr) gfo[j] = dao;
        }
        dcr[j] = dct;
        /* c = i*z + f*c_prev */
        real d_i = dct * gz, d_f = dct * c_old, dcp = dct * gf;
        if (fgr && has_i) d_i += dfi[j];
        if (fgr && has_f) d_f += dff[j];
        if (coupled) d_i -= d_f; /* f = 1 - i */
        const real d_z = dct * gi;
        az[j] = g_lin ? d_z : d_z * (1 - gz * gz);
        if (has_i) {
            const real dai = d_i * gi * (1 - gi);
            ai[j] = dai;
            if (fgr) gfi[j] = dai;
            if (peep) { /* i saw p_i ⊙ c_prev */
                dcp += dai * pi[j];
                dpi[j] += dai * c_old;
            }
        }
        if (has_f) {
            const real daf = d_f * gf * (1 - gf);
            af[j] = daf;
            if (fgr) gff[j] = daf;
            if (peep) {
                dcp += daf * pf[j];
                dpf[j] += daf * c_old;
            }
        }
        dcn[j] = dcp;
    }
}

static int shape_of(const LstmView *v) {
    return (v->oi >= 0) | (v->of >= 0) << 1 | (v->oo >= 0) << 2 | (v->p_i || v->p_f || v->p_o) << 3 |
           (v->FH > 0) << 4;
}

/* The gate blocks of one row of act (or of dpre, which shares its memory),
   and the peepholes; an absent one is never read, so the row's start stands
   in for it. */
typedef struct {
    real *i, *f, *z, *o;
    const real *p_i, *p_f, *p_o;
} GateRow;

static inline GateRow gate_row(const LstmView *v, real *row) {
    GateRow g = {row + (v->oi >= 0 ? v->oi : 0), row + (v->of >= 0 ? v->of : 0), row + v->oz,
                 row + (v->oo >= 0 ? v->oo : 0), v->p_i ? v->p_i : row, v->p_f ? v->p_f : row,
                 v->p_o ? v->p_o : row};
    return g;
}

/* One time step of the gate math over all B rows, for constant flags. */
static inline __attribute__((always_inline)) void forward_step(
    const LstmView *v, int B, real *a, const real *c_prev, real *c_t, real *h_t, const int has_i,
    const int has_f, const int has_o, const int peep) {
    const int H = v->H, GH = v->GH;
    for (int b = 0; b < B; b++) {
        const GateRow g = gate_row(v, a + (size_t)b * GH);
        const size_t k0 = (size_t)b * H;
        forward_row(H, has_i, has_f, has_o, peep, v->coupled, v->g_linear, v->k_linear, g.i, g.f,
                    g.z, g.o, g.p_i, g.p_f, g.p_o, c_prev + k0, c_t + k0, h_t + k0);
    }
}

static inline __attribute__((always_inline)) void backward_step(
    const LstmView *v, int B, real *dpre, const real *dact_fgr, real *dfgr, real *dp_i,
    real *dp_f, real *dp_o, const real *c_prev, const real *c_t, const real *dh, real *dc,
    real *dc_next, const int has_i, const int has_f, const int has_o, const int peep,
    const int fgr) {
    const int H = v->H, GH = v->GH, FH = v->FH;
    for (int b = 0; b < B; b++) {
        /* dpre shares act's memory: the row's gates become their gradients */
        real *db = dpre + (size_t)b * GH;
        const GateRow g = gate_row(v, db);
        const size_t k0 = (size_t)b * H;
        /* absent peephole gradients and FGR terms are never read or written */
        real *dpi = dp_i ? dp_i : db, *dpf = dp_f ? dp_f : db, *dpo = dp_o ? dp_o : db;
        const real *fb = fgr ? dact_fgr + (size_t)b * FH : db;
        real *gb = fgr ? dfgr + (size_t)b * FH : db;
        const real *dfi = fb + (v->fi >= 0 ? v->fi : 0), *dff = fb + (v->ff >= 0 ? v->ff : 0);
        const real *dfo = fb + (v->fo >= 0 ? v->fo : 0);
        real *gfi = gb + (v->fi >= 0 ? v->fi : 0), *gff = gb + (v->ff >= 0 ? v->ff : 0);
        real *gfo = gb + (v->fo >= 0 ? v->fo : 0);
        backward_row(H, has_i, has_f, has_o, peep, fgr, v->coupled, v->g_linear, v->k_linear, g.i,
                     g.f, g.z, g.o, g.p_i, g.p_f, g.p_o, dpi, dpf, dpo, dfi, dff, dfo, gfi, gff, gfo,
                     c_prev + k0, c_t + k0, dh + k0, dc + k0, dc_next + k0);
    }
}

/* One function per combination of (has_i, has_f, has_o, peep, fgr), bit k of
   its number being the k-th flag; each is compiled on its own so that the
   constants reach the vectorizer (inside one switch they did not). */
typedef void ForwardStep(const LstmView *, int, real *, const real *, real *, real *);
typedef void BackwardStep(const LstmView *, int, real *, const real *, real *, real *, real *,
                          real *, const real *, const real *, const real *, real *, real *);
#define LSTM_BITS4(k) ((k) & 1), (((k) >> 1) & 1), (((k) >> 2) & 1), (((k) >> 3) & 1)
#define FORWARD_FN(k)                                                                          \
    static void forward_step_##k(const LstmView *v, int B, real *a, const real *c_prev,        \
                                 real *c_t, real *h_t) {                                       \
        forward_step(v, B, a, c_prev, c_t, h_t, LSTM_BITS4(k));                                \
    }
#define BACKWARD_FN(k)                                                                         \
    static void backward_step_##k(const LstmView *v, int B, real *dpre, const real *dact_fgr,  \
                                  real *dfgr, real *dp_i, real *dp_f, real *dp_o,              \
                                  const real *c_prev, const real *c_t, const real *dh,         \
                                  real *dc, real *dc_next) {                                   \
        backward_step(v, B, dpre, dact_fgr, dfgr, dp_i, dp_f, dp_o, c_prev, c_t, dh, dc,       \
                      dc_next, LSTM_BITS4(k), ((k) >> 4) & 1);                                 \
    }
FORWARD_FN(0) FORWARD_FN(1) FORWARD_FN(2) FORWARD_FN(3) FORWARD_FN(4) FORWARD_FN(5) FORWARD_FN(6) FORWARD_FN(7)
FORWARD_FN(8) FORWARD_FN(9) FORWARD_FN(10) FORWARD_FN(11) FORWARD_FN(12) FORWARD_FN(13) FORWARD_FN(14) FORWARD_FN(15)
static ForwardStep *const forward_steps[16] = {
    forward_step_0, forward_step_1, forward_step_2, forward_step_3, forward_step_4, forward_step_5,
    forward_step_6, forward_step_7, forward_step_8, forward_step_9, forward_step_10, forward_step_11,
    forward_step_12, forward_step_13, forward_step_14, forward_step_15,
};
BACKWARD_FN(0) BACKWARD_FN(1) BACKWARD_FN(2) BACKWARD_FN(3) BACKWARD_FN(4) BACKWARD_FN(5) BACKWARD_FN(6) BACKWARD_FN(7)
BACKWARD_FN(8) BACKWARD_FN(9) BACKWARD_FN(10) BACKWARD_FN(11) BACKWARD_FN(12) BACKWARD_FN(13) BACKWARD_FN(14) BACKWARD_FN(15)
BACKWARD_FN(16) BACKWARD_FN(17) BACKWARD_FN(18) BACKWARD_FN(19) BACKWARD_FN(20) BACKWARD_FN(21) BACKWARD_FN(22) BACKWARD_FN(23)
BACKWARD_FN(24) BACKWARD_FN(25) BACKWARD_FN(26) BACKWARD_FN(27) BACKWARD_FN(28) BACKWARD_FN(29) BACKWARD_FN(30) BACKWARD_FN(31)
static BackwardStep *const backward_steps[32] = {
    backward_step_0, backward_step_1, backward_step_2, backward_step_3, backward_step_4,
    backward_step_5, backward_step_6, backward_step_7, backward_step_8, backward_step_9,
    backward_step_10, backward_step_11, backward_step_12, backward_step_13, backward_step_14,
    backward_step_15, backward_step_16, backward_step_17, backward_step_18, backward_step_19,
    backward_step_20, backward_step_21, backward_step_22, backward_step_23, backward_step_24,
    backward_step_25, backward_step_26, backward_step_27, backward_step_28, backward_step_29,
    backward_step_30, backward_step_31,
};

/* x (T,B,X) -> h, c (T+1,B,H); act (T,B,GH) holds i, f, z, o after the call. */
void lstm_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const LstmView v = view_of(cell, params);
    const int GH = v.GH, FH = v.FH;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;

    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    } else {
        input_project(cc->act, x, W, params + cell->bias, T * B, X, GH); /* all T steps */
    }
    if (FH) memset(cc->fgr_act, 0, BH * cell->n_fgr * sizeof(real)); /* gates of step "-1" are 0 */
    /* h R^T with R stored transposed: dnnl_sgemm measured 10 % faster on the
       untransposed operand at H = 512 (86 -> 93 GFLOP/s) */
    input_transpose(cc->r_t, R, H, GH);
    const int shape = shape_of(&v);

    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        const real *h_prev = cc->h + (size_t)t * BH;
        const real *c_prev = cc->c + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH, *c_t = cc->c + (size_t)(t + 1) * BH;
        if (small_x)
            input_project_small(a, x + (size_t)t * B * X, cc->in_work, params + cell->bias, B, X, GH);
        gemm(0, 0, B, GH, H, 1, h_prev, H, cc->r_t, GH, 1, a, GH);
        if (FH) {
            /* FGR: gates also see (i, f, o) of step t-1, through weight_gg */
            const real *g_prev = cc->fgr_act + (size_t)t * B * FH;
            gemm(0, 1, B, FH, FH, 1, g_prev, FH, params + cell->w_gg, FH, 0, cc->tmp, FH);
            for (int b = 0; b < B; b++) {
                real *ab = a + (size_t)b * GH;
                const real *tb = cc->tmp + (size_t)b * FH;
                for (int j = 0; j < H; j++) {
                    if (v.fi >= 0) ab[v.oi + j] += tb[v.fi + j];
                    if (v.ff >= 0) ab[v.of + j] += tb[v.ff + j];
                    if (v.fo >= 0) ab[v.oo + j] += tb[v.fo + j];
                }
            }
        }
        real *g_next = FH ? cc->fgr_act + (size_t)(t + 1) * B * FH : NULL;
        forward_steps[shape & 15](&v, B, a, c_prev, c_t, h_t);
        for (int b = 0; g_next && b < B; b++) {
            real *ab = a + (size_t)b * GH;
            if (g_next) {
                real *gn = g_next + (size_t)b * FH;
                if (v.fi >= 0) memcpy(gn + v.fi, ab + v.oi, H * sizeof(real));
                if (v.ff >= 0) memcpy(gn + v.ff, ab + v.of, H * sizeof(real));
                if (v.fo >= 0) memcpy(gn + v.fo, ab + v.oo, H * sizeof(real));
            }
        }
    }
}

void lstm_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const LstmView v = view_of(cell, params);
    const int GH = v.GH, FH = v.FH;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;
    real *dp_i = v.p_i ? dparams + cell->peep_i : NULL;
    real *dp_f = v.p_f ? dparams + cell->peep_f : NULL;
    real *dp_o = v.p_o ? dparams + cell->peep_o : NULL;
    real *dh = cc->dh, *dh_next = cc->dh_next, *dc = cc->dc, *dc_next = cc->dc_next;
    real *dact_fgr = cc->dact_fgr; /* dL/d(i,f,o)_t through the gates of t+1 */
    memset(dh_next, 0, BH * sizeof(real));
    memset(dc_next, 0, BH * sizeof(real));
    if (FH) memset(dact_fgr, 0, (size_t)B * FH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    const int shape = shape_of(&v);

    for (int t = T - 1; t >= 0; t--) {
        const real *c_prev = cc->c + (size_t)t * BH, *c_t = c_prev + BH;
        real *dpre = cc->dpre + (size_t)t * B * GH;
        real *dfgr = FH ? cc->dfgr + (size_t)t * B * FH : NULL;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        backward_steps[shape](&v, B, dpre, dact_fgr, dfgr, dp_i, dp_f, dp_o, c_prev, c_t, dh, dc,
                              dc_next);
        if (flow_c) flow_norms(dc, B, H, &flow_c[t]);
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + cell->bias, dpre, B, GH);
        /* gates = ... + R h_{t-1} (+ W_gg g_{t-1}): gradients into step t-1 */
        gemm(0, 0, B, H, GH, 1, dpre, GH, R, H, 0, dh_next, H);
        if (FH) gemm(0, 0, B, FH, FH, 1, dfgr, FH, params + cell->w_gg, FH, 0, dact_fgr, FH);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    if (small_x) input_grads_finish(dparams + cell->w_ih, dparams + cell->bias, cc->in_work, X, GH);
    else input_grads(dparams + cell->w_ih, cc->dpre, x, T * B, X, GH);
    recurrent_grads(dparams + cell->w_hh, cc->dpre, GH, cc->h, T * B, H, GH, cc->c,
                    (size_t)(T + 1) * BH);
    if (FH) gemm(1, 0, FH, FH, T * B, 1, cc->dfgr, FH, cc->fgr_act, FH, 1, dparams + cell->w_gg, FH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(real));
}
