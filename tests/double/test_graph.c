/* test_graph.c: cells written as equations (cells/graph*.c), in double.

   Equivalence: the equations of lstm-peep, gru-ra, mgu, rnn and irnn as
   graph cells, given the native cell's parameters (its blocks copied into
   the graph's tensors), match the native cell's loss, outputs and every
   gradient (parameters, dL/dx, dL/dh_0, dL/dc_0) to 1e-10, at a narrow
   input (the small-X loops) and a wide one (the GEMM path), in one layer
   and in a stack of two.
   Gradients: central finite differences (Richardson-extrapolated, as
   test_grad.c) on hand-written graphs that use every operation, on random
   graphs from graph_random_text and on mutations (graph_mutate_text) of
   lstm-peep's equations.
   Parsing: what a definition's errors say and where (line, column). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/graph.h"
#include "../../cells/model.h"

#define EQ_TOL 1e-10

static const char *const LSTM_PEEP =
    "state = h, c\n"
    "i = sigmoid(W x + R h + p . c + b)\n"
    "f = sigmoid(W x + R h + p . c + b)\n"
    "z = tanh(W x + R h + b)\n"
    "c' = f * c + i * z\n"
    "o = sigmoid(W x + R h + p . c' + b)\n"
    "h' = o * tanh(c')\n";

static const char *const GRU_RA =
    "state = h\n"
    "r = sigmoid(W x + R h + b)\n"
    "u = sigmoid(W x + R h + b)\n"
    "n = tanh(W x + b + r * (R h + b))\n"
    "h' = (1 - u) * n + u * h\n";

static const char *const MGU =
    "state = h\n"
    "f = sigmoid(W x + R h + b)\n"
    "n = tanh(W x + R (f * h) + b)\n"
    "h' = (1 - f) * h + f * n\n";

static const char *const RNN = "state = h\nh' = tanh(W x + R h + b)\n";
static const char *const IRNN = "state = h\nh' = relu(W x + R h + b)\n";

static void define(const char *name, const char *text) {
    char err[512];
    int rc = graph_define_text(name, text, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: %s", name, err);
}

/* graph tensor <- rows [block*H, (block+1)*H) of the native tensor */
typedef struct {
    const char *graph, *native;
    int block;
} Map;

typedef struct {
    const char *native, *graph, *text;
    const Map *map;
    int n_map;
} Pair;

static const Map LSTM_MAP[] = {
    {"weight_ih_i", "weight_ih", 0}, {"weight_ih_f", "weight_ih", 1}, {"weight_ih_z", "weight_ih", 2},
    {"weight_ih_o", "weight_ih", 3}, {"weight_hh_i", "weight_hh", 0}, {"weight_hh_f", "weight_hh", 1},
    {"weight_hh_z", "weight_hh", 2}, {"weight_hh_o", "weight_hh", 3}, {"bias_i", "bias", 0},
    {"bias_f", "bias", 1},           {"bias_z", "bias", 2},           {"bias_o", "bias", 3},
    {"peep_i_c", "peep_i", 0},       {"peep_f_c", "peep_f", 0},       {"peep_o_c", "peep_o", 0},
};
static const Map GRU_RA_MAP[] = {
    {"weight_ih_r", "weight_ih", 0}, {"weight_ih_u", "weight_ih", 1}, {"weight_ih_n", "weight_ih", 2},
    {"weight_hh_r", "weight_hh", 0}, {"weight_hh_u", "weight_hh", 1}, {"weight_hh_n", "weight_hh", 2},
    {"bias_r", "bias", 0},           {"bias_u", "bias", 1},           {"bias_n", "bias", 2},
    {"bias_n_2", "bias_rn", 0},
};
static const Map MGU_MAP[] = {
    {"weight_ih_f", "weight_ih", 0}, {"weight_ih_n", "weight_ih", 1}, {"weight_hh_f", "weight_hh", 0},
    {"weight_hh_n", "weight_hh", 1}, {"bias_f", "bias", 0},           {"bias_n", "bias", 1},
};
static const Map RNN_MAP[] = {
    {"weight_ih_h", "weight_ih", 0}, {"weight_hh_h", "weight_hh", 0}, {"bias_h", "bias", 0},
};

#define PAIR(nat, gr, text, map) {nat, gr, text, map, (int)(sizeof map / sizeof map[0])}
static const Pair PAIRS[] = {
    PAIR("lstm-peep", "g-lstm-peep", LSTM_PEEP, LSTM_MAP),
    PAIR("gru-ra", "g-gru-ra", GRU_RA, GRU_RA_MAP),
    PAIR("mgu", "g-mgu", MGU, MGU_MAP),
    PAIR("rnn", "g-rnn", RNN, RNN_MAP),
    PAIR("irnn", "g-irnn", IRNN, RNN_MAP),
};

static void define_pairs(void) {
    for (size_t k = 0; k < sizeof PAIRS / sizeof PAIRS[0]; k++) define(PAIRS[k].graph, PAIRS[k].text);
}

/* a model with its work, parameters, data and initial state */
typedef struct {
    Model m;
    ModelWork w;
    real *params, *grads, *x, *target, *mask, *h0, *c0;
    double loss;
} Problem;

