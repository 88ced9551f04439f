/* model.c: readout, losses and the parameter arena around a cell.
   Losses (docs/cells.md, trace spec): mse is the mean over masked (t,b) rows and
   the Y components of the squared error; xent the mean over masked rows of
   -sum_k target_k log softmax_k(y); bce the mean over masked rows and
   components of the binary cross-entropy of sigmoid(y); bce_sum the same
   summed over the components of a row, mean over masked rows. */
#include "model.h"
#include "gemm.h"
#include "kernel.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

const char *loss_name(LossKind k) {
    switch (k) {
    case LOSS_MSE: return "mse";
    case LOSS_XENT: return "xent";
    case LOSS_BCE: return "bce";
    case LOSS_BCE_SUM: return "bce_sum";
    }
    return "?";
}

int loss_parse(const char *s, LossKind *out) {
    if (!strcmp(s, "mse")) *out = LOSS_MSE;
    else if (!strcmp(s, "xent")) *out = LOSS_XENT;
    else if (!strcmp(s, "bce")) *out = LOSS_BCE;
    else if (!strcmp(s, "bce_sum")) *out = LOSS_BCE_SUM;
    else return -1;
    return 0;
}

int model_make(Model *m, const char *cell_name, int X, int H, int Y, LossKind loss,
               char *err, size_t err_len) {
    return model_make_stack(m, cell_name, X, H, 1, Y, loss, err, err_len);
}

int model_make_stack(Model *m, const char *cell_name, int X, int H, int L, int Y, LossKind loss,
                     char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    if (L < 1 || L > MODEL_MAX_LAYERS) {
        snprintf(err, err_len, "layers must be 1 to %d (got %d)", MODEL_MAX_LAYERS, L);
        return -1;
    }
    for (int l = 0; l < L; l++) {
        Cell *c = &m->layer[l];
        if (cell_make_layer(c, cell_name, l ? H : X, H, l, err, err_len) != 0) return -1;
        /* every layer's tensors, renamed weight_ih_l0, ... in a stack (torch's names) */
        m->layer_off[l] = m->n_params;
        for (int k = 0; k < c->n_tensors; k++) {
            ParamTensor *t = &m->tensors[m->n_tensors++];
            *t = c->tensors[k];
            t->offset += m->n_params;
            if (L > 1) snprintf(t->name, sizeof t->name, "%s_l%d", c->tensors[k].name, l);
        }
        m->n_params += c->n_params;
        m->n_fixed += c->n_fixed;
    }
    m->L = L;
    int fewest = m->cell.ops->min_layers > 1 ? m->cell.ops->min_layers : 1;
    if (L < fewest) {
        snprintf(err, err_len, "cell '%s' is a stack of at least %d layers: give layers = %d or more (got %d)",
                 cell_name, fewest, fewest, L);
        return -1;
    }
    if (Y < 1) {
        snprintf(err, err_len, "output size must be >= 1 (got %d)", Y);
        return -1;
    }
    m->Y = Y;
    m->loss = loss;
    ParamTensor *w = &m->tensors[m->n_tensors++];
    snprintf(w->name, sizeof w->name, "readout.weight");
    w->rows = Y; w->cols = H; w->offset = m->ro_w = m->n_params;
    m->n_params += (size_t)Y * H;
    ParamTensor *b = &m->tensors[m->n_tensors++];
    snprintf(b->name, sizeof b->name, "readout.bias");
    b->rows = Y; b->cols = 1; b->offset = m->ro_b = m->n_params;
    m->n_params += (size_t)Y;
    return 0;
}

long model_param_count(const Model *m) { return (long)(m->n_params - m->n_fixed); }

double model_step_madds(const Model *m) {
    double madds = 0;
    for (int l = 0; l < m->L; l++) madds += cell_step_madds(&m->layer[l]);
    return madds;
}

