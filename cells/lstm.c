/* lstm.c: the whole LSTM family of Greff et al. 2015 in one implementation
   (docs/cells.md "The LSTM family"):
       z_t = g(W_z x_t + R_z h_{t-1} + b_z)
       i_t = σ(W_i x_t + R_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)      (1 without input gate)
       f_t = σ(W_f x_t + R_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)      (1 without, 1 - i_t if coupled)
       c_t = i_t ⊙ z_t + f_t ⊙ c_{t-1}
       o_t = σ(W_o x_t + R_o h_{t-1} + p_o ⊙ c_t + b_o)          (1 without output gate)
       h_t = o_t ⊙ k(c_t)
   With full gate recurrence every gate also receives W_gg (i,f,o)_{t-1}.
   Only present gates have blocks in weight_ih/weight_hh/bias, in order i, f, z, o.
   Not here: the readout and the loss (model.c), layer stacking (model.c;
   dglstm.c for the depth gate). */
#include "kernel.h"
#include "gemm.h"
#include "rec_kernel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NO_TENSOR ((size_t)-1)

/* what an lstm cell is, resolved by lstm_make (Cell.kind_data) */
typedef struct {
    /* a removed gate has no parameters at all */
    int input_gate, forget_gate, output_gate;
    int peepholes;             /* p_i, p_f, p_o */
    int coupled;               /* CIFG: f = 1 - i */
    int full_gate_recurrence;  /* FGR: gates see i,f,o of the previous step */
    int input_linear;          /* NIAF: g(x) = x */
    int output_linear;         /* NOAF: k(x) = x */
} LstmFlags;

typedef struct {
    LstmFlags flags;
    int blk_i, blk_f, blk_z, blk_o; /* block index of each gate, -1 if absent */
    int n_fgr;                      /* gates in the full gate recurrence (0 without FGR) */
    int fgr_i, fgr_f, fgr_o;        /* their index inside the FGR block, -1 if absent */
    InputRecurrent at;
    size_t peep_i, peep_f, peep_o, w_gg; /* NO_TENSOR when absent */
} LstmData;

CELL_KIND_DATA_OF(LstmData)

/* the LSTM's own arrays in CellCache.own (full gate recurrence only) */
enum {
    FGR_ACT,  /* (T+1,B,n_fgr*H) gated activations, slot 0 = zeros */
    DFGR,     /* (T,B,n_fgr*H) their pre-activation gradients */
    DACT_FGR, /* (B,n_fgr*H) dL/d(i,f,o)_t through the gates of t+1 */
};

/* the per-sequence view of the flags and tensors, resolved once */
typedef struct {
    int H, GH, FH;
    int oi, of, oz, oo;        /* column offset of each block in a GH row, -1 if absent */
    int fi, ff, fo;            /* column offset inside an FH row, -1 if absent */
    int coupled, g_linear, k_linear;
    const real *p_i, *p_f, *p_o;
    size_t w_ih, w_hh, bias, w_gg, peep_i, peep_f, peep_o;
} LstmView;

static LstmView view_of(const Cell *cell, const real *params) {
    const LstmData d = data_of(cell);
    LstmView v;
    int H = cell->H;
    v.H = H;
    v.GH = cell->n_blocks * H;
    v.FH = d.n_fgr * H;
    v.oi = d.blk_i >= 0 ? d.blk_i * H : -1;
    v.of = d.blk_f >= 0 ? d.blk_f * H : -1;
    v.oz = d.blk_z * H;
    v.oo = d.blk_o >= 0 ? d.blk_o * H : -1;
    v.fi = d.fgr_i >= 0 ? d.fgr_i * H : -1;
    v.ff = d.fgr_f >= 0 ? d.fgr_f * H : -1;
    v.fo = d.fgr_o >= 0 ? d.fgr_o * H : -1;
    v.coupled = d.flags.coupled;
    v.g_linear = d.flags.input_linear;
    v.k_linear = d.flags.output_linear;
    v.p_i = d.peep_i != NO_TENSOR ? params + d.peep_i : NULL;
    v.p_f = d.peep_f != NO_TENSOR ? params + d.peep_f : NULL;
    v.p_o = d.peep_o != NO_TENSOR ? params + d.peep_o : NULL;
    v.w_ih = d.at.w_ih;
    v.w_hh = d.at.w_hh;
    v.bias = d.at.bias;
    v.w_gg = d.w_gg;
    v.peep_i = d.peep_i;
    v.peep_f = d.peep_f;
    v.peep_o = d.peep_o;
    return v;
}