static void problem_make(Problem *p, const char *cell, int L, int T, int B, int X, int H, int Y, uint64_t seed) {
    char err[256];
    cr_assert_eq(model_make_stack(&p->m, cell, X, H, L, Y, LOSS_MSE, err, sizeof err), 0, "%s: %s", cell, err);
    cr_assert_eq(model_work_alloc(&p->m, T, B, &p->w), 0);
    size_t TB = (size_t)T * B;
    p->params = calloc(p->m.n_params, sizeof(real));
    p->grads = calloc(p->m.n_params, sizeof(real));
    p->x = malloc(TB * X * sizeof(real));
    p->target = malloc(TB * Y * sizeof(real));
    p->mask = malloc(TB * sizeof(real));
    p->h0 = malloc((size_t)L * B * H * sizeof(real));
    p->c0 = malloc((size_t)L * B * H * sizeof(real));
    Rng rng;
    rng_seed(&rng, seed);
    model_init(&p->m, p->params, &rng, 0.6, NAN);
    for (size_t k = 0; k < TB * X; k++) p->x[k] = (real)rng_range(&rng, -1, 1);
    for (size_t k = 0; k < TB * Y; k++) p->target[k] = (real)rng_range(&rng, -1, 1);
    for (size_t r = 0; r < TB; r++) p->mask[r] = (real)(rng_uniform(&rng) < 0.7);
    p->mask[TB - 1] = 1;
    for (size_t k = 0; k < (size_t)L * B * H; k++) {
        p->h0[k] = (real)rng_range(&rng, -0.5, 0.5);
        p->c0[k] = (real)rng_range(&rng, -0.5, 0.5);
    }
}

static void problem_free(Problem *p) {
    model_work_free(&p->w);
    free(p->params); free(p->grads); free(p->x); free(p->target); free(p->mask);
    free(p->h0); free(p->c0);
}

static double problem_loss(Problem *p) {
    size_t BH = (size_t)p->w.B * p->m.cell.H;
    for (int l = 0; l < p->m.L; l++) {
        memcpy(p->w.cc[l].h, p->h0 + l * BH, BH * sizeof(real));
        if (p->w.cc[l].c) memcpy(p->w.cc[l].c, p->c0 + l * BH, BH * sizeof(real));
    }
    return model_forward(&p->m, p->params, p->x, p->target, p->mask, &p->w);
}

static void problem_grad(Problem *p) {
    memset(p->grads, 0, p->m.n_params * sizeof(real));
    p->loss = problem_loss(p);
    model_backward(&p->m, p->params, p->x, &p->w, p->grads, NULL, NULL);
}

static const ParamTensor *tensor(const Model *m, const char *name, int l) {
    char full[40];
    if (m->L > 1) snprintf(full, sizeof full, "%s_l%d", name, l);
    else snprintf(full, sizeof full, "%s", name);
    const ParamTensor *t = model_tensor(m, full);
    cr_assert(t, "no tensor %s", full);
    return t;
}

static double max_diff(const real *a, const real *b, size_t n) {
    double worst = 0;
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)a[k] - b[k]) / fmax(1, fabs((double)a[k]));
        if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

/* every mapped tensor's gradient, native against graph (expects each within
   EQ_TOL); returns the worst difference */
static double compare_grads(const Pair *pr, const Problem *nat, const Problem *gr, int L, int X, const char *how) {
    double worst = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < pr->n_map; k++) {
            const ParamTensor *g = tensor(&gr->m, pr->map[k].graph, l), *n = tensor(&nat->m, pr->map[k].native, l);
            size_t block = (size_t)g->rows * g->cols;
            double e = max_diff(nat->grads + n->offset + pr->map[k].block * block, gr->grads + g->offset, block);
            cr_expect(e <= EQ_TOL, "%s L=%d X=%d%s: gradient of %s (layer %d) differs by %.3g", pr->graph, L, X, how,
                      pr->map[k].graph, l, e);
            worst = fmax(worst, e);
        }
    return worst;
}

static void check_pair(const Pair *pr, int L, int X) {
    const int T = 13, B = 3, H = 5, Y = 2;
    Problem nat, gr;
    problem_make(&nat, pr->native, L, T, B, X, H, Y, 7);
    problem_make(&gr, pr->graph, L, T, B, X, H, Y, 7);
    memcpy(gr.x, nat.x, (size_t)T * B * X * sizeof(real));
    memcpy(gr.h0, nat.h0, (size_t)L * B * H * sizeof(real));
    memcpy(gr.c0, nat.c0, (size_t)L * B * H * sizeof(real));
    cr_expect_eq(model_param_count(&gr.m), model_param_count(&nat.m), "%s: %ld parameters, %s has %ld",
                 pr->graph, model_param_count(&gr.m), pr->native, model_param_count(&nat.m));
    /* the native parameters into the graph's tensors */
    for (int l = 0; l < L; l++)
        for (int k = 0; k < pr->n_map; k++) {
            const ParamTensor *g = tensor(&gr.m, pr->map[k].graph, l), *n = tensor(&nat.m, pr->map[k].native, l);
            size_t block = (size_t)g->rows * g->cols;
            memcpy(gr.params + g->offset, nat.params + n->offset + pr->map[k].block * block, block * sizeof(real));
        }
    for (const char *ro = "readout.weight"; ro; ro = strcmp(ro, "readout.bias") ? "readout.bias" : NULL) {
        const ParamTensor *g = model_tensor(&gr.m, ro), *n = model_tensor(&nat.m, ro);
        memcpy(gr.params + g->offset, nat.params + n->offset, (size_t)n->rows * n->cols * sizeof(real));
    }
    problem_grad(&nat);
    problem_grad(&gr);
    const char *what = pr->graph;
    cr_expect(fabs(nat.loss - gr.loss) <= EQ_TOL * fmax(1, fabs(nat.loss)), "%s L=%d X=%d: loss %.17g vs %.17g",
              what, L, X, gr.loss, nat.loss);
    cr_expect(max_diff(nat.w.y, gr.w.y, (size_t)T * B * Y) <= EQ_TOL, "%s: outputs differ", what);
    const double worst = compare_grads(pr, &nat, &gr, L, X, "");
    /* every graph tensor was mapped: the gradients above are all of them */
    cr_expect_eq(gr.m.n_tensors, L * pr->n_map + 2, "%s: %d tensors", what, gr.m.n_tensors);
    for (const char *ro = "readout.weight"; ro; ro = strcmp(ro, "readout.bias") ? "readout.bias" : NULL) {
        const ParamTensor *g = model_tensor(&gr.m, ro), *n = model_tensor(&nat.m, ro);
        cr_expect(max_diff(nat.grads + n->offset, gr.grads + g->offset, (size_t)n->rows * n->cols) <= EQ_TOL,
                  "%s: %s gradient differs", what, ro);
    }
    double e = max_diff(nat.w.dx, gr.w.dx, (size_t)T * B * X);
    cr_expect(e <= EQ_TOL, "%s L=%d X=%d: dL/dx differs by %.3g", what, L, X, e);
    e = max_diff(nat.w.dh0, gr.w.dh0, (size_t)L * B * H);
    cr_expect(e <= EQ_TOL, "%s L=%d X=%d: dL/dh0 differs by %.3g", what, L, X, e);
    if (nat.m.cell.has_c) {
        e = max_diff(nat.w.dc0, gr.w.dc0, (size_t)L * B * H);
        cr_expect(e <= EQ_TOL, "%s L=%d X=%d: dL/dc0 differs by %.3g", what, L, X, e);
    }
    cr_log_info("%s vs %s, L=%d X=%d: worst parameter gradient difference %.2e", what, pr->native, L, X, worst);
    /* without dL/dx, as in training (ModelWork.no_dx): the same gradients */
    gr.w.no_dx = 1;
    problem_grad(&gr);
    compare_grads(pr, &nat, &gr, L, X, ", no dL/dx");
    problem_free(&nat);
    problem_free(&gr);
}