const ParamTensor *model_tensor(const Model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

/* The readout's dL/dh_t = dy_t V is formed by the cell's backward step by
   step (upstream_grad), which saves a (T,B,H) array. With a wide output and
   a batch of a few rows, though, each step's product is a matrix-vector
   product, paid T times at the GEMM's fixed cost: W4 (88 outputs, B = 1)
   made 60 of them a training step. There it is formed before backward, one
   GEMM per run of steps with a readout, and the cell reads it as it reads a
   layer above's. */
#define DH_TOP_MAX_B 4
static int dh_top_ahead(const Model *m, int B) {
    return B <= DH_TOP_MAX_B && m->Y > INPUT_SMALL_X;
}

/* one function sizes and points the block, so the two cannot disagree */
static size_t work_layout(const Model *m, int T, int B, ModelWork *w) {
    size_t TB = (size_t)T * B, H = (size_t)m->cell.H, L = (size_t)m->L;
    const int pointing = w && w->block;
    size_t n = 0, off_cc[MODEL_MAX_LAYERS];
    for (int l = 0; l < m->L; l++) {
        off_cc[l] = n;
        n += cell_cache_size(&m->layer[l], T, B);
    }
    size_t off_y = n;           n += TB * m->Y;
    size_t off_dy = n;          n += TB * m->Y;
    size_t off_dx = n;          n += TB * m->cell.X;
    size_t off_h0 = n;          n += L * B * H;
    size_t off_c0 = n;          n += L * B * H;
    size_t off_ro = n;          n += (m->Y + 1) * H;
    /* between layers: one buffer for two layers, two (taken in turn) for more */
    size_t n_between = m->L > 2 ? 2 : (size_t)m->L - 1, off_between = n;
    n += n_between * TB * H;
    int reads_c = 0;
    for (int l = 1; l < m->L; l++) reads_c |= m->layer[l].reads_below_c;
    size_t off_dc_between = n;
    if (reads_c) n += n_between * TB * H;
    const int has_dh_top = dh_top_ahead(m, B);
    size_t off_dh_top = n;
    if (has_dh_top) n += TB * H;
    if (pointing) {
        for (int l = 0; l < m->L; l++) cell_cache_point(&m->layer[l], T, B, w->block + off_cc[l], &w->cc[l]);
        w->y = w->block + off_y;
        w->dy = w->block + off_dy;
        w->dx = w->block + off_dx;
        w->dh0 = w->block + off_h0;
        w->dc0 = w->block + off_c0;
        w->ro_work = w->block + off_ro;
        for (size_t k = 0; k < n_between; k++) {
            w->dh_between[k] = w->block + off_between + k * TB * H;
            if (reads_c) w->dc_between[k] = w->block + off_dc_between + k * TB * H;
        }
        w->dh_top = has_dh_top ? w->block + off_dh_top : NULL;
    }
    return n;
}

size_t model_work_size(const Model *m, int T, int B) {
    return work_layout(m, T, B, NULL) * sizeof(real) + (size_t)T * sizeof(int);
}

/* A block of 2 MiB pages where the kernel offers them on request (Linux
   transparent huge pages in "madvise" mode): the activation cache is swept
   once forward and once backward every step, and with 4 KiB pages that is a
   TLB miss every page. Plain malloc elsewhere; free() releases both. */
static void *alloc_huge(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge) return malloc(bytes);
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure leaves 4 KiB pages */
#endif
    return p;
}

int model_work_alloc(const Model *m, int T, int B, ModelWork *w) {
    memset(w, 0, sizeof *w);
    w->T = T;
    w->B = B;
    size_t n = work_layout(m, T, B, NULL);
    w->block = alloc_huge(n * sizeof(real));
    w->active = malloc((size_t)T * sizeof(int));
    if (!w->block || !w->active) {
        free(w->block);
        free(w->active);
        w->block = NULL;
        w->active = NULL;
        return -1;
    }
    memset(w->block, 0, n * sizeof(real));
    work_layout(m, T, B, w);
    return 0;
}

void model_work_free(ModelWork *w) {
    free(w->block);
    free(w->active);
    w->block = NULL;
    w->active = NULL;
}

void model_init_cell(const Model *m, real *params, Rng *rng, double scale, const CellInit *init) {
    if (scale <= 0) scale = 1.0 / sqrt((double)m->cell.H);
    for (size_t k = 0; k < m->n_params; k++) params[k] = (real)rng_range(rng, -scale, scale);
    for (int l = 0; l < m->L; l++) cell_init(&m->layer[l], params + m->layer_off[l], init, rng);
}

void model_init(const Model *m, real *params, Rng *rng, double scale, double forget_bias) {
    const CellInit init = {forget_bias, 0};
    model_init_cell(m, params, rng, scale, &init);
}

void model_zero_state(const Model *m, ModelWork *w) {
    size_t BH = (size_t)w->B * m->cell.H;
    for (int l = 0; l < m->L; l++) {
        memset(w->cc[l].h, 0, BH * sizeof(real));
        if (w->cc[l].c) memset(w->cc[l].c, 0, BH * sizeof(real));
    }
}

