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

/* x (T,B,X) -> h, c (T+1,B,H); act (T,B,GH) holds i, f, z, o after the call. */
void lstm_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const LstmView v = view_of(cell, params);
    const int GH = v.GH, FH = v.FH;
    const size_t BH = (size_t)B * H;
    const real *W = params + cell->w_ih, *R = params + cell->w_hh;

    /* input projection of all T steps: act = x W^T + b */
    gemm(0, 1, T * B, GH, X, 1, x, X, W, X, 0, cc->act, GH);
    add_bias_rows(cc->act, params + cell->bias, T * B, GH);
    if (FH) memset(cc->fgr_act, 0, BH * cell->n_fgr * sizeof(real)); /* gates of step "-1" are 0 */

    for (int t = 0; t < T; t++) {
        real *a = cc->act + (size_t)t * B * GH;
        const real *h_prev = cc->h + (size_t)t * BH;
        const real *c_prev = cc->c + (size_t)t * BH;
        real *h_t = cc->h + (size_t)(t + 1) * BH, *c_t = cc->c + (size_t)(t + 1) * BH;
        real *kc = cc->kc + (size_t)t * BH;
        gemm(0, 1, B, GH, H, 1, h_prev, H, R, H, 1, a, GH);
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
        for (int b = 0; b < B; b++) {
            real *ab = a + (size_t)b * GH;
            for (int j = 0; j < H; j++) {
                size_t k = (size_t)b * H + j;
                real cp = c_prev[k];
                real gi = 1, gf = 1, go = 1;
                if (v.oi >= 0) {
                    real pre = ab[v.oi + j] + (v.p_i ? v.p_i[j] * cp : 0);
                    gi = sigmoid_r(pre);
                    ab[v.oi + j] = gi;
                }
                if (v.coupled) gf = 1 - gi;
                else if (v.of >= 0) {
                    real pre = ab[v.of + j] + (v.p_f ? v.p_f[j] * cp : 0);
                    gf = sigmoid_r(pre);
                    ab[v.of + j] = gf;
                }
                real gz = v.g_linear ? ab[v.oz + j] : R_TANH(ab[v.oz + j]);
                ab[v.oz + j] = gz;
                real cn = gi * gz + gf * cp;
                if (v.oo >= 0) {
                    /* the output gate peeks at the new state c_t */
                    real pre = ab[v.oo + j] + (v.p_o ? v.p_o[j] * cn : 0);
                    go = sigmoid_r(pre);
                    ab[v.oo + j] = go;
                }
                real k_c = v.k_linear ? cn : R_TANH(cn);
                c_t[k] = cn;
                kc[k] = k_c;
                h_t[k] = go * k_c;
                if (g_next) {
                    real *gn = g_next + (size_t)b * FH;
                    if (v.fi >= 0) gn[v.fi + j] = gi;
                    if (v.ff >= 0) gn[v.ff + j] = gf;
                    if (v.fo >= 0) gn[v.fo + j] = go;
                }
            }
        }
    }
}

void lstm_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const real *dh_out, real *dparams, real *dx, real *dh0, real *dc0,
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

    for (int t = T - 1; t >= 0; t--) {
        const real *a = cc->act + (size_t)t * B * GH;
        const real *c_prev = cc->c + (size_t)t * BH, *c_t = c_prev + BH;
        const real *kc = cc->kc + (size_t)t * BH;
        real *dpre = cc->dpre + (size_t)t * B * GH;
        real *dfgr = FH ? cc->dfgr + (size_t)t * B * FH : NULL;
        for (size_t k = 0; k < BH; k++) dh[k] = dh_out[(size_t)t * BH + k] + dh_next[k];
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        for (int b = 0; b < B; b++) {
            const real *ab = a + (size_t)b * GH;
            real *db = dpre + (size_t)b * GH;
            const real *dfb = FH ? dact_fgr + (size_t)b * FH : NULL;
            for (int j = 0; j < H; j++) {
                size_t k = (size_t)b * H + j;
                real gi = v.oi >= 0 ? ab[v.oi + j] : 1;
                real gf = v.coupled ? 1 - gi : (v.of >= 0 ? ab[v.of + j] : 1);
                real gz = ab[v.oz + j];
                real go = v.oo >= 0 ? ab[v.oo + j] : 1;
                real cp = c_prev[k], cn = c_t[k], k_c = kc[k];
                /* h = o * k(c) */
                real dct = dc_next[k] + dh[k] * go * (v.k_linear ? 1 : 1 - k_c * k_c);
                if (v.oo >= 0) {
                    real d_o = dh[k] * k_c + (v.fo >= 0 ? dfb[v.fo + j] : 0);
                    real dao = d_o * go * (1 - go);
                    db[v.oo + j] = dao;
                    if (v.p_o) {           /* o saw p_o * c_t */
                        dct += dao * v.p_o[j];
                        dp_o[j] += dao * cn;
                    }
                    if (dfgr) dfgr[(size_t)b * FH + v.fo + j] = dao;
                }
                dc[k] = dct;
                /* c = i*z + f*c_prev */
                real d_i = dct * gz, d_z = dct * gi, d_f = dct * cp;
                real dcp = dct * gf;
                if (v.fi >= 0) d_i += dfb[v.fi + j];
                if (v.ff >= 0) d_f += dfb[v.ff + j];
                if (v.coupled) d_i -= d_f;  /* f = 1 - i */
                db[v.oz + j] = v.g_linear ? d_z : d_z * (1 - gz * gz);
                if (v.oi >= 0) {
                    real dai = d_i * gi * (1 - gi);
                    db[v.oi + j] = dai;
                    if (v.p_i) { dcp += dai * v.p_i[j]; dp_i[j] += dai * cp; }
                    if (dfgr) dfgr[(size_t)b * FH + v.fi + j] = dai;
                }
                if (v.of >= 0) {
                    real daf = d_f * gf * (1 - gf);
                    db[v.of + j] = daf;
                    if (v.p_f) { dcp += daf * v.p_f[j]; dp_f[j] += daf * cp; }
                    if (dfgr) dfgr[(size_t)b * FH + v.ff + j] = daf;
                }
                dc_next[k] = dcp;
            }
        }
        if (flow_c) flow_norms(dc, B, H, &flow_c[t]);
        /* gates = ... + R h_{t-1} (+ W_gg g_{t-1}): gradients into step t-1 */
        gemm(0, 0, B, H, GH, 1, dpre, GH, R, H, 0, dh_next, H);
        if (FH) gemm(0, 0, B, FH, FH, 1, dfgr, FH, params + cell->w_gg, FH, 0, dact_fgr, FH);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    gemm(1, 0, GH, X, T * B, 1, cc->dpre, GH, x, X, 1, dparams + cell->w_ih, X);
    gemm(1, 0, GH, H, T * B, 1, cc->dpre, GH, cc->h, H, 1, dparams + cell->w_hh, H);
    sum_rows_into(dparams + cell->bias, cc->dpre, T * B, GH);
    if (FH) gemm(1, 0, FH, FH, T * B, 1, cc->dfgr, FH, cc->fgr_act, FH, 1, dparams + cell->w_gg, FH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(real));
}