/* ------------------------------------------------------------------------- */
/* one step of the gate math

   What decides what is computed at all (which gates exist, peepholes, FGR)
   is a Shape. The row functions below are always inlined into one step
   function per Shape with its fields as constants (STEP_KERNELS), so an
   absent gate costs nothing and no flag is tested per element; the shape is
   picked once per sequence. The rest (coupled, linear g or k) are 0/1
   multipliers: x*m + y*(1-m) selects exactly and, unlike a condition,
   vectorizes. */
typedef struct { int i, f, o, peep, fgr; } Shape;

static int shape_index(const LstmView *v) {
    return (v->oi >= 0) | (v->of >= 0) << 1 | (v->oo >= 0) << 2 | (v->p_i || v->p_f || v->p_o) << 3 |
           (v->FH > 0) << 4;
}
#define SHAPE_OF(k) ((Shape){(k) & 1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1, ((k) >> 4) & 1})

/* The gate blocks of one row of act (or of dpre, which shares its memory)
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

/* Forward of one batch row: gate pre-activations in g become activations. */
static inline __attribute__((always_inline)) void forward_row(
    const Shape s, const LstmView *v, GateRow g, const real *restrict c_prev,
    real *restrict c_t, real *restrict h_t) {
    const real mc = v->coupled, mg = v->g_linear, mk = v->k_linear;
    real *ai = g.i, *af = g.f, *az = g.z, *ao = g.o; /* disjoint blocks of one row */
    const real *pi = g.p_i, *pf = g.p_f, *po = g.p_o;
#pragma GCC ivdep
    for (int j = 0; j < v->H; j++) {
        const real c_old = c_prev[j];
        real gi = 1, gf = 1, go = 1;
        if (s.i) gi = sigmoid_r(s.peep ? ai[j] + pi[j] * c_old : ai[j]);
        if (s.f) gf = sigmoid_r(s.peep ? af[j] + pf[j] * c_old : af[j]);
        gf = mc * (1 - gi) + (1 - mc) * gf;
        const real gz = mg * az[j] + (1 - mg) * R_TANH(az[j]);
        const real cn = gi * gz + gf * c_old;
        if (s.o) go = sigmoid_r(s.peep ? ao[j] + po[j] * cn : ao[j]); /* o peeks at c_t */
        const real k_c = mk * cn + (1 - mk) * R_TANH(cn);
        if (s.i) ai[j] = gi;
        if (s.f) af[j] = gf;
        az[j] = gz;
        if (s.o) ao[j] = go;
        c_t[j] = cn;
        h_t[j] = go * k_c;
    }
}

/* What backward of one batch row reads and writes besides the gates. */
typedef struct {
    const real *c_prev, *c_t, *dh; /* c_{t-1}, c_t, dL/dh_t */
    real *dc, *dc_next;            /* out: dL/dc_t; in: from t+1, out: dL/dc_{t-1} */
    real *dp_i, *dp_f, *dp_o;      /* peephole gradients, accumulated */
    const real *fgr_i, *fgr_f, *fgr_o; /* FGR: dL/d(gate) from step t+1 */
    real *gfgr_i, *gfgr_f, *gfgr_o;    /* FGR: out, the gates' pre-activation gradients */
} BackRow;

