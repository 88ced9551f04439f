/* graph.c: the `graph` kind, a cell written as equations (graph.h,
   docs/cells.md "Cells written as equations").

   A compiled definition is a program of nodes, each an H-wide value per
   batch row. Before the time loop every W x of every equation is one input
   projection over all T steps (its blocks side by side, as the native
   cells' weight_ih); each step runs the program level by level: the R
   products on one argument as one (B,H)x(H,n*H) product (rec_kernel.c's,
   as the native cells'), then the elementwise nodes that needed them.
   Every value a node computes stays in the act row of its step
   (T,B,n_slots*H), so backward, reverse mode over the same program, has
   them all; the states live in h and c as for any cell.

   Backward keeps one step's adjoints in a scratch row, except those of the
   products and of W x whose values no backward reads (plain terms of a
   sum, as in every native cell): these are written over their values,
   where the weights' gradients read them after the loop as single GEMMs
   over all T*B rows; any other product's or W x's adjoint is copied there
   at the end of its step. The first write of a step to an adjoint assigns
   rather than adds (graph_parse.c plans both), so nothing is zeroed.
   Against the interpreter that zeroed and copied and ran the products on
   dnnl_sgemm, eq-lstm-peep's whole step measured 1.07x at W1 and 1.24x at
   W2 (scripts/bench_ab.py, 5 rounds, quiet). Tried and dropped: the
   elementwise nodes row by row (a row's values in L1), 0.93x at W1; a
   sum's terms and its activation in one pass over each row, 0.89x at W1
   and 0.96x at W2: at H = 64 a row is too short to pay for the switch. */
#include "graph.h"
#include "kernel.h"
#include "gemm.h"
#include "rec_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(GRAPH_MAX_PARAMS <= CELL_MAX_TENSORS, "a graph cell's tensors must fit a Cell");

typedef struct {
    const GraphDef *def; /* in the registry, which lives as long as the process */
} GraphData;

CELL_KIND_DATA_OF(GraphData)

/* the graph's own arrays in CellCache.own */
enum {
    XPROJ, /* (T,B,n_xproj*H) W x of every equation; backward: their adjoints */
    ADJ,   /* (B,(n_slots+n_adj_own+n_xproj)*H) one step's adjoints */
    ZEROS, /* (n_xproj*H) the input projection's bias: W x has none of its own */
    JUNK,  /* (n_xproj*H) where the small-input gradient loop puts that bias's gradient */
};

/* ------------------------------------------------------------------------- */
/* where values and adjoints are */

typedef struct {
    const GraphDef *d;
    const Cell *cell;
    int B, H, X, SH, AH, G;
    int XA; /* where the adjoints of W x start in an adjoint row */
    real *act, *xproj, *adj;
    real *state[GRAPH_MAX_STATES], *dstate[GRAPH_MAX_STATES], *dnext[GRAPH_MAX_STATES];
} View;

static View view_of(const Cell *cell, CellCache *cc) {
    View v;
    v.d = data_of(cell).def;
    v.cell = cell;
    v.B = cc->B;
    v.H = cell->H;
    v.X = cell->X;
    v.SH = v.d->n_slots * v.H;
    v.G = v.d->n_xproj * v.H;
    v.XA = (v.d->n_slots + v.d->n_adj_own) * v.H;
    v.AH = v.XA + v.G;
    v.act = cc->act;
    v.xproj = cc->own[XPROJ];
    v.adj = cc->own[ADJ];
    v.state[0] = cc->h;
    v.state[1] = cc->c;
    v.dstate[0] = cc->dh;
    v.dstate[1] = cc->dc;
    v.dnext[0] = cc->dh_next;
    v.dnext[1] = cc->dc_next;
    return v;
}

static real *val(const View *v, int k, int t, int *ld) {
    const GraphNode *n = &v->d->nodes[k];
    const size_t BH = (size_t)v->B * v->H;
    switch (n->loc) {
    case LOC_ACT: *ld = v->SH; return v->act + (size_t)t * v->B * v->SH + (size_t)n->idx * v->H;
    case LOC_XPROJ: *ld = v->G; return v->xproj + (size_t)t * v->B * v->G + (size_t)n->idx * v->H;
    case LOC_PREV: *ld = v->H; return v->state[n->idx] + (size_t)t * BH;
    case LOC_NEW: *ld = v->H; return v->state[n->idx] + (size_t)(t + 1) * BH;
    }
    return NULL;
}

