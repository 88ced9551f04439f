/* cwrnn.c: the Clockwork RNN of Koutník et al. 2014 (docs/cells.md
   "cwrnn"). The H units form g modules of m = H/g units with periods T_k;
   with steps numbered t = 0 … T−1, module k runs when t mod T_k = 0 and
   otherwise keeps its value:
       h_t[k] = tanh(W[k] x_t + Σ_{j ≥ k} R[k, j] h_{t-1}[j] + b[k])   if t mod T_k = 0
       h_t[k] = h_{t-1}[k]                                              otherwise
   Slower modules feed faster ones, never the reverse. weight_hh is stored
   whole (H×H) but its blocks j < k are no part of the cell: forward never
   reads them, backward leaves their gradient at zero, initialisation sets
   them to zero, and they are not counted (Cell.n_fixed).

   Names: `cwrnn` is 4 modules with periods 1, 2, 4, 8; `cwrnn+m<G>` G
   modules with periods 2^k; `cwrnn+p<T0>.<T1>...` the periods given (one
   module each, strictly increasing). The input projection (input.c) is one
   GEMM over all T steps, or with few inputs a loop per step; each step adds,
   for each running module k, one (B,H−km)x(H−km,m) product. */
#include "kernel.h"
#include "gemm.h"
#include "rec_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CW_MAX_MODULES 32
#define CW_MAX_PERIOD (1 << 30)
#define CW_DEFAULT_MODULES 4

/* what a cwrnn cell is, resolved by cwrnn_make (Cell.kind_data) */
typedef struct {
    int g;                        /* modules */
    int m;                        /* units per module, H / g */
    int period[CW_MAX_MODULES];   /* T_k */
    InputRecurrent at;            /* tensor offsets */
} CwData;

CELL_KIND_DATA_OF(CwData)

static int ticks(const CwData *d, int k, int t) { return t % d->period[k] == 0; }

/* the steps of T at which a module of period P runs: t = 0, P, 2P, ... */
static int run_steps(int T, int P) { return (T + P - 1) / P; }

/* the cwrnn's own array in CellCache.own */
enum {
    GATHER, /* the rows of dpre and h_{t-1} of the steps a slower module ran */
};

/* x (T,B,X) -> cc->h (T+1,B,H); h[0] is h_0, set by the caller. */
static void cwrnn_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const CwData d = data_of(cell);
    const int m = d.m;
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh, *b = params + d.at.bias;
    real *h = cc->h;
    const int small_x = input_is_small(X);
    if (small_x) input_transpose(cc->in_work, W, X, H);
    else input_project(h + BH, x, W, b, T * B, X, H); /* h[1..T], all steps at once */
    /* module k's block R[k, j >= k] (m rows, H - km columns), packed once
       (rec_kernel.c), one module after the other in r_t (sum m(H - km) <= H^2):
       the products are small, and dnnl_sgemm's cost per call dominated them */
    const real *packed[CW_MAX_MODULES];
    for (size_t k = 0, off = 0; k < (size_t)d.g; off += (size_t)m * (H - k * m), k++) {
        const int km = (int)k * m;
        rec_prepare(cc->r_t + off, R + (size_t)km * H + km, H, H - km, m);
        packed[k] = cc->r_t + off;
    }
    for (int t = 0; t < T; t++) {
        real *h_prev = h + (size_t)t * BH, *h_t = h_prev + BH;
        if (small_x) input_project_small(h_t, x + (size_t)t * B * X, cc->in_work, b, B, X, H);
        for (int k = 0; k < d.g; k++) {
            const int km = k * m;
            if (!ticks(&d, k, t)) {
                for (int bb = 0; bb < B; bb++)
                    memcpy(h_t + (size_t)bb * H + km, h_prev + (size_t)bb * H + km, (size_t)m * sizeof(real));
                continue;
            }
            /* module k's rows: + h_{t-1}[:, km..H) R[k, km..H)^T */
            rec_product(h_t + km, H, h_prev + km, H, packed[k], B, H - km, m, 0);
            for (int bb = 0; bb < B; bb++) {
                real *row = h_t + (size_t)bb * H + km;
                for (int j = 0; j < m; j++) row[j] = R_TANH(row[j]);
            }
        }
    }
}