/* Backward of forward_row: reads the gates in g and writes their
   pre-activation gradients over them (each j reads before it writes). The
   per-sequence flags select with select_r, not `?:`, so the loop stays
   branch-free and vectorizes. */
static inline __attribute__((always_inline)) void backward_row(const Shape s, const LstmView *v,
                                                               GateRow g, BackRow r) {
    const int coupled = v->coupled, g_lin = v->g_linear, k_lin = v->k_linear;
    real *ai = g.i, *af = g.f, *az = g.z, *ao = g.o;
    const real *pi = g.p_i, *pf = g.p_f, *po = g.p_o;
    const real *restrict cp = r.c_prev, *restrict cnr = r.c_t, *restrict dhr = r.dh;
    real *restrict dcr = r.dc, *restrict dcn = r.dc_next;
#pragma GCC ivdep
    for (int j = 0; j < v->H; j++) {
        const real gi = s.i ? ai[j] : 1;
        const real gf = select_r(coupled, 1 - gi, s.f ? af[j] : 1);
        const real gz = az[j], go = s.o ? ao[j] : 1;
        const real c_old = cp[j], cn = cnr[j], dhk = dhr[j];
        /* k(c_t) again rather than a T-sized cache of it: one tanh costs less
           than the memory */
        const real k_c = select_r(k_lin, cn, R_TANH(cn));
        /* h = o * k(c) */
        real dct = dcn[j] + dhk * go * select_r(k_lin, 1, 1 - k_c * k_c);
        if (s.o) {
            const real dao = (s.fgr ? dhk * k_c + r.fgr_o[j] : dhk * k_c) * go * (1 - go);
            if (s.peep) {
                dct += dao * po[j]; /* o saw p_o * c_t */
                r.dp_o[j] += dao * cn;
            }
            ao[j] = dao;
            if (s.fgr) r.gfgr_o[j] = dao;
        }
        dcr[j] = dct;
        /* c = i*z + f*c_prev */
        real d_i = dct * gz, d_f = dct * c_old, dcp = dct * gf;
        if (s.fgr && s.i) d_i += r.fgr_i[j];
        if (s.fgr && s.f) d_f += r.fgr_f[j];
        d_i -= select_r(coupled, d_f, 0); /* f = 1 - i */
        const real d_z = dct * gi;
        az[j] = select_r(g_lin, d_z, d_z * (1 - gz * gz));
        if (s.i) {
            const real dai = d_i * gi * (1 - gi);
            ai[j] = dai;
            if (s.fgr) r.gfgr_i[j] = dai;
            if (s.peep) { /* i saw p_i ⊙ c_prev */
                dcp += dai * pi[j];
                r.dp_i[j] += dai * c_old;
            }
        }
        if (s.f) {
            const real daf = d_f * gf * (1 - gf);
            af[j] = daf;
            if (s.fgr) r.gfgr_f[j] = daf;
            if (s.peep) {
                dcp += daf * pf[j];
                r.dp_f[j] += daf * c_old;
            }
        }
        dcn[j] = dcp;
    }
}

/* Everything one step of either direction works on, over all B rows. */
typedef struct {
    const LstmView *v;
    int B;
    real *gates;         /* (B,GH): act in forward, dpre (the same memory) in backward */
    const real *c_prev;  /* (B,H) */
    real *c_t, *h_t;     /* (B,H); backward only reads c_t */
    const real *dh;      /* backward: (B,H) dL/dh_t */
    real *dc, *dc_next;  /* backward: (B,H) */
    real *dp_i, *dp_f, *dp_o;  /* backward: peephole gradients, NULL when absent */
    const real *dact_fgr;      /* backward: (B,FH) from t+1 */
    real *dfgr;                /* backward: (B,FH) this step's */
} Step;