Test(graph, matches_native_cells) {
    define_pairs();
    for (size_t k = 0; k < sizeof PAIRS / sizeof PAIRS[0]; k++) {
        check_pair(&PAIRS[k], 1, 3);  /* small input: the per-step loops */
        check_pair(&PAIRS[k], 1, 20); /* wide input: one GEMM over all steps */
        check_pair(&PAIRS[k], 2, 3);  /* a stack of two */
    }
}

/* ------------------------------------------------------------------------- */
/* finite differences */

static double numeric(Problem *p, real *v) {
    real saved = *v;
    double d[3], h = 1e-3;
    for (int k = 0; k < 3; k++, h /= 2) {
        *v = saved + h; double lp = problem_loss(p);
        *v = saved - h; double lm = problem_loss(p);
        d[k] = (lp - lm) / (2 * h);
    }
    *v = saved;
    double r1 = (4 * d[1] - d[0]) / 3, r2 = (4 * d[2] - d[1]) / 3;
    return (16 * r2 - r1) / 15;
}

static double check_block(Problem *p, real *v, const real *g, size_t n) {
    double worst = 0;
    for (size_t k = 0; k < n; k++) {
        double num = numeric(p, &v[k]);
        double diff = fabs(num - g[k]);
        double e = diff <= 1e-11 ? 0 : diff / fmax(fmax(fabs(num), fabs(g[k])), 1e-8);
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* every gradient of cell `name` against finite differences; L layers */
static void gradcheck(const char *name, const char *text, int L, int X) {
    const int T = 8, B = 2, H = 3, Y = 2;
    Problem p;
    problem_make(&p, name, L, T, B, X, H, Y, 11);
    problem_grad(&p);
    cr_assert(isfinite(p.loss), "%s: loss %g\n%s", name, p.loss, text);
    size_t nx = (size_t)T * B * X, nh = (size_t)L * B * H;
    real *dx = malloc(nx * sizeof(real)), *dh0 = malloc(nh * sizeof(real)), *dc0 = malloc(nh * sizeof(real));
    memcpy(dx, p.w.dx, nx * sizeof(real));
    memcpy(dh0, p.w.dh0, nh * sizeof(real));
    memcpy(dc0, p.w.dc0, nh * sizeof(real));
    for (int i = 0; i < p.m.n_tensors; i++) {
        const ParamTensor *t = &p.m.tensors[i];
        double e = check_block(&p, p.params + t->offset, p.grads + t->offset, (size_t)t->rows * t->cols);
        cr_expect(e < 1e-6, "%s: gradient of %s wrong (rel err %.3g)\n%s", name, t->name, e, text);
    }
    cr_expect(check_block(&p, p.x, dx, nx) < 1e-6, "%s: dL/dx wrong\n%s", name, text);
    cr_expect(check_block(&p, p.h0, dh0, nh) < 1e-6, "%s: dL/dh0 wrong\n%s", name, text);
    if (p.m.cell.has_c) cr_expect(check_block(&p, p.c0, dc0, nh) < 1e-6, "%s: dL/dc0 wrong\n%s", name, text);
    free(dx); free(dh0); free(dc0);
    problem_free(&p);
}

/* every operation at least once: constants and coefficients, -, unary -,
   ⊙ and −, identity, relu away from its kink (on a sum kept positive),
   R of an expression and of a new state, two products of one equation on
   the same argument, a peephole on an expression */
static const char *const HAND[] = {
    "state = h, c\n"
    "a = sigmoid(W x + R h - 0.5 * R c + p . c + b)\n"
    "g = identity(W x + 2 * R (a * h) + b) - a\n"
    "c' = a ⊙ c + (1 − a) * tanh(g)\n"
    "k = sigmoid(W x + R c' + p . (a * c') + b)\n"
    "h' = k * tanh(c') + -0.25 * h\n",
    "state = h\n"
    "z = sigmoid(W x + b)\n"
    "r = sigmoid(W x + R h + b)\n"
    "h' = tanh(R (r * h) + tanh(W x) + b) * z + h * (1 - z)\n", /* MUT1 with W x for x */
    "state = h\n"
    "z = sigmoid(W x + R tanh(h) + b)\n"
    "r = sigmoid(W x + R h + b)\n"
    "h' = tanh(R (r * h) + W x + b) * z + h * (1 - z)\n", /* MUT3 */
    "state = h, c\n"
    "q = relu(sigmoid(W x + b) + 0.5)\n"
    "c' = 0.5 * c + 0.1 * q * tanh(W x + R h)\n"
    "h' = tanh(c') * sigmoid(R c' + p . h + b)\n",
    /* backward's plan (graph_parse.c plan_adjoints): products on h whose
       values backward reads (a factor, a term with p) beside ones it does
       not, so the group's adjoints stay in the adjoint row; a W x read as
       a factor beside one that is not; a name twice in a sum and a product
       of a name with itself (the first write assigns, the second adds) */
    "state = h\n"
    "a = tanh(W x + R h + b)\n"
    "m = (R h) * (W x) + p . (R h) + a + a\n"
    "h' = tanh(m * m + R h) * a\n",
};

Test(graph, finite_differences_hand_written) {
    char name[32];
    for (size_t k = 0; k < sizeof HAND / sizeof HAND[0]; k++) {
        snprintf(name, sizeof name, "hand%zu", k);
        define(name, HAND[k]);
        gradcheck(name, HAND[k], 1, 3);
        gradcheck(name, HAND[k], 1, 18);
    }
    gradcheck("hand0", HAND[0], 2, 3);
}

/* the plan of backward's adjoints: every product and W x of eq-lstm-peep
   keeps its adjoint in place (as the native cells' dpre) and nothing is
   zeroed; in HAND's last cell the products on h and the W x that a backward
   reads are not in place, the other W x is */
Test(graph, adjoint_plan) {
    char err[512];
    int line = 0, col = 0;
    GraphDef *d = NULL;
    cr_assert_eq(graph_parse_text("plan-lstm-peep", LSTM_PEEP, &d, &line, &col, err, sizeof err), 0, "%s", err);
    int n_in_place = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        const GraphNode *n = &d->nodes[k];
        if (n->op == GN_REC || n->op == GN_XPROJ) {
            cr_expect(n->adj_in_place, "eq-lstm-peep: node %d's adjoint is not in place", k);
            n_in_place++;
        }
    }
    cr_expect_eq(n_in_place, 8);
    cr_expect_eq(d->adj_zero, 0);
    graph_def_free(d);
    const char *last = HAND[sizeof HAND / sizeof HAND[0] - 1];
    cr_assert_eq(graph_parse_text("plan-hand", last, &d, &line, &col, err, sizeof err), 0, "%s", err);
    int rec_in = 0, rec_out = 0, xp_in = 0, xp_out = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        const GraphNode *n = &d->nodes[k];
        if (n->op == GN_REC) n->adj_in_place ? rec_in++ : rec_out++;
        if (n->op == GN_XPROJ) n->adj_in_place ? xp_in++ : xp_out++;
    }
    cr_expect_eq(rec_in, 0);
    cr_expect_eq(rec_out, 4);
    cr_expect_eq(xp_in, 1);
    cr_expect_eq(xp_out, 1);
    cr_expect_eq(d->adj_zero, 0);
    graph_def_free(d);
}