static void cwrnn_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                           const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                           real *flow_h, real *flow_c) {
    (void)dc0, (void)flow_c; /* no c: cell_backward zeroes them */
    const int T = cc->T, B = cc->B, X = cell->X, H = cell->H;
    const size_t BH = (size_t)B * H;
    const CwData d = data_of(cell);
    const int m = d.m;
    const real *W = params + d.at.w_ih, *R = params + d.at.w_hh;
    real *dh = cc->dh, *dh_next = cc->dh_next;
    memset(dh_next, 0, BH * sizeof(real));
    const int small_x = input_is_small(X);
    if (small_x) input_grads_begin(cc->in_work, X, H);
    real *dpre_all = cc->dpre;
    /* module k's block R[k, j >= k] again, now as stored (m rows of H - km)
       for dpre R, packed in the memory forward's copy used: with a K of m
       (16 in W1) these products are smaller still than forward's */
    const real *packed[CW_MAX_MODULES];
    for (size_t k = 0, off = 0; k < (size_t)d.g; off += (size_t)m * (H - k * m), k++) {
        const int km = (int)k * m;
        rec_prepare_nn(cc->r_t + off, R + (size_t)km * H + km, H, m, H - km);
        packed[k] = cc->r_t + off;
    }
    for (int t = T - 1; t >= 0; t--) {
        const real *h_t = cc->h + (size_t)(t + 1) * BH;
        real *dpre = dpre_all + (size_t)t * BH;
        upstream_grad(up, t, B, H, dh_next, dh);
        if (flow_h) flow_norms(dh, B, H, &flow_h[t]);
        /* a resting module passes its gradient to h_{t-1} unchanged and has no
           pre-activation; a running one goes through tanh and R[k, j >= k] */
        for (int k = 0; k < d.g; k++) {
            const int km = k * m;
            if (ticks(&d, k, t)) {
                for (int bb = 0; bb < B; bb++) {
                    const size_t at = (size_t)bb * H + km;
#pragma GCC ivdep
                    for (int j = 0; j < m; j++) {
                        dpre[at + j] = dh[at + j] * (1 - h_t[at + j] * h_t[at + j]);
                        dh_next[at + j] = 0;
                    }
                }
            } else {
                for (int bb = 0; bb < B; bb++) {
                    const size_t at = (size_t)bb * H + km;
                    memset(dpre + at, 0, (size_t)m * sizeof(real));
                    memcpy(dh_next + at, dh + at, (size_t)m * sizeof(real));
                }
            }
        }
        for (int k = 0; k < d.g; k++) {
            const int km = k * m;
            if (!ticks(&d, k, t)) continue;
            rec_product(dh_next + km, H, dpre + km, H, packed[k], B, m, H - km, 0);
        }
        if (small_x) input_grads_rows(cc->in_work, dpre, x + (size_t)t * B * X, B, X, H);
        else sum_rows_into(dparams + d.at.bias, dpre, B, H);
    }
    if (small_x) input_grads_finish(dparams + d.at.w_ih, dparams + d.at.bias, cc->in_work, X, H);
    else input_grads(dparams + d.at.w_ih, dpre_all, x, T * B, X, H);
    /* dR[k, j >= k] += dpre[:, k]^T h_{t-1}[:, j] over the rows of the steps
       module k ran; the blocks j < k are never written: their gradient
       stays zero. A slower module's rows are gathered first: over all T*B
       rows, half or more of them zero, dR did 1.6 times the products that
       count at W1. */
    for (int k = 0; k < d.g; k++) {
        const int km = k * m, P = d.period[k], ld = H - km;
        real *dR = dparams + d.at.w_hh + (size_t)km * H + km;
        if (P == 1) {
            gemm(1, 0, m, ld, T * B, 1, dpre_all + km, H, cc->h + km, H, 1, dR, H);
            continue;
        }
        const int n = run_steps(T, P);
        real *g_dpre = cc->own[GATHER], *g_h = g_dpre + (size_t)n * B * m;
        for (int i = 0; i < n; i++)
            for (int bb = 0; bb < B; bb++) {
                const size_t from = ((size_t)i * P * B + bb) * H + km, to = (size_t)i * B + bb;
                memcpy(g_dpre + to * m, dpre_all + from, (size_t)m * sizeof(real));
                memcpy(g_h + to * ld, cc->h + from, (size_t)ld * sizeof(real));
            }
        gemm(1, 0, m, ld, n * B, 1, g_dpre, m, g_h, ld, 1, dR, H);
    }
    if (dx) gemm(0, 0, T * B, X, H, 1, dpre_all, H, W, X, 0, dx, X);
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static const CellInfo cwrnn_names[] = {
    {"cwrnn", "Clockwork RNN (Koutník et al. 2014): 4 modules of N/4 units, periods 1, 2, 4, 8",
     "NM + N + 5N^2/8"},
};

static const CellInfo cwrnn_modifiers[] = {
    {"m<G>", "G modules of N/G units (G divides N), periods 1, 2, 4, ..., 2^(G-1): NM + N + N^2(G+1)/(2G)",
     ""},
    {"p<T0>.<T1>...", "one module per period, strictly increasing, e.g. cwrnn+p1.3.9.27", ""},
};

/* a whole number in [1, max] from s, ending at *end; 0 when there is none */
static long read_count(const char *s, const char **end, long max) {
    if (*s < '0' || *s > '9') return 0;
    errno = 0;
    char *e;
    long v = strtol(s, &e, 10);
    *end = e;
    if (errno || v < 1 || v > max) return 0;
    return v;
}

/* the option after "cwrnn+" into d (g and period); 1, or 0 with the reason */
static int read_option(const char *opt, CwData *d, char *why, size_t n) {
    const char *end;
    if (opt[0] == 'm') {
        long g = read_count(opt + 1, &end, CW_MAX_MODULES);
        if (!g || *end) {
            snprintf(why, n, "modules: expected m<G> with G from 1 to %d, got '%s'", CW_MAX_MODULES, opt);
            return 0;
        }
        d->g = (int)g;
        for (int k = 0; k < d->g; k++) d->period[k] = 1 << k;
        return 1;
    }
    if (opt[0] == 'p') {
        const char *s = opt + 1;
        d->g = 0;
        for (;;) {
            long p = read_count(s, &end, CW_MAX_PERIOD);
            if (!p || (*end && *end != '.')) {
                snprintf(why, n, "periods: expected p<T0>.<T1>... of whole numbers from 1 to %d, got '%s'",
                         CW_MAX_PERIOD, opt);
                return 0;
            }
            if (d->g == CW_MAX_MODULES) {
                snprintf(why, n, "periods: more than %d modules in '%s'", CW_MAX_MODULES, opt);
                return 0;
            }
            if (d->g && p <= d->period[d->g - 1]) {
                snprintf(why, n, "periods: must increase strictly (slower modules come later), got '%s'", opt);
                return 0;
            }
            d->period[d->g++] = (int)p;
            if (!*end) return 1;
            s = end + 1;
        }
    }
    snprintf(why, n, "expected +m<G> (modules) or +p<T0>.<T1>... (periods), got '+%s'", opt);
    return 0;
}

/* the shortest name of d: cwrnn, cwrnn+m<G> when the periods are 2^k, else cwrnn+p... */
static int canonical_name(const CwData *d, char *out, size_t n) {
    int powers = 1;
    for (int k = 0; k < d->g; k++) powers &= d->period[k] == 1 << k;
    if (powers && d->g == CW_DEFAULT_MODULES) return snprintf(out, n, "cwrnn") < (int)n;
    if (powers) return snprintf(out, n, "cwrnn+m%d", d->g) < (int)n;
    size_t len = (size_t)snprintf(out, n, "cwrnn+p");
    for (int k = 0; k < d->g && len < n; k++)
        len += (size_t)snprintf(out + len, n - len, "%s%d", k ? "." : "", d->period[k]);
    return len < n;
}

static int cwrnn_make(Cell *c, const char *name, char *err, size_t err_len) {
    if (strcmp(name, "cwrnn") && strncmp(name, "cwrnn+", 6)) return 0;
    CwData d = {0};
    d.g = CW_DEFAULT_MODULES;
    for (int k = 0; k < d.g; k++) d.period[k] = 1 << k;
    if (name[5] == '+') {
        char why[192];
        if (strchr(name + 6, '+')) {
            snprintf(err, err_len, "cell '%s': give one of +m<G> and +p<T0>.<T1>...", name);
            return -1;
        }
        if (!read_option(name + 6, &d, why, sizeof why)) {
            snprintf(err, err_len, "cell '%s': %s", name, why);
            return -1;
        }
    }
    if (c->H % d.g) {
        snprintf(err, err_len, "cell '%s': its %d modules must divide the hidden size, got %d", name, d.g, c->H);
        return -1;
    }
    if (!canonical_name(&d, c->name, sizeof c->name)) {
        snprintf(err, err_len, "cell '%s': its name is longer than %d characters", name, CELL_NAME_MAX - 1);
        return -1;
    }
    d.m = c->H / d.g;
    d.at = cell_add_input_recurrent(c, 1);
    /* the blocks of weight_hh below the block diagonal: m^2 g(g-1)/2 */
    c->n_fixed = (size_t)d.m * d.m * d.g * (d.g - 1) / 2;
    CELL_KIND_DATA_SET(c, d);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void cwrnn_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    const CwData d = data_of(c);
    size_t H = (size_t)c->H, gather = 0;
    cc->r_t = carve(cv, H * H);
    if (input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * H);
    cc->dpre = carve(cv, (size_t)T * B * H);
    /* the slower modules' rows, one module at a time: module k's dpre (m
       wide) and h (H - km wide) */
    for (int k = 0; k < d.g; k++) {
        const size_t rows = (size_t)run_steps(T, d.period[k]) * B;
        if (d.period[k] > 1 && rows * (H - (size_t)k * d.m + d.m) > gather)
            gather = rows * (H - (size_t)k * d.m + d.m);
    }
    if (gather) cc->own[GATHER] = carve(cv, gather);
}

/* the blocks j < k of weight_hh are no part of the cell: zero */
static void cwrnn_init(const Cell *c, real *params, const CellInit *init, Rng *rng) {
    (void)init, (void)rng;
    const CwData d = data_of(c);
    const int H = c->H;
    real *R = params + d.at.w_hh;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < (i / d.m) * d.m; j++) R[(size_t)i * H + j] = 0;
}