static inline __attribute__((always_inline)) void forward_step(const Shape s, const Step *st) {
    const LstmView *v = st->v;
    for (int b = 0; b < st->B; b++) {
        const size_t k0 = (size_t)b * v->H;
        forward_row(s, v, gate_row(v, st->gates + (size_t)b * v->GH), st->c_prev + k0,
                    st->c_t + k0, st->h_t + k0);
    }
}

static inline __attribute__((always_inline)) void backward_step(const Shape s, const Step *st) {
    const LstmView *v = st->v;
    for (int b = 0; b < st->B; b++) {
        real *db = st->gates + (size_t)b * v->GH; /* the row's gates become their gradients */
        const size_t k0 = (size_t)b * v->H;
        /* absent peephole gradients and FGR rows are never touched: the
           row's start stands in for them */
        const real *fb = s.fgr ? st->dact_fgr + (size_t)b * v->FH : db;
        real *gb = s.fgr ? st->dfgr + (size_t)b * v->FH : db;
        const int fi = v->fi >= 0 ? v->fi : 0, ff = v->ff >= 0 ? v->ff : 0, fo = v->fo >= 0 ? v->fo : 0;
        BackRow r = {
            st->c_prev + k0, st->c_t + k0, st->dh + k0, st->dc + k0, st->dc_next + k0,
            st->dp_i ? st->dp_i : db, st->dp_f ? st->dp_f : db, st->dp_o ? st->dp_o : db,
            fb + fi, fb + ff, fb + fo, gb + fi, gb + ff, gb + fo,
        };
        backward_row(s, v, gate_row(v, db), r);
    }
}

/* One forward and one backward step function per Shape, k's bits being
   (i, f, o, peep, fgr): each compiled on its own so that the constants reach
   the vectorizer (inside one switch they did not). Forward ignores fgr. */
typedef void StepFn(const Step *);
#define STEP_KERNELS(k)                                                                  \
    static void forward_##k(const Step *st) { forward_step(SHAPE_OF(k), st); }          \
    static void backward_##k(const Step *st) { backward_step(SHAPE_OF(k), st); }
#define SHAPES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28)     \
    X(29) X(30) X(31)
SHAPES(STEP_KERNELS)
#define KERNEL_PAIR(k) {forward_##k, backward_##k},
static const struct { StepFn *forward, *backward; } kernels[32] = {SHAPES(KERNEL_PAIR)};
#undef KERNEL_PAIR
#undef STEP_KERNELS
#undef SHAPES

/* ------------------------------------------------------------------------- */
/* over the whole sequence */

/* x (T,B,X) -> h, c (T+1,B,H); act (T,B,GH) holds i, f, z, o after the call. */
static void lstm_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const LstmView v = view_of(cell, params);
    const int GH = v.GH, FH = v.FH;
    const size_t BH = (size_t)B * H;
    const real *W = params + v.w_ih, *R = params + v.w_hh;
    real *fgr_act = cc->own[FGR_ACT];

    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    } else {
        input_project(cc->act, x, W, params + v.bias, T * B, X, GH); /* all T steps */
    }
    if (FH) memset(fgr_act, 0, (size_t)B * FH * sizeof(real)); /* gates of step "-1" are 0 */
    /* h R^T on a copy of R made once (rec_kernel.c) */
    rec_prepare(cc->r_t, R, H, H, GH);
    StepFn *const step = kernels[shape_index(&v)].forward;

    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        const real *h_prev = cc->h + (size_t)t * BH;
        if (small_x)
            input_project_small(a, x + (size_t)t * B * X, cc->in_work, params + v.bias, B, X, GH);
        rec_product(a, GH, h_prev, H, cc->r_t, B, H, GH, 0);
        if (FH) {
            /* FGR: gates also see (i, f, o) of step t-1, through weight_gg */
            const real *g_prev = fgr_act + (size_t)t * B * FH;
            gemm(0, 1, B, FH, FH, 1, g_prev, FH, params + v.w_gg, FH, 0, cc->tmp, FH);
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
        const Step st = {.v = &v, .B = B, .gates = a, .c_prev = cc->c + (size_t)t * BH,
                         .c_t = cc->c + (size_t)(t + 1) * BH, .h_t = cc->h + (size_t)(t + 1) * BH};
        step(&st);
        if (FH) { /* keep this step's gates for the next one's recurrence */
            real *g_next = fgr_act + (size_t)(t + 1) * B * FH;
            for (int b = 0; b < B; b++) {
                const real *ab = a + (size_t)b * GH;
                real *gn = g_next + (size_t)b * FH;
                if (v.fi >= 0) memcpy(gn + v.fi, ab + v.oi, H * sizeof(real));
                if (v.ff >= 0) memcpy(gn + v.ff, ab + v.of, H * sizeof(real));
                if (v.fo >= 0) memcpy(gn + v.fo, ab + v.oo, H * sizeof(real));
            }
        }
    }
}

