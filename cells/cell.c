/* cell.c: the registry of cell kinds (kinds.h) and what every kind shares:
   finding the kind a name belongs to, the tensor and gate layout helpers,
   the common head of the activation cache, and calls through the kind's
   CellOps. Which kinds exist and what each computes is in their own files. */
#include "kernel.h"

#include <stdio.h>
#include <string.h>

#define CELL_KIND(k) extern const CellOps k##_ops;
#include "kinds.h"
#undef CELL_KIND

static const CellOps *const kinds[] = {
#define CELL_KIND(k) &k##_ops,
#include "kinds.h"
#undef CELL_KIND
};
enum { N_KINDS = (int)(sizeof kinds / sizeof kinds[0]) };

int cell_kind_count(void) { return N_KINDS; }
const CellOps *cell_kind_at(int k) { return k >= 0 && k < N_KINDS ? kinds[k] : NULL; }

int cell_make(Cell *c, const char *name, int X, int H, char *err, size_t err_len) {
    return cell_make_layer(c, name, X, H, 0, err, err_len);
}

int cell_make_layer(Cell *c, const char *name, int X, int H, int layer, char *err, size_t err_len) {
    memset(c, 0, sizeof *c);
    if (X < 1 || H < 1) {
        snprintf(err, err_len, "cell '%s' needs input and hidden sizes >= 1 (got %d, %d)", name, X, H);
        return -1;
    }
    /* a name longer than any canonical one with every modifier spelled out
       is nobody's */
    if (strlen(name) < 2 * CELL_NAME_MAX) {
        for (int k = 0; k < N_KINDS; k++) {
            memset(c, 0, sizeof *c);
            c->X = X;
            c->H = H;
            c->layer = layer;
            int mine = kinds[k]->make(c, name, err, err_len);
            if (mine < 0) return -1;
            if (mine > 0) {
                c->ops = kinds[k];
                return 0;
            }
        }
    }
    snprintf(err, err_len, "unknown cell '%s' (try: rnnbench list cells)", name);
    return -1;
}

size_t cell_add_tensor(Cell *c, const char *name, int rows, int cols) {
    ParamTensor *t = &c->tensors[c->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->offset = c->n_params;
    c->n_params += (size_t)rows * cols;
    return t->offset;
}

void cell_add_gate(Cell *c, const char *name) {
    if (c->n_gates >= CELL_MAX_GATES) return; /* the statistics keep the first CELL_MAX_GATES */
    snprintf(c->gate_names[c->n_gates++], sizeof c->gate_names[0], "%s", name);
}

InputRecurrent cell_add_input_recurrent(Cell *c, int n_blocks) {
    InputRecurrent ir;
    int GH = n_blocks * c->H;
    c->n_blocks = n_blocks;
    ir.w_ih = cell_add_tensor(c, "weight_ih", GH, c->X);
    ir.w_hh = cell_add_tensor(c, "weight_hh", GH, c->H);
    ir.bias = cell_add_tensor(c, "bias", GH, 1);
    return ir;
}

/* ------------------------------------------------------------------------- */
/* activation cache: h and backward's per-step rows first, then the kind's own */

static size_t cache_layout(const Cell *c, int T, int B, real *block, CellCache *cc) {
    memset(cc, 0, sizeof *cc);
    cc->T = T;
    cc->B = B;
    Carver cv = {block, 0};
    size_t H = (size_t)c->H, TB = (size_t)T * B;
    cc->h = carve(&cv, (TB + B) * H);
    cc->dh = carve(&cv, B * H);
    cc->dh_next = carve(&cv, B * H);
    cc->tmp = carve(&cv, B * (size_t)c->n_blocks * H);
    c->ops->cache(c, T, B, &cv, cc);
    return cv.total;
}

size_t cell_cache_size(const Cell *cell, int T, int B) {
    CellCache unused;
    return cache_layout(cell, T, B, NULL, &unused);
}

void cell_cache_point(const Cell *cell, int T, int B, real *block, CellCache *cc) {
    cache_layout(cell, T, B, block, cc);
}

/* ------------------------------------------------------------------------- */
/* through the kind's table */

void cell_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    cell->ops->forward(cell, params, x, cc);
}

void cell_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c) {
    cell->ops->backward(cell, params, x, cc, up, dparams, dx, dh0, dc0, flow_h, flow_c);
    if (!cell->has_c) {
        if (dc0) memset(dc0, 0, (size_t)cc->B * cell->H * sizeof(real));
        if (flow_c) memset(flow_c, 0, (size_t)cc->T * sizeof(real));
    }
}

void cell_init(const Cell *cell, real *params, const CellInit *init, Rng *rng) {
    if (cell->ops->init) cell->ops->init(cell, params, init, rng);
}

int cell_write_attrs(const Cell *cell, const AttrSink *sink) {
    int rc = sink->put_str(sink->ctx, "kind", cell->ops->kind);
    return rc | cell->ops->attrs(cell, sink);
}

double cell_step_madds(const Cell *cell) { return cell->ops->step_madds(cell); }