Test(graph, finite_differences_random_graphs) {
    Rng rng;
    rng_seed(&rng, 2015);
    char text[4096], err[512], name[32];
    int checked = 0;
    for (int k = 0; checked < 8 && k < 200; k++) {
        cr_assert_eq(graph_random_text(&rng, 1 + k % 2, 3, 0, text, sizeof text), 0);
        snprintf(name, sizeof name, "random%d", k);
        /* every generated text is well formed */
        cr_assert_eq(graph_define_text(name, text, err, sizeof err), 0, "%s\n%s", err, text);
        gradcheck(name, text, 1, 3);
        checked++;
    }
    cr_expect_eq(checked, 8);
}

/* many random graphs and chains of mutations: each well formed one builds
   at two sizes, in one and two layers, and gives a finite loss and gradient */
Test(graph, many_random_graphs_and_mutants_run) {
    Rng rng;
    rng_seed(&rng, 7);
    char text[4096], next[4096], err[512], name[32];
    int ran = 0, refused = 0;
    for (int k = 0; k < 150; k++) {
        cr_assert_eq(graph_random_text(&rng, 1 + k % 2, 6, 1, text, sizeof text), 0);
        for (int m = 0; m < k % 4; m++)
            if (graph_mutate_text(&rng, text, next, sizeof next) == 0) snprintf(text, sizeof text, "%s", next);
        snprintf(name, sizeof name, "many%d", k);
        if (graph_define_text(name, text, err, sizeof err) != 0) {
            refused++;
            continue;
        }
        Problem p;
        problem_make(&p, name, 1 + k % 2, 5, 2, 1 + k % 20, 3, 2, (uint64_t)k);
        problem_grad(&p);
        cr_expect(isfinite(p.loss), "%s: loss %g\n%s", name, p.loss, text);
        double norm = 0;
        for (size_t q = 0; q < p.m.n_params; q++) norm += (double)p.grads[q] * p.grads[q];
        cr_expect(isfinite(norm) && norm > 0, "%s: gradient norm %g\n%s", name, norm, text);
        problem_free(&p);
        ran++;
    }
    cr_expect_geq(ran, 100, "%d ran, %d refused", ran, refused);
    cr_log_info("%d random graphs and mutants ran, %d mutants refused", ran, refused);
}