void model_work_use(ModelWork *w, int T, int B) {
    w->T = T;
    w->B = B;
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        w->cc[l].T = T;
        w->cc[l].B = B;
    }
}

void model_stack_forward(const Model *m, const real *params, const real *x, ModelWork *w) {
    const size_t BH = (size_t)w->B * m->cell.H;
    for (int l = 0; l < m->L; l++) {
        const Cell *c = &m->layer[l];
        /* layer l reads h_1..h_T of the layer below */
        const real *in = l ? w->cc[l - 1].h + BH : x;
        if (c->reads_below_c) w->cc[l].below_c = w->cc[l - 1].c;
        cell_forward(c, params + m->layer_off[l], in, &w->cc[l]);
    }
}

void model_stack_backward(const Model *m, const real *params, const real *x, ModelWork *w,
                          const Upstream *top, real *grads, real *flow_h, real *flow_c) {
    const int L = m->L, T = w->T;
    const size_t BH = (size_t)w->B * m->cell.H;
    Upstream up = *top;
    for (int l = L - 1; l >= 0; l--) {
        const Cell *c = &m->layer[l];
        /* the gradient this layer sends down: dL/dx of its input */
        real *dx = l ? w->dh_between[(L - 1 - l) % 2] : w->no_dx ? NULL : w->dx;
        if (c->reads_below_c) w->cc[l].below_dc = w->dc_between[(L - 1 - l) % 2];
        const real *in = l ? w->cc[l - 1].h + BH : x;
        const size_t lT = (size_t)l * T;
        cell_backward(c, params + m->layer_off[l], in, &w->cc[l], &up, grads + m->layer_off[l], dx,
                      w->dh0 + l * BH, w->dc0 + l * BH, flow_h ? flow_h + lT : NULL,
                      flow_c ? flow_c + lT : NULL);
        /* the layer below hears from this one only */
        up = (Upstream){.active = top->active, .dh_above = dx,
                        .dc_above = c->reads_below_c ? w->cc[l].below_dc : NULL};
    }
}

/* outputs of the BCE loss handled per pass: its terms wait on the stack to be
   summed in double */
#define BCE_CHUNK 64

/* Calls fn on each maximal run [t0, t1) of steps whose readout is needed, so
   that a task scored only at its last step costs one small GEMM, not T. */
#define FOR_ACTIVE_RUNS(w, t0, t1, body)                                            \
    for (int t0 = 0, t1; t0 < (w)->T; t0 = t1) {                                   \
        if (!(w)->active[t0]) { t1 = t0 + 1; continue; }                            \
        for (t1 = t0 + 1; t1 < (w)->T && (w)->active[t1]; t1++) {}                  \
        body                                                                        \
    }

