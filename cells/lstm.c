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

    const int small_x = input_is_small(X);
    if (small_x) {
        input_transpose(cc->in_work, W, X, GH); /* projected step by step below */
    } else {
        /* input projection of all T steps: act = x W^T + b */
        gemm(0, 1, T * B, GH, X, 1, x, X, W, X, 0, cc->act, GH);
        add_bias_rows(cc->act, params + cell->bias, T * B, GH);
    }
    if (FH) memset(cc->fgr_act, 0, BH * cell->n_fgr * sizeof(real)); /* gates of step "-1" are 0 */
    memset(cc->zeros, 0, H * sizeof(real));
    /* h R^T with R stored transposed: dnnl_sgemm measured 10 % faster on the
       untransposed operand at H = 512 (86 -> 93 GFLOP/s) */
    input_transpose(cc->r_t, R, H, GH);

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
        for (int b = 0; b < B; b++) {
            real *ab = a + (size_t)b * GH;
            const size_t k0 = (size_t)b * H;
            /* An absent gate reads zeros and writes into junk, and its value is
               selected to 1 (or 1 - i when coupled): one branch-free loop
               serves every combination of flags, and it vectorizes. */
            const real *zeros = cc->zeros;
            const real *ai_in = v.oi >= 0 ? ab + v.oi : zeros, *af_in = v.of >= 0 ? ab + v.of : zeros;
            const real *ao_in = v.oo >= 0 ? ab + v.oo : zeros;
            real *ai = v.oi >= 0 ? ab + v.oi : cc->junk, *af = v.of >= 0 ? ab + v.of : cc->junk + H;
            real *az = ab + v.oz, *ao = v.oo >= 0 ? ab + v.oo : cc->junk + 2 * H;
            const real *pi = v.p_i ? v.p_i : zeros, *pf = v.p_f ? v.p_f : zeros;
            const real *po = v.p_o ? v.p_o : zeros;
            const real *cp = c_prev + k0;
            real *cn_row = c_t + k0, *h_row = h_t + k0;
            /* the flags as 0/1 multipliers: x*m + y*(1-m) selects exactly, and
               unlike a condition on a flag it vectorizes */
            const real mi = v.oi >= 0, mf = v.of >= 0, mo = v.oo >= 0, mc = v.coupled;
            const real mg = v.g_linear, mk = v.k_linear;
            /* the rows never overlap */
#pragma GCC ivdep
            for (int j = 0; j < H; j++) {
                real c_old = cp[j];
                real gi = mi * sigmoid_r(ai_in[j] + pi[j] * c_old) + (1 - mi);
                real gf_own = mf * sigmoid_r(af_in[j] + pf[j] * c_old) + (1 - mf);
                real gf = mc * (1 - gi) + (1 - mc) * gf_own;
                real gz = mg * az[j] + (1 - mg) * R_TANH(az[j]);
                real cn = gi * gz + gf * c_old;
                /* the output gate peeks at the new state c_t */
                real go = mo * sigmoid_r(ao_in[j] + po[j] * cn) + (1 - mo);
                real k_c = mk * cn + (1 - mk) * R_TANH(cn);
                ai[j] = gi;
                af[j] = gf;
                az[j] = gz;
                ao[j] = go;
                cn_row[j] = cn;
                h_row[j] = go * k_c;
            }
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
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, GH);

    for (int t = T - 1; t >= 0; t--) {
        const real *a = cc->act + (size_t)t * B * GH;
        const real *c_prev = cc->c + (size_t)t * BH, *c_t = c_prev + BH;
        real *dpre = cc->dpre + (size_t)t * B * GH;
        real *dfgr = FH ? cc->dfgr + (size_t)t * B * FH : cc->junk; /* unused without FGR */
        for (size_t k = 0; k < BH; k++) dh[k] = dh_out[(size_t)t * BH + k] + dh_next[k];
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        const int has_i = v.oi >= 0, has_f = v.of >= 0, has_o = v.oo >= 0;
        const real mi = has_i, mf = has_f, mo = has_o, mc = v.coupled;
        const real mg = v.g_linear, mk = v.k_linear;
        const real *zeros = cc->zeros;
        real *junk = cc->junk;
        /* absent peepholes accumulate into junk rows */
        real *restrict dpi = dp_i ? dp_i : junk + 3 * H;
        real *restrict dpf = dp_f ? dp_f : junk + 4 * H;
        real *restrict dpo = dp_o ? dp_o : junk + 5 * H;
        const real *restrict pi = v.p_i ? v.p_i : zeros;
        const real *restrict pf = v.p_f ? v.p_f : zeros;
        const real *restrict po = v.p_o ? v.p_o : zeros;
        for (int b = 0; b < B; b++) {
            const real *ab = a + (size_t)b * GH;
            real *db = dpre + (size_t)b * GH;
            const size_t k0 = (size_t)b * H;
            /* as in the forward pass: absent gates read zeros (their value is
               selected to 1, whose sigmoid derivative is 0) and write junk */
            /* db is ab (dpre shares act's memory): each j reads its gates
               before it writes their gradients, so in place is safe */
            const real *ai = has_i ? ab + v.oi : zeros;
            const real *af = has_f ? ab + v.of : zeros;
            const real *az = ab + v.oz;
            const real *ao = has_o ? ab + v.oo : zeros;
            real *dbi = has_i ? db + v.oi : junk;
            real *dbf = has_f ? db + v.of : junk + H;
            real *dbz = db + v.oz;
            real *dbo = has_o ? db + v.oo : junk + 2 * H;
            const real *restrict dfi = v.fi >= 0 ? dact_fgr + (size_t)b * FH + v.fi : zeros;
            const real *restrict dff = v.ff >= 0 ? dact_fgr + (size_t)b * FH + v.ff : zeros;
            const real *restrict dfo = v.fo >= 0 ? dact_fgr + (size_t)b * FH + v.fo : zeros;
            real *restrict gfi = v.fi >= 0 ? dfgr + (size_t)b * FH + v.fi : junk + 6 * H;
            real *restrict gff = v.ff >= 0 ? dfgr + (size_t)b * FH + v.ff : junk + 7 * H;
            real *restrict gfo = v.fo >= 0 ? dfgr + (size_t)b * FH + v.fo : junk + 8 * H;
            const real *restrict cp = c_prev + k0, *restrict cnr = c_t + k0;
            const real *restrict dhr = dh + k0;
            real *restrict dcr = dc + k0, *restrict dcn = dc_next + k0;
#pragma GCC ivdep
            for (int j = 0; j < H; j++) {
                real gi = mi * ai[j] + (1 - mi);
                real gf = mc * (1 - gi) + (1 - mc) * (mf * af[j] + (1 - mf));
                real gz = az[j];
                real go = mo * ao[j] + (1 - mo);
                real c_old = cp[j], cn = cnr[j], dhk = dhr[j];
                /* k(c_t) again rather than a T-sized cache of it: one tanh
                   costs less than the memory */
                real k_c = mk * cn + (1 - mk) * R_TANH(cn);
                /* h = o * k(c) */
                real dct = dcn[j] + dhk * go * (mk + (1 - mk) * (1 - k_c * k_c));
                real dao = (dhk * k_c + dfo[j]) * go * (1 - go);
                dct += dao * po[j];            /* o saw p_o * c_t */
                dpo[j] += dao * cn;
                dbo[j] = dao;
                gfo[j] = dao;
                dcr[j] = dct;
                /* c = i*z + f*c_prev */
                real d_i = dct * gz + dfi[j], d_z = dct * gi, d_f = dct * c_old + dff[j];
                real dcp = dct * gf;
                d_i -= mc * d_f; /* f = 1 - i */
                dbz[j] = mg * d_z + (1 - mg) * d_z * (1 - gz * gz);
                real dai = d_i * gi * (1 - gi);
                real daf = d_f * gf * (1 - gf);
                dbi[j] = dai;
                dbf[j] = daf;
                gfi[j] = dai;
                gff[j] = daf;
                dcp += dai * pi[j] + daf * pf[j]; /* i and f saw p ⊙ c_prev */
                dpi[j] += dai * c_old;
                dpf[j] += daf * c_old;
                dcn[j] = dcp;
            }
        }
        if (flow_c) flow_norms(dc, B, H, &flow_c[t]);
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, GH);
        /* gates = ... + R h_{t-1} (+ W_gg g_{t-1}): gradients into step t-1 */
        gemm(0, 0, B, H, GH, 1, dpre, GH, R, H, 0, dh_next, H);
        if (FH) gemm(0, 0, B, FH, FH, 1, dfgr, FH, params + cell->w_gg, FH, 0, dact_fgr, FH);
    }
    /* weight gradients as single GEMMs over all T*B rows */
    if (small_x) input_grads_finish(dparams + cell->w_ih, dparams + cell->bias, cc->in_work, X, GH);
    else input_grads(dparams + cell->w_ih, dparams + cell->bias, cc->dpre, x, T * B, X, GH);
    recurrent_grads(dparams + cell->w_hh, cc->dpre, cc->h, T * B, H, GH, cc->c, (size_t)(T + 1) * BH);
    if (FH) gemm(1, 0, FH, FH, T * B, 1, cc->dfgr, FH, cc->fgr_act, FH, 1, dparams + cell->w_gg, FH);
    if (dx) gemm(0, 0, T * B, X, GH, 1, cc->dpre, GH, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(real));
}