Test(graph, finite_differences_mutations_of_lstm) {
    Rng rng;
    rng_seed(&rng, 99);
    char text[4096], next[4096], err[512], name[32];
    snprintf(text, sizeof text, "%s", LSTM_PEEP);
    int valid = 0, refused = 0;
    for (int k = 0; k < 40 && valid < 6; k++) {
        cr_assert_eq(graph_mutate_text(&rng, text, next, sizeof next), 0);
        cr_expect(strcmp(next, text), "a mutation changed nothing");
        /* relu from a mutation may sit on its kink: only smooth ones are probed */
        snprintf(name, sizeof name, "mutant%d", k);
        if (graph_define_text(name, next, err, sizeof err) != 0) {
            refused++;
            continue;
        }
        snprintf(text, sizeof text, "%s", next);
        if (strstr(text, "relu")) continue;
        gradcheck(name, text, 1, 3);
        valid++;
    }
    cr_expect_geq(valid, 3, "only %d mutants were well formed (%d refused)", valid, refused);
}

/* ------------------------------------------------------------------------- */
/* the cache: nothing read before it is written, size linear in T */

Test(graph, garbage_workspace_gives_same_result_and_cache_is_linear_in_T) {
    define("g-lstm-peep-ws", LSTM_PEEP);
    define("g-hand-ws", HAND[0]);
    const char *names[] = {"g-lstm-peep-ws", "g-hand-ws"};
    for (int k = 0; k < 2; k++) {
        Problem clean, dirty;
        problem_make(&clean, names[k], 2, 9, 3, 4, 5, 2, 3);
        problem_make(&dirty, names[k], 2, 9, 3, 4, 5, 2, 3);
        size_t reals = (model_work_size(&dirty.m, 9, 3) - 9 * sizeof(int)) / sizeof(real);
        for (size_t q = 0; q < reals; q++) dirty.w.block[q] = NAN;
        problem_grad(&clean);
        problem_grad(&dirty);
        cr_expect(clean.loss == dirty.loss, "%s: loss %g with a clean workspace, %g with garbage", names[k],
                  clean.loss, dirty.loss);
        cr_expect(!memcmp(clean.grads, dirty.grads, clean.m.n_params * sizeof(real)), "%s: gradients differ",
                  names[k]);
        cr_expect(!memcmp(clean.w.dx, dirty.w.dx, 9 * 3 * 4 * sizeof(real)), "%s: dx differs", names[k]);
        size_t s10 = cell_cache_size(&clean.m.cell, 10, 3), s20 = cell_cache_size(&clean.m.cell, 20, 3);
        size_t s30 = cell_cache_size(&clean.m.cell, 30, 3);
        cr_expect_eq(s30 - s20, s20 - s10, "%s: cache not linear in T", names[k]);
        problem_free(&clean);
        problem_free(&dirty);
    }
}

/* ------------------------------------------------------------------------- */
/* the parameter count and layout */

Test(graph, tensors_and_count) {
    define("g-lstm-peep-count", LSTM_PEEP);
    Cell c;
    char err[256];
    cr_assert_eq(cell_make(&c, "g-lstm-peep-count", 7, 5, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.n_params, (size_t)(4 * 5 * 7 + 4 * 5 * 5 + 4 * 5 + 3 * 5));
    cr_expect(c.has_c);
    cr_expect_str_eq(c.tensors[0].name, "weight_ih_i");
    cr_expect_str_eq(c.tensors[4].name, "weight_hh_i");
    cr_expect_eq(c.n_gates, 3);
    cr_expect_str_eq(c.gate_names[0], "i");
    cr_expect_str_eq(c.gate_names[2], "o");
    /* a name of its own: a built-in one is refused, so is a second meaning */
    cr_expect_neq(graph_define_text("lstm", RNN, err, sizeof err), 0);
    cr_expect(strstr(err, "built-in"), "%s", err);
    cr_expect_eq(graph_define_text("g-lstm-peep-count", LSTM_PEEP, err, sizeof err), 0, "%s", err);
    cr_expect_neq(graph_define_text("g-lstm-peep-count", RNN, err, sizeof err), 0);
    cr_expect(strstr(err, "defined twice"), "%s", err);
}

/* ------------------------------------------------------------------------- */
/* parse errors: line and column */

typedef struct {
    const char *text, *expect;
} BadCase;

Test(graph, parse_errors_name_line_and_column) {
    static const BadCase bad[] = {
        {"state = h\nh' = tanh(W x + R h + b\n", "line 2: column 24: expected ')'"},
        {"state = h\nh' = tanh(W h)\n", "line 2: column 13: W applies to the input x only"},
        {"state = h\nh' = tanh(R x)\n", "line 2: column 13: R applies to a state"},
        {"state = h\nh' = tanh(x)\n", "line 2: column 11: x appears only as W x"},
        {"state = h\nh' = tanh(W x + q)\n", "line 2: column 17: unknown name 'q'"},
        {"state = h\nh' = sigmod(W x)\n", "line 2: column 6: unknown function 'sigmod'"},
        {"state = h, c\nh' = tanh(W x + c')\nc' = c\n", "line 2: column 17: c' is used before its equation"},
        {"state = h\nh' = tanh(W x) $ 2\n", "line 2: column 16: expected an operator"},
        {"h' = tanh(W x)\n", "line 1: column 1: h': the state line"},
        {"state = h, c\nh' = tanh(W x)\n", "line 1: state c has no update"},
        {"state = h\nq = tanh(W x)\nh' = tanh(W x + R h)\n", "line 2: q is computed but no state update uses it"},
        {"state = h\nh = tanh(W x)\n", "line 2: column 1: h: a state"},
        {"state = h, c, m\n", "line 1: column 15: state: at most 2 states"},
        {"state = h\nh' = tanh(p . b)\n", "line 2: column 13: a product of two parameter vectors"},
    };
    char err[512];
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu", k);
        cr_expect_neq(graph_define_text(name, bad[k].text, err, sizeof err), 0, "accepted: %s", bad[k].text);
        cr_expect(!strncmp(err, bad[k].expect, strlen(bad[k].expect)), "got '%s', expected '%s...'", err,
                  bad[k].expect);
    }
}

/* ------------------------------------------------------------------------- */
/* the search (docs/search.md): its seeds, the canonical form, the mutations */

