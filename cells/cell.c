/* cell.c: the cell registry. Parses a cell name into kind + flags, lays out
   the named parameter tensors (cells.md: gate order i, f, g(=z), o for the
   LSTM family, r, z(=u), n for GRU; removed gates have no block), sizes the
   activation cache, and dispatches to the kernels in rnn.c, lstm.c, gru.c. */
#include "cell.h"

#include <stdio.h>
#include <string.h>

static const CellInfo registry[] = {
    {"rnn", "Elman RNN, h = tanh(W x + R h + b)", "NM + N^2 + N"},
    {"irnn", "Elman RNN with ReLU, R initialised to I, b = 0 (Le et al. 2015)", "NM + N^2 + N"},
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
    {"gru", "GRU of Cho et al. 2014, reset before the recurrent product", "3NM + 3N^2 + 3N"},
    {"gru-ra", "GRU with reset after the recurrent product (cuDNN/PyTorch form)", "3NM + 3N^2 + 3N + N"},
};

static const CellInfo modifiers[] = {
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

const CellInfo *cell_registry(int *count) {
    *count = (int)(sizeof registry / sizeof registry[0]);
    return registry;
}

const CellInfo *cell_modifiers(int *count) {
    *count = (int)(sizeof modifiers / sizeof modifiers[0]);
    return modifiers;
}

static void lstm_vanilla(CellFlags *f) {
    memset(f, 0, sizeof *f);
    f->input_gate = f->forget_gate = f->output_gate = 1;
    f->peepholes = 1;
}

/* Apply one LSTM ablation word ("nfg", "cifg", ...) to flags. */
static int apply_modifier(CellFlags *f, const char *mod) {
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

/* Canonical name from LSTM flags: a single ablation of V keeps Greff's name
   (lstm-nfg), anything else spells its modifiers on lstm-peep or lstm. */
static void lstm_canonical(const CellFlags *f, char *out, size_t n) {
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

static void add_tensor(Cell *c, const char *name, int rows, int cols, size_t *slot) {
    ParamTensor *t = &c->tensors[c->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->offset = c->n_params;
    c->n_params += (size_t)rows * cols;
    if (slot) *slot = t->offset;
}

static void layout(Cell *c) {
    int X = c->X, H = c->H;
    const CellFlags *f = &c->flags;
    c->n_tensors = 0;
    c->n_params = 0;
    c->w_ih = c->w_hh = c->bias = c->bias_rn = NO_TENSOR;
    c->peep_i = c->peep_f = c->peep_o = c->w_gg = NO_TENSOR;
    c->blk_i = c->blk_f = c->blk_z = c->blk_o = -1;
    c->fgr_i = c->fgr_f = c->fgr_o = -1;
    c->n_fgr = 0;
    if (c->kind == CELL_RNN) c->n_blocks = 1;
    else if (c->kind == CELL_GRU) c->n_blocks = 3;
    else {
        int b = 0;
        if (f->input_gate) c->blk_i = b++;
        if (f->forget_gate && !f->coupled) c->blk_f = b++;
        c->blk_z = b++;
        if (f->output_gate) c->blk_o = b++;
        c->n_blocks = b;
        if (f->full_gate_recurrence) {
            int g = 0;
            if (c->blk_i >= 0) c->fgr_i = g++;
            if (c->blk_f >= 0) c->fgr_f = g++;
            if (c->blk_o >= 0) c->fgr_o = g++;
            c->n_fgr = g;
        }
    }
    int GH = c->n_blocks * H;
    add_tensor(c, "weight_ih", GH, X, &c->w_ih);
    add_tensor(c, "weight_hh", GH, H, &c->w_hh);
    add_tensor(c, "bias", GH, 1, &c->bias);
    if (c->kind == CELL_GRU && f->reset_after) add_tensor(c, "bias_rn", H, 1, &c->bias_rn);
    if (c->kind == CELL_LSTM && f->peepholes) {
        if (c->blk_i >= 0) add_tensor(c, "peep_i", H, 1, &c->peep_i);
        if (c->blk_f >= 0) add_tensor(c, "peep_f", H, 1, &c->peep_f);
        if (c->blk_o >= 0) add_tensor(c, "peep_o", H, 1, &c->peep_o);
    }
    if (c->n_fgr > 0) add_tensor(c, "weight_gg", c->n_fgr * H, c->n_fgr * H, &c->w_gg);
}

int cell_make(Cell *c, const char *name, int X, int H, char *err, size_t err_len) {
    memset(c, 0, sizeof *c);
    if (X < 1 || H < 1) {
        snprintf(err, err_len, "cell '%s' needs input and hidden sizes >= 1 (got %d, %d)", name, X, H);
        return -1;
    }
    c->X = X;
    c->H = H;
    char buf[CELL_NAME_MAX * 2];
    if (strlen(name) >= sizeof buf) goto unknown;
    snprintf(buf, sizeof buf, "%s", name);
    char *plus = strchr(buf, '+');
    if (plus) *plus = '\0';
    const char *base = buf;
    CellFlags *f = &c->flags;
    if (!strcmp(base, "rnn") || !strcmp(base, "irnn")) {
        c->kind = CELL_RNN;
        f->relu = !strcmp(base, "irnn");
    } else if (!strcmp(base, "gru") || !strcmp(base, "gru-ra")) {
        c->kind = CELL_GRU;
        f->reset_after = !strcmp(base, "gru-ra");
    } else if (!strncmp(base, "lstm", 4)) {
        c->kind = CELL_LSTM;
        lstm_vanilla(f);
        if (!strcmp(base, "lstm")) f->peepholes = 0;
        else if (!strcmp(base, "lstm-1997")) { f->peepholes = 0; f->forget_gate = 0; }
        else if (!strcmp(base, "lstm-peep")) {}
        else if (base[4] != '-' || apply_modifier(f, base + 5) != 0) goto unknown;
    } else {
        goto unknown;
    }
    /* '+' modifiers compose ablations (LSTM family only) */
    char *mod = plus ? plus + 1 : NULL;
    while (mod) {
        char *next = strchr(mod, '+');
        if (next) *next++ = '\0';
        if (c->kind != CELL_LSTM || apply_modifier(f, mod) != 0) goto unknown;
        mod = next;
    }
    if (c->kind == CELL_LSTM) {
        if (f->coupled && (!f->input_gate || !f->forget_gate)) {
            snprintf(err, err_len, "cell '%s': coupled gates (cifg) need both the input and the forget gate", name);
            return -1;
        }
        lstm_canonical(f, c->name, sizeof c->name);
    } else {
        snprintf(c->name, sizeof c->name, "%.*s", CELL_NAME_MAX - 1, base);
    }
    layout(c);
    return 0;
unknown:
    snprintf(err, err_len, "unknown cell '%s' (try: rnnbench list cells)", name);
    return -1;
}

/* ------------------------------------------------------------------------- */
/* activation cache */

static real *carve(real **cursor, size_t n) {
    real *p = *cursor;
    *cursor += n;
    return p;
}

/* One function both sizes and points the cache, so the two cannot disagree. */
static size_t cache_layout(const Cell *c, int T, int B, real *block, CellCache *cc) {
    CellCache tmp;
    if (!cc) cc = &tmp;
    memset(cc, 0, sizeof *cc);
    cc->T = T;
    cc->B = B;
    size_t H = (size_t)c->H, TB = (size_t)T * B, GH = (size_t)c->n_blocks * H;
    size_t FH = (size_t)c->n_fgr * H;
    real *cur = block; /* NULL when only sizing: pointer arithmetic stays unused */
    size_t total = 0;
#define CARVE(member, n) do { size_t n_ = (n); cc->member = block ? carve(&cur, n_) : NULL; total += n_; } while (0)
    CARVE(h, (TB + B) * H);
    CARVE(dh, B * H);
    CARVE(dh_next, B * H);
    CARVE(tmp, B * GH);
    if (c->kind == CELL_RNN) CARVE(r_t, H * H);
    if (c->kind != CELL_RNN) CARVE(act, TB * GH);
    if (c->X <= INPUT_SMALL_X) CARVE(in_work, (size_t)(c->X + 1) * GH);
    /* the LSTM's and gru-ra's backward write pre-activation gradients over the
       gate activations: a T-sized block fewer */
    if (c->kind == CELL_LSTM || c->flags.reset_after) cc->dpre = cc->act;
    else CARVE(dpre, TB * GH);
    if (c->kind == CELL_LSTM) {
        CARVE(c, (TB + B) * H);
        CARVE(dc, B * H);
        CARVE(r_t, H * GH);
        CARVE(dc_next, B * H);
        if (FH) {
            CARVE(fgr_act, (TB + B) * FH);
            CARVE(dfgr, TB * FH);
            CARVE(dact_fgr, B * FH);
        }
    }
    if (c->kind == CELL_GRU) {
        CARVE(aux, TB * H);
        CARVE(r_t, H * GH);
        if (c->flags.reset_after) CARVE(dhn, TB * H);
    }
#undef CARVE
    return total;
}

size_t cell_cache_size(const Cell *cell, int T, int B) { return cache_layout(cell, T, B, NULL, NULL); }

void cell_cache_point(const Cell *cell, int T, int B, real *block, CellCache *cc) {
    cache_layout(cell, T, B, block, cc);
}

/* ------------------------------------------------------------------------- */
/* dispatch */

void cell_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    switch (cell->kind) {
    case CELL_RNN: rnn_forward(cell, params, x, cc); break;
    case CELL_LSTM: lstm_forward(cell, params, x, cc); break;
    case CELL_GRU: gru_forward(cell, params, x, cc); break;
    }
}

void cell_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c) {
    switch (cell->kind) {
    case CELL_RNN: rnn_backward(cell, params, x, cc, up, dparams, dx, dh0, flow_h); break;
    case CELL_LSTM:
        lstm_backward(cell, params, x, cc, up, dparams, dx, dh0, dc0, flow_h, flow_c);
        break;
    case CELL_GRU: gru_backward(cell, params, x, cc, up, dparams, dx, dh0, flow_h); break;
    }
    if (cell->kind != CELL_LSTM) {
        if (dc0) for (size_t k = 0; k < (size_t)cc->B * cell->H; k++) dc0[k] = 0;
        if (flow_c) for (int t = 0; t < cc->T; t++) flow_c[t] = 0;
    }
}

/* ------------------------------------------------------------------------- */
/* helpers */

void add_bias_rows(real *out, const real *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        real *o = out + (size_t)r * cols;
        for (int j = 0; j < cols; j++) o[j] += bias[j];
    }
}

void sum_rows_into(real *acc, const real *m, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        const real *row = m + (size_t)r * cols;
        for (int j = 0; j < cols; j++) acc[j] += row[j];
    }
}

void flow_norms(const real *d, int B, int H, real *out) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < H; j++) s += (double)d[(size_t)b * H + j] * d[(size_t)b * H + j];
        total += sqrt(s);
    }
    *out = (real)(total / B);
}