double model_forward(const Model *m, const real *params, const real *x, const real *target,
                     const real *mask, ModelWork *w) {
    const int T = w->T, B = w->B, H = m->cell.H, Y = m->Y;
    const size_t BH = (size_t)B * H;
    const real *h_top = w->cc[m->L - 1].h;
    model_stack_forward(m, params, x, w);
    for (int t = 0; t < T; t++) {
        int any = w->readout_all;
        for (int b = 0; b < B && !any; b++) any = mask[(size_t)t * B + b] != 0;
        w->active[t] = any;
    }
    const real *V = params + m->ro_w, *d = params + m->ro_b;
    memset(w->y, 0, (size_t)T * B * Y * sizeof(real));
    /* y = h V^T with V^T stored: dnnl_sgemm measured 90 against 73 GFLOP/s at
       H = 512, Y = 64 on the untransposed operand */
    input_transpose(w->ro_work, V, H, Y);
    FOR_ACTIVE_RUNS(w, t0, t1, {
        real *y0 = w->y + (size_t)t0 * B * Y;
        gemm(0, 0, (t1 - t0) * B, Y, H, 1, h_top + (size_t)(t0 + 1) * BH, H, w->ro_work, Y, 0, y0, Y);
        add_bias_rows(y0, d, (t1 - t0) * B, Y);
    })
    /* loss, accumulated in double; dy is filled here too, as the same pass
       has the softmax at hand */
    double loss = 0, n_rows = 0;
    for (size_t r = 0; r < (size_t)T * B; r++) n_rows += mask[r];
    memset(w->dy, 0, (size_t)T * B * Y * sizeof(real));
    if (n_rows == 0) return 0;
    for (size_t r = 0; r < (size_t)T * B; r++) {
        real mk = mask[r];
        if (mk == 0) continue;
        const real *yr = w->y + r * Y, *tr = target + r * Y;
        real *dyr = w->dy + r * Y;
        if (m->loss == LOSS_MSE) {
            for (int k = 0; k < Y; k++) {
                double e = (double)yr[k] - tr[k];
                loss += mk * e * e;
                dyr[k] = (real)(mk * 2 * e / (n_rows * Y));
            }
        } else if (m->loss == LOSS_XENT) {
            double mx = yr[0];
            for (int k = 1; k < Y; k++) mx = yr[k] > mx ? yr[k] : mx;
            /* each exponential once, in the build's precision (vectorized),
               parked in dyr until their sum is known */
            double z = 0;
            for (int k = 0; k < Y; k++) dyr[k] = R_EXP(yr[k] - (real)mx);
            for (int k = 0; k < Y; k++) z += dyr[k];
            double logz = mx + log(z);
            for (int k = 0; k < Y; k++) {
                double p = dyr[k] / z;
                loss -= mk * tr[k] * ((double)yr[k] - logz);
                dyr[k] = (real)(mk * (p - tr[k]) / n_rows);
            }
        } else {
            /* -t log σ(a) - (1-t) log(1-σ(a)) = max(a, 0) - a t + log(1 + e), finite for
               any a, with e = exp(-|a|), which gives σ(a) too: 1/(1+e) for a >= 0, e/(1+e)
               below. In the build's precision and without a branch, so the loop
               vectorizes (W4, 88 outputs at every step: libm's log1p and exp in double
               were 14 % of its step); the terms are summed in double afterwards */
            const real scale = (real)(mk / (m->loss == LOSS_BCE_SUM ? n_rows : n_rows * Y));
            for (int k0 = 0; k0 < Y; k0 += BCE_CHUNK) {
                const int n = Y - k0 < BCE_CHUNK ? Y - k0 : BCE_CHUNK;
                real term[BCE_CHUNK];
                for (int k = 0; k < n; k++) {
                    const real a = yr[k0 + k], t = tr[k0 + k];
                    const real e = R_EXP(-select_r(a < 0, -a, a));
                    term[k] = select_r(a > 0, a, (real)0) - a * t + R_LOG1P_UNIT(e);
                    const real sigma = select_r(a >= 0, (real)1, e) / ((real)1 + e);
                    dyr[k0 + k] = scale * (sigma - t);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) sum += term[k];
                loss += mk * sum;
            }
        }
    }
    return m->loss == LOSS_XENT || m->loss == LOSS_BCE_SUM ? loss / n_rows : loss / (n_rows * Y);
}

void model_backward(const Model *m, const real *params, const real *x, ModelWork *w, real *grads,
                    real *flow_h, real *flow_c) {
    const int B = w->B, H = m->cell.H, Y = m->Y;
    const size_t BH = (size_t)B * H;
    /* y = h V^T + d: V's and d's gradients over the steps with a readout;
       dL/dh_t = dy_t V is left to the cell's backward, step by step */
    FOR_ACTIVE_RUNS(w, t0, t1, {
        readout_grads(grads + m->ro_w, grads + m->ro_b, w->dy + (size_t)t0 * B * Y,
                      w->cc[m->L - 1].h + (size_t)(t0 + 1) * BH, (t1 - t0) * B, Y, H, w->ro_work);
    })
    Upstream up = {w->dy, params + m->ro_w, Y, w->active, NULL, NULL};
    if (w->dh_top) {
        /* dh_top = dy V over the steps with a readout, 0 elsewhere (see dh_top_ahead) */
        for (int t = 0; t < w->T; t++)
            if (!w->active[t]) memset(w->dh_top + (size_t)t * BH, 0, BH * sizeof(real));
        FOR_ACTIVE_RUNS(w, t0, t1, {
            gemm(0, 0, (t1 - t0) * B, H, Y, 1, w->dy + (size_t)t0 * B * Y, Y, params + m->ro_w, H, 0,
                 w->dh_top + (size_t)t0 * BH, H);
        })
        up.dh_above = w->dh_top;
    }
    model_stack_backward(m, params, x, w, &up, grads, flow_h, flow_c);
}