/* the seeds as experiments/search.ini writes them, against the native cells:
   lstm (no peepholes), gru (reset before the product), mut1, mut2, mut3 */
static const Map LSTM_NP_MAP[] = {
    {"weight_ih_i", "weight_ih", 0}, {"weight_ih_f", "weight_ih", 1}, {"weight_ih_z", "weight_ih", 2},
    {"weight_ih_o", "weight_ih", 3}, {"weight_hh_i", "weight_hh", 0}, {"weight_hh_f", "weight_hh", 1},
    {"weight_hh_z", "weight_hh", 2}, {"weight_hh_o", "weight_hh", 3}, {"bias_i", "bias", 0},
    {"bias_f", "bias", 1},           {"bias_z", "bias", 2},           {"bias_o", "bias", 3},
};
static const Map GRU_MAP[] = {
    {"weight_ih_r", "weight_ih", 0}, {"weight_ih_u", "weight_ih", 1}, {"weight_ih_n", "weight_ih", 2},
    {"weight_hh_r", "weight_hh", 0}, {"weight_hh_u", "weight_hh", 1}, {"weight_hh_n", "weight_hh", 2},
    {"bias_r", "bias", 0},           {"bias_u", "bias", 1},           {"bias_n", "bias", 2},
};
/* MUT1's z has no recurrence: weight_hh is r, h */
static const Map MUT1_MAP[] = {
    {"weight_ih_z", "weight_ih", 0}, {"weight_ih_r", "weight_ih", 1}, {"weight_ih_h", "weight_ih", 2},
    {"weight_hh_r", "weight_hh", 0}, {"weight_hh_h", "weight_hh", 1}, {"bias_z", "bias", 0},
    {"bias_r", "bias", 1},           {"bias_h", "bias", 2},
};
static const Map MUT23_MAP[] = {
    {"weight_ih_z", "weight_ih", 0}, {"weight_ih_r", "weight_ih", 1}, {"weight_ih_h", "weight_ih", 2},
    {"weight_hh_z", "weight_hh", 0}, {"weight_hh_r", "weight_hh", 1}, {"weight_hh_h", "weight_hh", 2},
    {"bias_z", "bias", 0},           {"bias_r", "bias", 1},           {"bias_h", "bias", 2},
};

Test(graph, seeds_of_the_search_match_native_cells) {
    char err[512];
    /* the file the search reads (the runner starts in the repository's root) */
    cr_assert_eq(graph_read_file("experiments/search.ini", err, sizeof err), 0, "%s", err);
    /* eq-lstm carries the forget bias of 1 as a constant (f = sigmoid(W x + R h
       + b + 1)): its own test below; here the same equations without it */
    define("eq-lstm-nofb", "state = h, c\ni = sigmoid(W x + R h + b)\nf = sigmoid(W x + R h + b)\n"
                           "z = tanh(W x + R h + b)\nc' = f * c + i * z\no = sigmoid(W x + R h + b)\n"
                           "h' = o * tanh(c')\n");
    const GraphDef *lstm = graph_find("eq-lstm");
    cr_assert(lstm && strstr(lstm->text, "f = sigmoid(W x + R h + b + 1)"), "eq-lstm's forget gate changed:\n%s",
              lstm ? lstm->text : "(none)");
    const Pair seeds[] = {
        PAIR("lstm", "eq-lstm-nofb", NULL, LSTM_NP_MAP), PAIR("gru", "eq-gru", NULL, GRU_MAP),
        PAIR("mut1", "eq-mut1", NULL, MUT1_MAP),    PAIR("mut2", "eq-mut2", NULL, MUT23_MAP),
        PAIR("mut3", "eq-mut3", NULL, MUT23_MAP),
    };
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        check_pair(&seeds[k], 1, 3);
        check_pair(&seeds[k], 1, 20);
        check_pair(&seeds[k], 2, 3);
    }
}

static int canon_of(const char *text, char *out, size_t n) {
    GraphDef *d;
    int line, col;
    char err[512];
    int rc = graph_parse_text("canon", text, &d, &line, &col, err, sizeof err);
    cr_assert_eq(rc, 0, "line %d: column %d: %s\n%s", line, col, err, text);
    rc = graph_canonical_text(d, out, n);
    graph_def_free(d);
    return rc;
}

static int canon_same(const char *a, const char *b) {
    static char ca[16384], cb[16384];
    cr_assert_eq(canon_of(a, ca, sizeof ca), 0);
    cr_assert_eq(canon_of(b, cb, sizeof cb), 0);
    return !strcmp(ca, cb) && graph_canonical_hash(ca) == graph_canonical_hash(cb);
}

/* isomorphic spellings: names, equation order, operand order of + and *,
   inline or named, identity( ) */
static const char *const SAME[][2] = {
    {"state = h, c\n"
     "i = sigmoid(W x + R h + b)\nf = sigmoid(W x + R h + b)\nz = tanh(W x + R h + b)\n"
     "c' = f * c + i * z\no = sigmoid(W x + R h + b)\nh' = o * tanh(c')\n",
     "state = h, c\n"
     "out = sigmoid(b + R h + W x)\nzz = tanh(R h + b + W x)\ninp = sigmoid(W x + b + R h)\n"
     "keep = sigmoid(R h + W x + b)\nc' = zz * inp + c * keep\nh' = identity(tanh(c')) * out\n"},
    {"state = h\nr = sigmoid(W x + R h + b)\nu = sigmoid(W x + R h + b)\nn = tanh(W x + R (r * h) + b)\n"
     "h' = (1 - u) * n + u * h\n",
     "state = h\nu = sigmoid(W x + R h + b)\nr = sigmoid(R h + W x + b)\n"
     "h' = h * u + tanh(b + R (h * r) + W x) * (-u + 1)\n"},
    {"state = h\ne = tanh(W x)\nh' = tanh(R h + e) * e\n",
     "state = h\nq = identity(tanh(identity(W x)))\nh' = q * tanh(q + R h)\n"},
};