/* where node k's adjoint is at step t (backward) */
static real *adj(const View *v, int k, int t, int *ld) {
    const GraphNode *n = &v->d->nodes[k];
    if (n->adj_in_place) return val(v, k, t, ld);
    if (n->adj_slot >= 0) {
        *ld = v->AH;
        return v->adj + (size_t)n->adj_slot * v->H;
    }
    switch (n->loc) {
    case LOC_ACT: *ld = v->AH; return v->adj + (size_t)n->idx * v->H;
    case LOC_XPROJ: *ld = v->AH; return v->adj + v->XA + (size_t)n->idx * v->H;
    case LOC_PREV: *ld = v->H; return v->dnext[n->idx];
    case LOC_NEW: *ld = v->H; return v->dstate[n->idx];
    }
    return NULL;
}

static const real *param(const Cell *cell, const real *params, int p) {
    return params + cell->tensors[p].offset;
}

/* ------------------------------------------------------------------------- */
/* forward of one node over the B rows of step t */

static void forward_node(const View *v, const real *params, int k, int t) {
    const GraphNode *n = &v->d->nodes[k];
    const int B = v->B, H = v->H;
    int lo, la = 0, lb = 0;
    real *o = val(v, k, t, &lo);
    const real *a = n->a >= 0 ? val(v, n->a, t, &la) : NULL;
    const real *bb = n->b >= 0 ? val(v, n->b, t, &lb) : NULL;
    switch (n->op) {
    case GN_SUM:
        if (!n->n_terms)
            for (int r = 0; r < B; r++) memset(o + (size_t)r * lo, 0, (size_t)H * sizeof(real));
        for (int q = 0; q < n->n_terms; q++) {
            const GraphTerm *tm = &n->terms[q];
            const real c = (real)tm->coef;
            int lt = 0;
            const real *x = tm->node >= 0 ? val(v, tm->node, t, &lt) : NULL;
            const real *p = tm->param >= 0 ? param(v->cell, params, tm->param) : NULL;
            for (int r = 0; r < B; r++) {
                real *orow = o + (size_t)r * lo;
                const real *xr = x ? x + (size_t)r * lt : NULL;
                if (!q) { /* the first term assigns: nothing to zero first */
                    if (x && p) for (int j = 0; j < H; j++) orow[j] = c * p[j] * xr[j];
                    else if (x) for (int j = 0; j < H; j++) orow[j] = c * xr[j];
                    else if (p) for (int j = 0; j < H; j++) orow[j] = c * p[j];
                    else for (int j = 0; j < H; j++) orow[j] = c;
                    continue;
                }
                if (x && p) for (int j = 0; j < H; j++) orow[j] += c * p[j] * xr[j];
                else if (x) for (int j = 0; j < H; j++) orow[j] += c * xr[j];
                else if (p) for (int j = 0; j < H; j++) orow[j] += c * p[j];
                else for (int j = 0; j < H; j++) orow[j] += c;
            }
        }
        return;
    case GN_MUL:
        for (int r = 0; r < B; r++) {
            real *orow = o + (size_t)r * lo;
            const real *ar = a + (size_t)r * la, *br = bb + (size_t)r * lb;
            for (int j = 0; j < H; j++) orow[j] = ar[j] * br[j];
        }
        return;
    default: break;
    }
    for (int r = 0; r < B; r++) {
        real *orow = o + (size_t)r * lo;
        const real *ar = a + (size_t)r * la;
        switch (n->op) {
        case GN_SIGMOID: for (int j = 0; j < H; j++) orow[j] = sigmoid_r(ar[j]); break;
        case GN_TANH: for (int j = 0; j < H; j++) orow[j] = R_TANH(ar[j]); break;
        case GN_RELU: for (int j = 0; j < H; j++) orow[j] = ar[j] > 0 ? ar[j] : 0; break;
        default: memmove(orow, ar, (size_t)H * sizeof(real)); break;
        }
    }
}

/* the R products of group g at step t, into their consecutive act slots */
static void forward_group(const View *v, int g, int t, const real *r_t) {
    const GraphGroup *gr = &v->d->groups[g];
    int la = 0;
    const real *a = val(v, gr->arg, t, &la);
    const int nH = gr->n * v->H;
    real *out = v->act + (size_t)t * v->B * v->SH + (size_t)gr->first_slot * v->H;
    rec_product(out, v->SH, a, la, r_t, v->B, v->H, nH, 1);
}