static void lstm_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                          const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                          real *flow_h, real *flow_c) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const LstmView v = view_of(cell, params);
    const int GH = v.GH, FH = v.FH;
    const size_t BH = (size_t)B * H;
    const real *W = params + v.w_ih, *R = params + v.w_hh;
    real *dh = cc->dh, *dh_next = cc->dh_next, *dc = cc->dc, *dc_next = cc->dc_next;
    real *dact_fgr = cc->own[DACT_FGR]; /* dL/d(i,f,o)_t through the gates of t+1 */
    memset(dh_next, 0, BH * sizeof(real));
    memset(dc_next, 0, BH * sizeof(real));
    if (FH) memset(dact_fgr, 0, (size_t)B * FH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);
    StepFn *const step = kernels[shape_index(&v)].backward;

    for (int t = T - 1; t >= 0; t--) {
        real *dpre = cc->dpre + (size_t)t * B * GH;
        real *dfgr = FH ? cc->own[DFGR] + (size_t)t * B * FH : NULL;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        upstream_grad_c(up, t, B, H, dc_next); /* the layer above read c_t (dglstm) */
        const Step st = {
            .v = &v, .B = B, .gates = dpre, .c_prev = cc->c + (size_t)t * BH,
            .c_t = cc->c + (size_t)(t + 1) * BH, .dh = dh, .dc = dc, .dc_next = dc_next,
            .dp_i = v.p_i ? dparams + v.peep_i : NULL, .dp_f = v.p_f ? dparams + v.peep_f : NULL,
            .dp_o = v.p_o ? dparams + v.peep_o : NULL, .dact_fgr = dact_fgr, .dfgr = dfgr,
        };
        step(&st);
        if (flow_c) flow_norms(dc, B, H, &flow_c[t]);
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        else sum_rows_into(dparams + v.bias, dpre, B, GH);
        /* gates = ... + R h_{t-1} (+ W_gg g_{t-1}): gradients into step t-1 */
        gemm(0, 0, B, H, GH, 1, dpre, GH, R, H, 0, dh_next, H);
        if (FH) gemm(0, 0, B, FH, FH, 1, dfgr, FH, params + v.w_gg, FH, 0, dact_fgr, FH);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    if (small_x) input_grads_finish(dparams + v.w_ih, dparams + v.bias, cc->in_work, X, GH);
    else input_grads(dparams + v.w_ih, cc->dpre, x, T * B, X, GH);
    recurrent_grads(dparams + v.w_hh, cc->dpre, GH, cc->h, T * B, H, GH, cc->c,
                    (size_t)(T + 1) * BH);
    if (FH)
        gemm(1, 0, FH, FH, T * B, 1, cc->own[DFGR], FH, cc->own[FGR_ACT], FH, 1, dparams + v.w_gg, FH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind: names, layout, cache, initialisation, attributes */

static const CellInfo lstm_names[] = {
    {"lstm-peep", "vanilla LSTM of Greff et al. (V): forget gate and peepholes", "4NM + 4N^2 + 4N + 3N"},
    {"lstm", "LSTM without peepholes (NP; PyTorch/cuDNN form)", "4NM + 4N^2 + 4N"},
    {"lstm-nig", "V without input gate (i = 1)", "3NM + 3N^2 + 3N + 2N"},
    {"lstm-nfg", "V without forget gate (f = 1)", "3NM + 3N^2 + 3N + 2N"},
    {"lstm-nog", "V without output gate (o = 1)", "3NM + 3N^2 + 3N + 2N"},
    {"lstm-niaf", "V without input activation (g(x) = x)", "4NM + 4N^2 + 4N + 3N"},
    {"lstm-noaf", "V without output activation (k(x) = x)", "4NM + 4N^2 + 4N + 3N"},
    {"lstm-cifg", "V with coupled input and forget gate (f = 1 - i)", "3NM + 3N^2 + 3N + 2N"},
    {"lstm-fgr", "V with full gate recurrence (gates see i, f, o of t-1)", "4NM + 4N^2 + 4N + 3N + 9N^2"},
    {"lstm-1997", "original LSTM of 1997: no forget gate, no peepholes (= lstm+nfg)", "3NM + 3N^2 + 3N"},
};

static const CellInfo lstm_modifiers[] = {
    {"nig", "remove the input gate", ""},
    {"nfg", "remove the forget gate", ""},
    {"nog", "remove the output gate", ""},
    {"niaf", "linear block input, g(x) = x", ""},
    {"noaf", "linear block output, k(x) = x", ""},
    {"np", "remove the peepholes", ""},
    {"peep", "add peepholes", ""},
    {"cifg", "couple the forget gate to the input gate, f = 1 - i", ""},
    {"fgr", "full gate recurrence", ""},
};

/* Apply one ablation word ("nfg", "cifg", ...) to flags; -1 if it is none. */
static int apply_modifier(LstmFlags *f, const char *mod) {
    if (!strcmp(mod, "nig")) f->input_gate = 0;
    else if (!strcmp(mod, "nfg")) f->forget_gate = 0;
    else if (!strcmp(mod, "nog")) f->output_gate = 0;
    else if (!strcmp(mod, "niaf")) f->input_linear = 1;
    else if (!strcmp(mod, "noaf")) f->output_linear = 1;
    else if (!strcmp(mod, "np")) f->peepholes = 0;
    else if (!strcmp(mod, "peep")) f->peepholes = 1;
    else if (!strcmp(mod, "cifg")) f->coupled = 1;
    else if (!strcmp(mod, "fgr")) f->full_gate_recurrence = 1;
    else return -1;
    return 0;
}

/* Canonical name: a single ablation of V keeps Greff's name (lstm-nfg),
   anything else spells its modifiers on lstm-peep or lstm. */
static void canonical_name(const LstmFlags *f, char *out, size_t n) {
    const char *mods[8];
    int k = 0;
    if (!f->input_gate) mods[k++] = "nig";
    if (!f->forget_gate) mods[k++] = "nfg";
    if (!f->output_gate) mods[k++] = "nog";
    if (f->input_linear) mods[k++] = "niaf";
    if (f->output_linear) mods[k++] = "noaf";
    if (f->coupled) mods[k++] = "cifg";
    if (f->full_gate_recurrence) mods[k++] = "fgr";
    if (f->peepholes && k == 0) { snprintf(out, n, "lstm-peep"); return; }
    if (f->peepholes && k == 1) { snprintf(out, n, "lstm-%s", mods[0]); return; }
    size_t len = (size_t)snprintf(out, n, "%s", f->peepholes ? "lstm-peep" : "lstm");
    for (int i = 0; i < k && len < n; i++) len += (size_t)snprintf(out + len, n - len, "+%s", mods[i]);
}

/* name -> flags: lstm, lstm-peep, lstm-1997 or lstm-<modifier>, then any
   number of +<modifier>. 0 when the name is not an LSTM's. */
static int parse_name(const char *name, LstmFlags *f) {
    char buf[CELL_NAME_MAX * 2];
    if (strncmp(name, "lstm", 4) || strlen(name) >= sizeof buf) return 0;
    snprintf(buf, sizeof buf, "%s", name);
    char *plus = strchr(buf, '+');
    if (plus) *plus = '\0';
    *f = (LstmFlags){.input_gate = 1, .forget_gate = 1, .output_gate = 1, .peepholes = 1};
    if (!strcmp(buf, "lstm")) f->peepholes = 0;
    else if (!strcmp(buf, "lstm-1997")) { f->peepholes = 0; f->forget_gate = 0; }
    else if (!strcmp(buf, "lstm-peep")) {}
    else if (buf[4] != '-' || apply_modifier(f, buf + 5) != 0) return 0;
    for (char *mod = plus ? plus + 1 : NULL; mod;) {
        char *next = strchr(mod, '+');
        if (next) *next++ = '\0';
        if (apply_modifier(f, mod) != 0) return 0;
        mod = next;
    }
    return 1;
}

static int lstm_make(Cell *c, const char *name, char *err, size_t err_len) {
    LstmData d;
    memset(&d, 0, sizeof d);
    if (!parse_name(name, &d.flags)) return 0;
    const LstmFlags *f = &d.flags;
    if (f->coupled && (!f->input_gate || !f->forget_gate)) {
        snprintf(err, err_len, "cell '%s': coupled gates (cifg) need both the input and the forget gate", name);
        return -1;
    }
    canonical_name(f, c->name, sizeof c->name);
    c->has_c = 1;
    /* blocks in order i, f, z, o; a removed or coupled gate has none */
    const int H = c->H;
    int b = 0;
    d.blk_i = f->input_gate ? b++ : -1;
    d.blk_f = f->forget_gate && !f->coupled ? b++ : -1;
    d.blk_z = b++;
    d.blk_o = f->output_gate ? b++ : -1;
    d.fgr_i = d.fgr_f = d.fgr_o = -1;
    if (f->full_gate_recurrence) {
        int g = 0;
        if (d.blk_i >= 0) d.fgr_i = g++;
        if (d.blk_f >= 0) d.fgr_f = g++;
        if (d.blk_o >= 0) d.fgr_o = g++;
        d.n_fgr = g;
    }
    d.at = cell_add_input_recurrent(c, b);
    d.peep_i = d.peep_f = d.peep_o = d.w_gg = NO_TENSOR;
    if (f->peepholes) {
        if (d.blk_i >= 0) d.peep_i = cell_add_tensor(c, "peep_i", H, 1);
        if (d.blk_f >= 0) d.peep_f = cell_add_tensor(c, "peep_f", H, 1);
        if (d.blk_o >= 0) d.peep_o = cell_add_tensor(c, "peep_o", H, 1);
    }
    if (d.n_fgr > 0) d.w_gg = cell_add_tensor(c, "weight_gg", d.n_fgr * H, d.n_fgr * H);
    if (d.blk_i >= 0) cell_add_gate(c, "i");
    if (d.blk_f >= 0) cell_add_gate(c, "f");
    cell_add_gate(c, "z");
    if (d.blk_o >= 0) cell_add_gate(c, "o");
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void lstm_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    const LstmData d = data_of(c);
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = (size_t)c->n_blocks * H;
    size_t FH = (size_t)d.n_fgr * H;
    cc->act = carve(cv, TB * GH);
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * GH);
    /* backward writes the pre-activation gradients over the gate
       activations: a T-sized block fewer */
    cc->dpre = cc->act;
    cc->c = carve(cv, (TB + B) * H);
    cc->dc = carve(cv, B * H);
    cc->r_t = carve(cv, H * GH);
    cc->dc_next = carve(cv, B * H);
    if (FH) {
        cc->own[FGR_ACT] = carve(cv, (TB + B) * FH);
        cc->own[DFGR] = carve(cv, TB * FH);
        cc->own[DACT_FGR] = carve(cv, B * FH);
    }
}

/* The forget-gate bias: a constant (Gers et al. 2000; Jozefowicz et al.
   2015 recommend 1), or chrono initialisation (Tallec & Ollivier 2018):
   b_f = log(u), u ~ U[1, T_max - 1], b_i = -b_f. CIFG has no forget block
   (f = 1 - i = σ(-a_i)): the bias goes to the input gate as b_i = -b_f, so
   that its initial f is V's; NFG (f = 1) has nowhere to put it. */
static void lstm_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    const LstmData d = data_of(c);
    const int H = c->H;
    real *b_f = d.blk_f >= 0 ? params + d.at.bias + (size_t)d.blk_f * H : NULL;
    real *b_i = d.blk_i >= 0 ? params + d.at.bias + (size_t)d.blk_i * H : NULL;
    if (!b_f && !(d.flags.coupled && b_i)) return;
    for (int j = 0; j < H; j++) {
        double bf;
        if (init->chrono_T > 0) {
            double hi = init->chrono_T - 1 > 1 ? init->chrono_T - 1 : 1;
            bf = log(rng_range(rng, 1, hi));
        } else if (!isnan(init->forget_bias)) {
            bf = init->forget_bias;
        } else {
            return;
        }
        if (b_f) b_f[j] = (real)bf;
        /* chrono sets b_i = -b_f too; CIFG's f is σ(-a_i) */
        if (b_i && (init->chrono_T > 0 || !b_f)) b_i[j] = (real)-bf;
    }
}