/* different graphs: an operand's sign, an activation, sharing or not,
   which state a node updates */
static const char *const DIFFERENT[][2] = {
    {"state = h\nh' = tanh(W x - R h)\n", "state = h\nh' = tanh(R h - W x)\n"},
    {"state = h\nh' = tanh(W x + R h)\n", "state = h\nh' = sigmoid(W x + R h)\n"},
    {"state = h\ne = sigmoid(W x + b)\nh' = e * e * tanh(R h)\n",
     "state = h\nh' = sigmoid(W x + b) * sigmoid(W x + b) * tanh(R h)\n"},
    {"state = h, c\nc' = tanh(W x + R h)\nh' = sigmoid(W x + R c)\n",
     "state = h, c\nc' = sigmoid(W x + R c)\nh' = tanh(W x + R h)\n"},
    {"state = h\nh' = tanh(W x + R h + b)\n", "state = h\nh' = tanh(W x + R h + 2 * b)\n"},
};

Test(graph, canonical_form_is_the_graph_up_to_isomorphism) {
    for (size_t k = 0; k < sizeof SAME / sizeof SAME[0]; k++)
        cr_expect(canon_same(SAME[k][0], SAME[k][1]), "pair %zu: isomorphic, but the forms differ", k);
    for (size_t k = 0; k < sizeof DIFFERENT / sizeof DIFFERENT[0]; k++)
        cr_expect(!canon_same(DIFFERENT[k][0], DIFFERENT[k][1]), "pair %zu: different graphs, one form", k);
}

/* random graphs with their equations renamed and identity( ) wrapped around
   an activation keep their form; the forms of different random graphs differ */
Test(graph, canonical_form_of_random_graphs) {
    Rng rng;
    rng_seed(&rng, 31);
    static char text[4096], renamed[8192], forms[60][16384];
    int n = 0;
    for (int k = 0; k < 60; k++) {
        cr_assert_eq(graph_random_text(&rng, 1 + k % 2, 6, 1, text, sizeof text), 0);
        GraphDef *d;
        int line, col;
        char err[512];
        if (graph_parse_text("r", text, &d, &line, &col, err, sizeof err) != 0) continue; /* a dead equation */
        graph_def_free(d);
        /* e0..e5 -> q0_..q5_, and the first "tanh(" -> "identity(tanh(" closed after its group */
        size_t o = 0;
        int wrapped = 0, depth = -1;
        for (size_t i = 0; text[i]; i++) {
            if (text[i] == 'e' && text[i + 1] >= '0' && text[i + 1] <= '9' && (i == 0 || !isalnum((unsigned char)text[i - 1]))) {
                o += (size_t)sprintf(renamed + o, "q%c_", text[i + 1]);
                i++;
                continue;
            }
            if (!wrapped && !strncmp(text + i, "tanh(", 5) && i > 0 && text[i - 1] == ' ') {
                o += (size_t)sprintf(renamed + o, "identity(");
                wrapped = 1, depth = 0;
            }
            renamed[o++] = text[i];
            if (depth >= 0 && text[i] == '(') depth++;
            if (depth >= 0 && text[i] == ')' && --depth == 0) renamed[o++] = ')', depth = -1;
        }
        renamed[o] = '\0';
        cr_expect(canon_same(text, renamed), "renamed graph %d changed its form:\n%s\n%s", k, text, renamed);
        cr_assert_eq(canon_of(text, forms[n], sizeof forms[0]), 0);
        n++;
    }
    cr_expect_geq(n, 40, "only %d of 60 random graphs well formed", n);
    int same = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) same += !strcmp(forms[a], forms[b]);
    cr_expect_eq(same, 0, "%d pairs of random graphs share a form", same);
}

static int count_nodes(const char *text) {
    static char form[16384];
    cr_assert_eq(canon_of(text, form, sizeof form), 0);
    int n = 0;
    for (const char *s = form; (s = strstr(s, "\nn")); s++) n++;
    return n;
}

Test(graph, mutations_of_each_kind) {
    char err[512];
    cr_assert_eq(graph_read_file("experiments/search.ini", err, sizeof err), 0, "%s", err);
    const char *lstm = graph_find("eq-lstm")->text;
    int lstm_nodes = count_nodes(lstm);
    Rng rng;
    rng_seed(&rng, 5);
    static char out[8192], again[8192];
    char what[256], what2[256];
    for (int kind = 0; kind < GM_KINDS; kind++) {
        int valid = 0, grew = 0, shrank = 0;
        for (int k = 0; k < 30; k++) {
            uint64_t seed = rng_u64(&rng);
            Rng a, b;
            rng_seed(&a, seed);
            rng_seed(&b, seed);
            cr_assert_eq(graph_mutate(&a, lstm, kind, out, sizeof out, what, sizeof what), 0, "%s", GRAPH_MUTATION_NAMES[kind]);
            cr_assert_eq(graph_mutate(&b, lstm, kind, again, sizeof again, what2, sizeof what2), 0);
            cr_expect_str_eq(out, again, "the same seed gave two mutations");
            cr_expect(!strncmp(what, GRAPH_MUTATION_NAMES[kind], strlen(GRAPH_MUTATION_NAMES[kind])), "%s", what);
            cr_expect(strcmp(out, lstm), "%s changed nothing", what);
            GraphDef *d;
            int line, col;
            if (graph_parse_text("m", out, &d, &line, &col, err, sizeof err) != 0) continue;
            graph_def_free(d);
            valid++;
            int nodes = count_nodes(out);
            grew += nodes > lstm_nodes;
            shrank += nodes < lstm_nodes;
        }
        cr_log_info("%s: %d of 30 well formed, %d grew, %d shrank", GRAPH_MUTATION_NAMES[kind], valid, grew, shrank);
        cr_expect_geq(valid, 10, "%s: %d of 30 well formed", GRAPH_MUTATION_NAMES[kind], valid);
        if (kind == GM_INSERT) cr_expect_eq(grew, valid, "an inserted node must add a node: %d of %d", grew, valid);
        /* deleting an activation removes its node; deleting a term of a sum
           (a bias, R h) may leave as many nodes */
        if (kind == GM_DELETE) cr_expect(shrank > 0 && grew == 0, "delete: %d of %d shrank, %d grew", shrank, valid, grew);
    }
}