static void graph_forward(const Cell *cell, const real *params, const real *x, CellCache *cc) {
    const View v = view_of(cell, cc);
    const GraphDef *d = v.d;
    const int T = cc->T, B = v.B, X = v.X, H = v.H, G = v.G;
    const int small_x = input_is_small(X);
    real *zeros = cc->own[ZEROS];
    if (G) {
        const real *W = param(cell, params, 0);
        memset(zeros, 0, (size_t)G * sizeof(real));
        if (small_x) input_transpose(cc->in_work, W, X, G); /* projected step by step below */
        else input_project(v.xproj, x, W, zeros, T * B, X, G); /* all T steps at once */
    }
    /* each group's R^T (H, n*H), packed for rec_product (rec_kernel.c), one after the other */
    const real *r_t[GRAPH_MAX_GROUPS];
    size_t off = 0;
    for (int g = 0; g < d->n_groups; g++) {
        const int nH = d->groups[g].n * H;
        rec_prepare(cc->r_t + off, param(cell, params, d->groups[g].first_param), H, H, nH);
        r_t[g] = cc->r_t + off;
        off += (size_t)H * nH;
    }
    for (int t = 0; t < T; t++) {
        if (G && small_x)
            input_project_small(v.xproj + (size_t)t * B * G, x + (size_t)t * B * X, cc->in_work, zeros, B, X, G);
        for (int s = 0; s < d->n_steps; s++) {
            const GraphStep st = d->steps[s];
            if (st.is_group) forward_group(&v, st.id, t, r_t[st.id]);
            else forward_node(&v, params, st.id, t);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* backward */

/* o[r] = c * a[r] (* b[r] when b) over B rows, or += unless set (the
   step's first write to o: graph_parse.c's plan_adjoints) */
static void acc_rows(real *o, int lo, int set, real c, const real *a, int la, const real *b, int lb, int B,
                     int H) {
    for (int r = 0; r < B; r++) {
        real *orow = o + (size_t)r * lo;
        const real *ar = a + (size_t)r * la;
        const real *br = b ? b + (size_t)r * lb : NULL;
        if (set && br) for (int j = 0; j < H; j++) orow[j] = c * ar[j] * br[j];
        else if (set) for (int j = 0; j < H; j++) orow[j] = c * ar[j];
        else if (br) for (int j = 0; j < H; j++) orow[j] += c * ar[j] * br[j];
        else for (int j = 0; j < H; j++) orow[j] += c * ar[j];
    }
}

static void backward_node(const View *v, const real *params, real *dparams, int k, int t) {
    const GraphNode *n = &v->d->nodes[k];
    const int B = v->B, H = v->H;
    int ld = 0, lo = 0, la = 0, lb = 0;
    const real *dn = adj(v, k, t, &ld);
    const real *y = val(v, k, t, &lo);
    if (n->op == GN_SUM) {
        for (int q = 0; q < n->n_terms; q++) {
            const GraphTerm *tm = &n->terms[q];
            const real c = (real)tm->coef;
            int lx = 0, ldx = 0;
            const real *x = tm->node >= 0 ? val(v, tm->node, t, &lx) : NULL;
            const real *p = tm->param >= 0 ? param(v->cell, params, tm->param) : NULL;
            if (p) {
                /* dp += c * sum over rows of dn (⊙ x) */
                real *dp = dparams + v->cell->tensors[tm->param].offset;
                for (int r = 0; r < B; r++) {
                    const real *dr = dn + (size_t)r * ld;
                    if (x) {
                        const real *xr = x + (size_t)r * lx;
                        for (int j = 0; j < H; j++) dp[j] += c * dr[j] * xr[j];
                    } else {
                        for (int j = 0; j < H; j++) dp[j] += c * dr[j];
                    }
                }
            }
            if (x) {
                /* d x (+)= c * dn (⊙ p: every row of p is p) */
                real *dx = adj(v, tm->node, t, &ldx);
                acc_rows(dx, ldx, n->adj_first[2 + q], c, dn, ld, p, 0, B, H);
            }
        }
        return;
    }
    int lda = 0;
    real *da = adj(v, n->a, t, &lda);
    const real *a = val(v, n->a, t, &la);
    if (n->op == GN_MUL) {
        int ldb = 0;
        const real *b = val(v, n->b, t, &lb);
        acc_rows(da, lda, n->adj_first[0], 1, dn, ld, b, lb, B, H);
        real *db = adj(v, n->b, t, &ldb); /* after da: with a = b, da was the first write */
        acc_rows(db, ldb, n->adj_first[1], 1, dn, ld, a, la, B, H);
        return;
    }
    const int set = n->adj_first[0];
    for (int r = 0; r < B; r++) {
        real *dar = da + (size_t)r * lda;
        const real *dr = dn + (size_t)r * ld, *yr = y + (size_t)r * lo;
        /* the local derivative into dar[j] (assigned on the step's first write) */
#define PUT(expr) do { if (set) for (int j = 0; j < H; j++) dar[j] = (expr); \
                       else for (int j = 0; j < H; j++) dar[j] += (expr); } while (0)
        switch (n->op) {
        case GN_SIGMOID: PUT(dr[j] * yr[j] * (1 - yr[j])); break;
        case GN_TANH: PUT(dr[j] * (1 - yr[j] * yr[j])); break;
        case GN_RELU: PUT(yr[j] > 0 ? dr[j] : 0); break;
        default: PUT(dr[j]); break;
        }
#undef PUT
    }
}

/* the rows' values of a group's argument over all T steps, for dR */
static const real *arg_all(const View *v, int k, int *ld) {
    const GraphNode *n = &v->d->nodes[k];
    switch (n->loc) {
    case LOC_ACT: *ld = v->SH; return v->act + (size_t)n->idx * v->H;
    case LOC_PREV: *ld = v->H; return v->state[n->idx];
    case LOC_NEW: *ld = v->H; return v->state[n->idx] + (size_t)v->B * v->H;
    default: *ld = v->G; return v->xproj; /* never: a product's argument is stored (graph_parse.c) */
    }
}

static void graph_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                           const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                           real *flow_h, real *flow_c) {
    const View v = view_of(cell, cc);
    const GraphDef *d = v.d;
    const int T = cc->T, B = v.B, X = v.X, H = v.H, G = v.G, SH = v.SH, AH = v.AH;
    const size_t BH = (size_t)B * H;
    const int has_c = d->n_states > 1, small_x = input_is_small(X);
    memset(cc->dh_next, 0, BH * sizeof(real));
    if (has_c) memset(cc->dc_next, 0, BH * sizeof(real));
    if (G && small_x) input_grads_begin(cc->in_work, X, G);
    for (int t = T - 1; t >= 0; t--) {
        upstream_grad(up, t, B, H, cc->dh_next, cc->dh);
        memset(cc->dh_next, 0, BH * sizeof(real));
        if (has_c) {
            memcpy(cc->dc, cc->dc_next, BH * sizeof(real));
            upstream_grad_c(up, t, B, H, cc->dc);
            memset(cc->dc_next, 0, BH * sizeof(real));
        }
        if (d->adj_zero) memset(v.adj, 0, (size_t)B * AH * sizeof(real));
        for (int s = d->n_steps - 1; s >= 0; s--) {
            const GraphStep st = d->steps[s];
            if (!st.is_group) {
                backward_node(&v, params, dparams, st.id, t);
                continue;
            }
            /* a = ... R arg: d arg += d(R arg) R, the group's products at once */
            const GraphGroup *gr = &d->groups[st.id];
            int lda = 0, ldm = 0;
            real *da = adj(&v, gr->arg, t, &lda);
            /* the members' adjoints are side by side, in place or in the adjoint row */
            const real *dm = adj(&v, gr->first_node, t, &ldm);
            gemm(0, 0, B, H, gr->n * H, 1, dm, ldm, param(cell, params, gr->first_param), H,
                 gr->adj_first ? 0 : 1, da, lda);
        }
        /* the adjoints the weights' gradients need, over values now dead,
           unless they were written there */
        for (int k = 0; k < d->n_nodes; k++) {
            const GraphNode *n = &d->nodes[k];
            if ((n->op != GN_REC && n->op != GN_XPROJ) || n->adj_in_place) continue;
            int lv = 0, la = 0;
            real *vk = val(&v, k, t, &lv);
            const real *ak = adj(&v, k, t, &la);
            for (int r = 0; r < B; r++) memcpy(vk + (size_t)r * lv, ak + (size_t)r * la, (size_t)H * sizeof(real));
        }
        real *xp_t = v.xproj + (size_t)t * B * G;
        if (G && small_x) input_grads_rows(cc->in_work, xp_t, x + (size_t)t * B * X, B, X, G);
        if (flow_h) flow_norms(cc->dh, B, H, &flow_h[t]);
        if (flow_c && has_c) flow_norms(cc->dc, B, H, &flow_c[t]);
    }
    if (G) {
        real *dW = dparams + cell->tensors[0].offset;
        if (small_x) input_grads_finish(dW, cc->own[JUNK], cc->in_work, X, G);
        else input_grads(dW, v.xproj, x, T * B, X, G);
    }
    for (int g = 0; g < d->n_groups; g++) {
        const GraphGroup *gr = &d->groups[g];
        int ld = 0;
        const real *a = arg_all(&v, gr->arg, &ld);
        gemm(1, 0, gr->n * H, H, T * B, 1, v.act + (size_t)gr->first_slot * H, SH, a, ld, 1,
             dparams + cell->tensors[gr->first_param].offset, H);
    }
    if (dx) {
        if (G) gemm(0, 0, T * B, X, G, 1, v.xproj, G, param(cell, params, 0), X, 0, dx, X);
        else memset(dx, 0, (size_t)T * B * X * sizeof(real));
    }
    if (dh0) memcpy(dh0, cc->dh_next, BH * sizeof(real));
    if (dc0 && has_c) memcpy(dc0, cc->dc_next, BH * sizeof(real));
}

/* ------------------------------------------------------------------------- */
/* the kind */

static int graph_make(Cell *c, const char *name, char *err, size_t err_len) {
    const GraphDef *d = graph_find(name);
    if (!d) return 0;
    if (strlen(name) >= sizeof c->name) {
        snprintf(err, err_len, "cell '%s': name longer than %zu characters", name, sizeof c->name - 1);
        return -1;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    c->has_c = d->n_states > 1;
    c->n_blocks = d->n_slots;
    for (int p = 0; p < d->n_params; p++) {
        const GraphParam *gp = &d->params[p];
        cell_add_tensor(c, gp->name, c->H, gp->kind == 0 ? c->X : gp->kind == 1 ? c->H : 1);
    }
    for (int g = 0; g < d->n_gates; g++) cell_add_gate(c, d->eqs[d->gate_eqs[g]].name);
    GraphData gd = {d};
    CELL_KIND_DATA_SET(c, gd);
    return 1;
}

/* after h, dh, dh_next and tmp (cell.c) */
static void graph_cache(const Cell *c, int T, int B, Carver *cv, CellCache *cc) {
    const GraphDef *d = data_of(c).def;
    const size_t H = (size_t)c->H, TB = (size_t)T * B, S = (size_t)d->n_slots;
    const size_t G = (size_t)d->n_xproj * H;
    size_t n_rec = 0;
    for (int g = 0; g < d->n_groups; g++) n_rec += (size_t)d->groups[g].n;
    cc->act = carve(cv, TB * S * H);
    cc->own[XPROJ] = carve(cv, TB * G);
    cc->dpre = cc->own[XPROJ];
    cc->own[ADJ] = carve(cv, (size_t)B * ((S + (size_t)d->n_adj_own) * H + G));
    cc->own[ZEROS] = carve(cv, G);
    cc->own[JUNK] = carve(cv, G);
    cc->r_t = carve(cv, H * n_rec * H);
    if (G && input_is_small(c->X)) cc->in_work = carve(cv, (size_t)(c->X + 1) * G);
    if (d->n_states > 1) {
        cc->c = carve(cv, (TB + B) * H);
        cc->dc = carve(cv, B * H);
        cc->dc_next = carve(cv, B * H);
    }
}

static int graph_attrs(const Cell *c, const AttrSink *s) {
    /* the equations as read: the cell again from the results file alone */
    return s->put_str(s->ctx, "equations", data_of(c).def->text ? data_of(c).def->text : "");
}

static double graph_step_madds(const Cell *c) {
    const GraphDef *d = data_of(c).def;
    double n_rec = 0;
    for (int g = 0; g < d->n_groups; g++) n_rec += d->groups[g].n;
    return ((double)d->n_xproj * c->X + n_rec * c->H) * c->H;
}

const CellOps graph_ops = {
    .kind = "graph",
    /* no fixed names: each is a [cell NAME] section's */
    .modifier_intro = "Cells written as equations: a [cell NAME] section of the experiment file "
                      "(docs/cells.md), named in [grid] as cell = NAME",
    .make = graph_make,
    .cache = graph_cache,
    .forward = graph_forward,
    .backward = graph_backward,
    .init = NULL,
    .attrs = graph_attrs,
    .step_madds = graph_step_madds,
};