/* where the forget bias went: "forget_gate", "input_gate" (CIFG, as -b_f),
   or "none" (NFG) */
static const char *forget_bias_target(const LstmData *d) {
    if (d->blk_f >= 0) return "forget_gate";
    return d->flags.coupled && d->blk_i >= 0 ? "input_gate" : "none";
}

static int lstm_attrs(const Cell *c, const AttrSink *s) {
    const LstmData d = data_of(c);
    const LstmFlags f = d.flags;
    int rc = 0;
    rc |= s->put_int(s->ctx, "input_gate", f.input_gate);
    rc |= s->put_int(s->ctx, "forget_gate", f.forget_gate);
    rc |= s->put_int(s->ctx, "output_gate", f.output_gate);
    rc |= s->put_int(s->ctx, "peepholes", f.peepholes);
    rc |= s->put_int(s->ctx, "coupled", f.coupled);
    rc |= s->put_str(s->ctx, "forget_bias_target", forget_bias_target(&d));
    rc |= s->put_int(s->ctx, "full_gate_recurrence", f.full_gate_recurrence);
    rc |= s->put_str(s->ctx, "input_activation", f.input_linear ? "linear" : "tanh");
    rc |= s->put_str(s->ctx, "output_activation", f.output_linear ? "linear" : "tanh");
    return rc;
}

static double lstm_step_madds(const Cell *c) {
    const double FH = (double)data_of(c).n_fgr * c->H;
    return (double)(c->X + c->H) * c->n_blocks * c->H + FH * FH;
}

const CellOps lstm_ops = {
    .kind = "lstm",
    .names = lstm_names,
    .n_names = (int)(sizeof lstm_names / sizeof lstm_names[0]),
    .modifier_intro = "LSTM ablations combine with '+', e.g. lstm-peep+cifg+np or lstm+nfg:",
    .modifiers = lstm_modifiers,
    .n_modifiers = (int)(sizeof lstm_modifiers / sizeof lstm_modifiers[0]),
    .make = lstm_make,
    .cache = lstm_cache,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .init = lstm_init,
    .attrs = lstm_attrs,
    .step_madds = lstm_step_madds,
};