/* the gradients of inserted and deleted nodes' graphs (smooth ones) */
Test(graph, finite_differences_inserted_and_deleted_nodes) {
    char err[512];
    cr_assert_eq(graph_read_file("experiments/search.ini", err, sizeof err), 0, "%s", err);
    const char *seeds[] = {"eq-lstm", "eq-gru", "eq-mut3"};
    Rng rng;
    rng_seed(&rng, 17);
    static char out[8192];
    char name[32], what[256];
    int checked = 0;
    for (int k = 0; k < 60 && checked < 8; k++) {
        int kind = k % 2 ? GM_DELETE : GM_INSERT;
        const char *text = graph_find(seeds[k % 3])->text;
        if (graph_mutate(&rng, text, kind, out, sizeof out, what, sizeof what) != 0 || strstr(out, "relu")) continue;
        snprintf(name, sizeof name, "ins-del%d", k);
        if (graph_define_text(name, out, err, sizeof err) != 0) continue;
        cr_log_info("%s: %s", name, what);
        gradcheck(name, out, 1, 3);
        checked++;
    }
    cr_expect_geq(checked, 6);
}

Test(graph, prune_removes_unread_equations) {
    static char out[1024];
    cr_assert_eq(graph_prune_text("state = h\na = tanh(W x)\nd = sigmoid(a)\nh' = tanh(W x + R h + b)\n", out,
                                  sizeof out), 0);
    cr_expect_str_eq(out, "state = h\nh' = tanh(W x + R h + b)\n");
    /* an ill-formed text for another reason is left as it is */
    cr_assert_eq(graph_prune_text("state = h\nh' = tanh(W x + )\n", out, sizeof out), 0);
    cr_expect_str_eq(out, "state = h\nh' = tanh(W x + )\n");
}

/* eq-lstm (forget bias as the constant + 1) is the native lstm whose b_f is
   the graph's plus 1: the same loss, outputs and gradients */
Test(graph, seed_lstm_with_forget_bias_matches_native_lstm) {
    char err[512];
    cr_assert_eq(graph_read_file("experiments/search.ini", err, sizeof err), 0, "%s", err);
    const int T = 13, B = 3, X = 3, H = 5, Y = 2;
    Problem nat, gr;
    problem_make(&nat, "lstm", 1, T, B, X, H, Y, 7);
    problem_make(&gr, "eq-lstm", 1, T, B, X, H, Y, 7);
    memcpy(gr.x, nat.x, (size_t)T * B * X * sizeof(real));
    memcpy(gr.h0, nat.h0, (size_t)B * H * sizeof(real));
    memcpy(gr.c0, nat.c0, (size_t)B * H * sizeof(real));
    size_t n_map = sizeof LSTM_NP_MAP / sizeof LSTM_NP_MAP[0];
    for (size_t k = 0; k < n_map; k++) {
        const ParamTensor *g = tensor(&gr.m, LSTM_NP_MAP[k].graph, 0), *n = tensor(&nat.m, LSTM_NP_MAP[k].native, 0);
        size_t block = (size_t)g->rows * g->cols;
        for (size_t q = 0; q < block; q++)
            gr.params[g->offset + q] = nat.params[n->offset + LSTM_NP_MAP[k].block * block + q] -
                                       (strcmp(LSTM_NP_MAP[k].graph, "bias_f") ? 0 : 1);
    }
    for (const char *ro = "readout.weight"; ro; ro = strcmp(ro, "readout.bias") ? "readout.bias" : NULL) {
        const ParamTensor *g = model_tensor(&gr.m, ro), *n = model_tensor(&nat.m, ro);
        memcpy(gr.params + g->offset, nat.params + n->offset, (size_t)n->rows * n->cols * sizeof(real));
    }
    problem_grad(&nat);
    problem_grad(&gr);
    cr_expect(fabs(nat.loss - gr.loss) <= EQ_TOL * fmax(1, fabs(nat.loss)), "loss %.17g vs %.17g", gr.loss, nat.loss);
    cr_expect(max_diff(nat.w.y, gr.w.y, (size_t)T * B * Y) <= EQ_TOL, "outputs differ");
    for (size_t k = 0; k < n_map; k++) {
        const ParamTensor *g = tensor(&gr.m, LSTM_NP_MAP[k].graph, 0), *n = tensor(&nat.m, LSTM_NP_MAP[k].native, 0);
        size_t block = (size_t)g->rows * g->cols;
        double e = max_diff(nat.grads + n->offset + LSTM_NP_MAP[k].block * block, gr.grads + g->offset, block);
        cr_expect(e <= EQ_TOL, "gradient of %s differs by %.3g", LSTM_NP_MAP[k].graph, e);
    }
    cr_expect(max_diff(nat.w.dx, gr.w.dx, (size_t)T * B * X) <= EQ_TOL, "dL/dx differs");
    cr_expect(max_diff(nat.w.dc0, gr.w.dc0, (size_t)B * H) <= EQ_TOL, "dL/dc0 differs");
    cr_expect_eq(gr.m.n_tensors, (int)n_map + 2);
    problem_free(&nat);
    problem_free(&gr);
}