static int cwrnn_attrs(const Cell *c, const AttrSink *s) {
    const CwData d = data_of(c);
    char periods[CW_MAX_MODULES * 12] = "";
    size_t len = 0;
    for (int k = 0; k < d.g; k++)
        len += (size_t)snprintf(periods + len, sizeof periods - len, "%s%d", k ? "," : "", d.period[k]);
    int rc = s->put_int(s->ctx, "modules", d.g);
    return rc | s->put_str(s->ctx, "periods", periods);
}

/* the mean over steps: the input projection of every unit, and module k's
   recurrent product (H - km columns) one step in T_k */
static double cwrnn_step_madds(const Cell *c) {
    const CwData d = data_of(c);
    double madds = (double)c->X * c->H;
    for (int k = 0; k < d.g; k++) madds += (double)d.m * (c->H - k * d.m) / d.period[k];
    return madds;
}

const CellOps cwrnn_ops = {
    .kind = "cwrnn",
    .names = cwrnn_names,
    .n_names = (int)(sizeof cwrnn_names / sizeof cwrnn_names[0]),
    .modifier_intro = "Clockwork RNN options, one of them, e.g. cwrnn+m8 or cwrnn+p1.4.16 (default: +m4):",
    .modifiers = cwrnn_modifiers,
    .n_modifiers = (int)(sizeof cwrnn_modifiers / sizeof cwrnn_modifiers[0]),
    .make = cwrnn_make,
    .cache = cwrnn_cache,
    .forward = cwrnn_forward,
    .backward = cwrnn_backward,
    .init = cwrnn_init,
    .attrs = cwrnn_attrs,
    .step_madds = cwrnn_step_madds,
};
