/* test_grad.c: the gradient of every cell, every single ablation and several
   combinations against central finite differences, in double precision.
   Checked: every parameter, dL/dx_t, dL/dh_0 and dL/dc_0, on T = 20 steps
   with a non-zero h_0/c_0, for the mse, xent and bce losses.
   Error measure: cells.md's |a - b| / max(|a|, |b|, 1e-8) < 1e-6 on every
   entry, except that an absolute difference below ATOL = 1e-11 always passes.
   That is the finite difference's own noise floor (rounding of a loss of
   order 1, ~1e-16, divided by the step and amplified by the extrapolation,
   measured at ~1e-12): without it, entries of 1e-8 (gradients that vanished
   over 20 steps) could never be checked to 1e-6 relative. A sign flipped in
   any backward term moves entries by their own size, far above both. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/model.h"
#include "../../cells/kernel.h" /* INPUT_SMALL_X: which input path a width takes */

#define T_STEPS 20
#define BATCH 2
#define N_IN 3
#define N_HID 4
#define N_OUT 3
#define TOL 1e-6
#define ATOL 1e-11

typedef struct {
    char cell[48];
    LossKind loss;
    int layers; /* 0 or 1: one layer */
} GradCase;

typedef struct {
    Model m;
    ModelWork w;
    real *params, *grads, *x, *target, *mask, *h0, *c0;
} Problem;

static void problem_make(Problem *p, const char *cell, int L, LossKind loss, int T, int B, int X, int H,
                         int Y, uint64_t seed) {
    char err[256];
    cr_assert_eq(model_make_stack(&p->m, cell, X, H, L, Y, loss, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_work_alloc(&p->m, T, B, &p->w), 0);
    size_t TB = (size_t)T * B;
    p->params = calloc(p->m.n_params, sizeof(real));
    p->grads = calloc(p->m.n_params, sizeof(real));
    p->x = malloc(TB * X * sizeof(real));
    p->target = calloc(TB * Y, sizeof(real));
    p->mask = malloc(TB * sizeof(real));
    /* each layer's initial state, (L,B,H) */
    p->h0 = malloc((size_t)L * B * H * sizeof(real));
    p->c0 = malloc((size_t)L * B * H * sizeof(real));
    Rng rng;
    rng_seed(&rng, seed);
    /* a larger scale than torch's default so that every nonlinearity is
       exercised away from its linear regime */
    model_init(&p->m, p->params, &rng, 0.6, NAN);
    for (size_t k = 0; k < TB * X; k++) p->x[k] = (real)rng_range(&rng, -1, 1);
    for (size_t r = 0; r < TB; r++) {
        real *tr = p->target + r * Y;
        if (loss == LOSS_XENT) tr[rng_int(&rng, Y)] = 1;
        else if (loss == LOSS_BCE) for (int k = 0; k < Y; k++) tr[k] = (real)(rng_uniform(&rng) < 0.5);
        else for (int k = 0; k < Y; k++) tr[k] = (real)rng_range(&rng, -1, 1);
        p->mask[r] = (real)(rng_uniform(&rng) < 0.7);
    }
    for (int b = 0; b < B; b++) p->mask[b] = 0; /* a step with no loss at all */
    p->mask[(size_t)(T - 1) * B] = 1;
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
    problem_loss(p);
    model_backward(&p->m, p->params, p->x, &p->w, p->grads, NULL, NULL);
}

/* Central differences at h, h/2, h/4, Richardson-extrapolated twice: the
   truncation error falls to O(h^6), so h can be large enough (1e-3) that
   rounding in the loss (~1e-16 / h) stays far below the tolerance even for
   gradient entries of 1e-6. */
static double numeric(Problem *p, real *v) {
    real saved = *v;
    double d[3];
    /* ReLU's kink: irnn starts at R = I, b = 0, which puts pre-activations
       next to it, and a small step makes crossing it while probing unlikely.
       indrnn (ReLU too) keeps the default step: its pre-activations are not
       drawn to the kink, and dL/dx entries of 1e-8 need the lower noise floor
       of the larger step (at 1e-4 one missed ATOL by 2e-12). */
    double h = !strcmp(p->m.cell.name, "irnn") ? 1e-4 : 1e-3;
    for (int k = 0; k < 3; k++, h /= 2) {
        *v = saved + h; double lp = problem_loss(p);
        *v = saved - h; double lm = problem_loss(p);
        d[k] = (lp - lm) / (2 * h);
    }
    *v = saved;
    double r1 = (4 * d[1] - d[0]) / 3, r2 = (4 * d[2] - d[1]) / 3;
    return (16 * r2 - r1) / 15;
}

static double rel_err(double a, double b) {
    if (fabs(a - b) <= ATOL) return 0;
    double den = fmax(fmax(fabs(a), fabs(b)), 1e-8);
    return fabs(a - b) / den;
}

/* worst error over n entries at v against the analytic gradient g */
static double check_block(Problem *p, real *v, const real *g, size_t n, size_t *worst_at) {
    double worst = 0;
    for (size_t k = 0; k < n; k++) {
        double num = numeric(p, &v[k]);
        double e = rel_err(g[k], num);
        if (e > worst || isnan(e)) {
            worst = isnan(e) ? INFINITY : e;
            *worst_at = k;
            if (e > TOL) cr_log_info("  entry %zu: analytic %.15g numeric %.15g", k, (double)g[k], num);
        }
    }
    return worst;
}

static void gradcheck_stack(const char *cell, int L, LossKind loss, int T, int B, int n_in, int n_out) {
    Problem p;
    problem_make(&p, cell, L, loss, T, B, n_in, N_HID, n_out, 42);
    problem_grad(&p);
    /* analytic input-side gradients, saved before finite differences reuse w */
    size_t nx = (size_t)T * B * n_in, nh = (size_t)L * B * N_HID;
    real *dx = malloc(nx * sizeof(real)), *dh0 = malloc(nh * sizeof(real));
    real *dc0 = malloc(nh * sizeof(real));
    memcpy(dx, p.w.dx, nx * sizeof(real));
    memcpy(dh0, p.w.dh0, nh * sizeof(real));
    memcpy(dc0, p.w.dc0, nh * sizeof(real));
    double worst_all = 0;
    for (int i = 0; i < p.m.n_tensors; i++) {
        const ParamTensor *t = &p.m.tensors[i];
        size_t at = 0, n = (size_t)t->rows * t->cols;
        double e = check_block(&p, p.params + t->offset, p.grads + t->offset, n, &at);
        cr_log_info("%s/%s %s: max rel err %.2e at %zu", cell, loss_name(loss), t->name, e, at);
        cr_expect(e < TOL, "%s (%s): gradient of %s wrong: rel err %.3e at entry %zu", cell,
                  loss_name(loss), t->name, e, at);
        worst_all = fmax(worst_all, e);
    }
    size_t at = 0;
    double e = check_block(&p, p.x, dx, nx, &at);
    cr_expect(e < TOL, "%s (%s): dL/dx wrong: rel err %.3e at %zu", cell, loss_name(loss), e, at);
    worst_all = fmax(worst_all, e);
    e = check_block(&p, p.h0, dh0, nh, &at);
    cr_expect(e < TOL, "%s (%s): dL/dh0 wrong: rel err %.3e at %zu", cell, loss_name(loss), e, at);
    worst_all = fmax(worst_all, e);
    if (p.m.cell.has_c) {
        e = check_block(&p, p.c0, dc0, nh, &at);
        cr_expect(e < TOL, "%s (%s): dL/dc0 wrong: rel err %.3e at %zu", cell, loss_name(loss), e, at);
        worst_all = fmax(worst_all, e);
    }
    cr_log_info("%s/%s (%d layers): worst rel err %.2e over %zu params", cell, loss_name(loss), L, worst_all,
                p.m.n_params);
    free(dx); free(dh0); free(dc0);
    problem_free(&p);
}

static void gradcheck(const char *cell, LossKind loss, int T, int B, int n_in, int n_out) {
    gradcheck_stack(cell, 1, loss, T, B, n_in, n_out);
}

#define CELLS_ALL \
    "rnn", "irnn", "lstm-peep", "lstm", "lstm-nig", "lstm-nfg", "lstm-nog", "lstm-niaf", \
    "lstm-noaf", "lstm-cifg", "lstm-fgr", "lstm-1997", "gru", "gru-ra",                  \
    /* combinations of ablations */                                                       \
    "lstm+cifg", "lstm-peep+nfg+noaf", "lstm+fgr+nog", "lstm-peep+niaf+noaf",            \
    "lstm+nig+nog", "lstm-peep+cifg+fgr", "lstm-peep+nig+nfg+nog",                       \
    /* the further cells of cells.md */                                                   \
    "indrnn", "janet", "mgu", "mut1", "mut2", "mut3",                                    \
    /* cwrnn (N_HID = 4): T = 20 is no multiple of the longest period (8, 3, 5), and   \
       module 0 of p2.5 rests at odd steps */                                            \
    "cwrnn", "cwrnn+m2", "cwrnn+p1.3", "cwrnn+p2.5"

static const char *const all_cells[] = {CELLS_ALL};
#define N_CELLS (sizeof all_cells / sizeof all_cells[0])

static GradCase cases[N_CELLS * 2 + 6];

ParameterizedTestParameters(grad, finite_differences) {
    size_t n = 0;
    for (size_t i = 0; i < N_CELLS; i++) {
        for (int l = 0; l < 2; l++) {
            snprintf(cases[n].cell, sizeof cases[n].cell, "%s", all_cells[i]);
            cases[n++].loss = l == 0 ? LOSS_MSE : LOSS_XENT;
        }
    }
    const char *bce_cells[] = {"rnn", "lstm-peep", "gru-ra", "lstm-fgr", "janet", "mut1"};
    for (int i = 0; i < 6; i++) {
        snprintf(cases[n].cell, sizeof cases[n].cell, "%s", bce_cells[i]);
        cases[n++].loss = LOSS_BCE;
    }
    return cr_make_param_array(GradCase, cases, n);
}

ParameterizedTest(GradCase *c, grad, finite_differences) {
    cr_log_info("cell=%s loss=%s", c->cell, loss_name(c->loss));
    gradcheck(c->cell, c->loss, T_STEPS, BATCH, N_IN, N_OUT);
}

/* Inputs wider than INPUT_SMALL_X take the GEMM path of input.c instead of
   its hand-written loops: the same check on that path. */
ParameterizedTestParameters(grad, wide_input) {
    static GradCase wide[] = {{"rnn", LOSS_MSE, 1}, {"lstm-peep", LOSS_XENT, 1}, {"lstm+cifg+fgr", LOSS_MSE, 1},
                              {"gru", LOSS_XENT, 1}, {"gru-ra", LOSS_MSE, 1}, {"indrnn", LOSS_MSE, 1},
                              {"janet", LOSS_XENT, 1}, {"mgu", LOSS_MSE, 1}, {"mut1", LOSS_XENT, 1},
                              {"mut2", LOSS_MSE, 1}, {"mut3", LOSS_XENT, 1}, {"cwrnn", LOSS_XENT, 1},
                              {"cwrnn+p1.3", LOSS_MSE, 1}};
    return cr_make_param_array(GradCase, wide, sizeof wide / sizeof wide[0]);
}

ParameterizedTest(GradCase *c, grad, wide_input) {
    cr_assert(!input_is_small(INPUT_SMALL_X + 5));
    gradcheck(c->cell, c->loss, T_STEPS, BATCH, INPUT_SMALL_X + 5, N_OUT);
}

/* Readouts wider than INPUT_SMALL_X outputs take the GEMM path of
   upstream_grad and readout_grads (input.c) instead of their loops. */
ParameterizedTestParameters(grad, wide_output) {
    static GradCase wide[] = {{"rnn", LOSS_XENT, 1}, {"lstm-peep", LOSS_MSE, 1}, {"gru-ra", LOSS_BCE, 1}};
    return cr_make_param_array(GradCase, wide, sizeof wide / sizeof wide[0]);
}

ParameterizedTest(GradCase *c, grad, wide_output) {
    /* a batch of 2 takes model.c's dL/dh formed before backward (dh_top),
       one of 5 the step-by-step product */
    gradcheck(c->cell, c->loss, T_STEPS, BATCH, N_IN, INPUT_SMALL_X + 3);
    gradcheck(c->cell, c->loss, T_STEPS, 5, N_IN, INPUT_SMALL_X + 3);
}

/* dh_top feeds the top layer of a stack only; the layers below hear dL/dx */
Test(grad, stacked_wide_output) {
    gradcheck_stack("lstm", 2, LOSS_BCE, T_STEPS, 1, N_IN, INPUT_SMALL_X + 3);
    gradcheck_stack("dglstm", 2, LOSS_XENT, T_STEPS, BATCH, N_IN, INPUT_SMALL_X + 3);
}

/* When the spent block that recurrent_grads (input.c) transposes into is
   smaller than the weight matrix, (T+1)*B < 4*H for the LSTM's cell state and
   T*B < 2*H for the GRU's aux, it takes the direct product: one step, one
   sequence. */
Test(grad, single_step) {
    cr_assert_lt((1 + 1) * 1 * N_HID, N_HID * 4 * N_HID);
    cr_assert_lt(1 * 1 * N_HID, N_HID * 2 * N_HID);
    gradcheck("lstm-peep", LOSS_MSE, 1, 1, N_IN, N_OUT);
    gradcheck("lstm+cifg", LOSS_XENT, 2, 1, N_IN, N_OUT);
    gradcheck("gru", LOSS_MSE, 1, 1, N_IN, N_OUT);
    gradcheck("gru-ra", LOSS_XENT, 1, 1, N_IN, N_OUT);
    /* and the further cells' spent blocks (janet's σ(s - β), mgu's and the
       MUTs' r ⊙ h), of T*B*H reals against 2H*H or H*H */
    const char *further[] = {"janet", "mgu", "mut1", "mut2", "mut3", "indrnn", "cwrnn"};
    for (int i = 0; i < 7; i++) gradcheck(further[i], i % 2 ? LOSS_XENT : LOSS_MSE, 1, 1, N_IN, N_OUT);
}

/* The second net of lessons.md: on a larger shape, the directional
   derivative g·δ against (L(θ+εδ) − L(θ−εδ)) / 2ε for a random δ. */
ParameterizedTestParameters(grad, random_direction) {
    static GradCase big[] = {{"lstm-peep", LOSS_XENT, 1}, {"gru", LOSS_MSE, 1}, {"lstm-fgr", LOSS_MSE, 1},
                             {"rnn", LOSS_XENT, 1}, {"gru-ra", LOSS_XENT, 1}, {"janet", LOSS_MSE, 1},
                             {"mgu", LOSS_XENT, 1}, {"mut1", LOSS_MSE, 1}, {"mut2", LOSS_XENT, 1},
                             {"mut3", LOSS_MSE, 1}, {"indrnn", LOSS_XENT, 1}, {"cwrnn", LOSS_MSE, 1},
                             {"cwrnn+p1.5", LOSS_XENT, 1},
                             /* stacks: the upper layers read H = 24 > INPUT_SMALL_X wide inputs */
                             {"lstm", LOSS_XENT, 2}, {"gru-ra", LOSS_MSE, 3}, {"rnn", LOSS_MSE, 2},
                             {"dglstm", LOSS_XENT, 3}};
    return cr_make_param_array(GradCase, big, sizeof big / sizeof big[0]);
}

ParameterizedTest(GradCase *c, grad, random_direction) {
    Problem p;
    problem_make(&p, c->cell, c->layers > 0 ? c->layers : 1, c->loss, 50, 8, 7, 24, 5, 7);
    problem_grad(&p);
    size_t n = p.m.n_params;
    real *dir = malloc(n * sizeof(real)), *base = malloc(n * sizeof(real));
    Rng rng;
    rng_seed(&rng, 99);
    double gd = 0, norm = 0;
    for (size_t k = 0; k < n; k++) {
        dir[k] = (real)rng_normal(&rng);
        norm += (double)dir[k] * dir[k];
    }
    for (size_t k = 0; k < n; k++) {
        dir[k] /= (real)sqrt(norm); /* a unit step, whatever the parameter count */
        gd += (double)p.grads[k] * dir[k];
    }
    memcpy(base, p.params, n * sizeof(real));
    double d[2], h = 1e-4;
    for (int r = 0; r < 2; r++, h /= 2) {
        for (size_t k = 0; k < n; k++) p.params[k] = base[k] + (real)h * dir[k];
        double lp = problem_loss(&p);
        for (size_t k = 0; k < n; k++) p.params[k] = base[k] - (real)h * dir[k];
        double lm = problem_loss(&p);
        d[r] = (lp - lm) / (2 * h);
    }
    double fd = (4 * d[1] - d[0]) / 3, e = rel_err(gd, fd);
    cr_log_info("%s (%d layers): g.d = %.12g, numeric %.12g, rel err %.2e", c->cell, p.m.L, gd, fd, e);
    cr_expect(e < TOL, "%s: directional derivative off: %.12g vs %.12g (rel %.2e)", c->cell, gd, fd, e);
    free(dir); free(base);
    problem_free(&p);
}

/* Stacks (cells.md "Stacked layers"): 2 and 3 layers of the cells the issue
   names and of others, each layer with its own non-zero h_0 (and c_0);
   dL/dh_0 and dL/dc_0 are checked for every layer. */
ParameterizedTestParameters(grad, stacked) {
    static GradCase stacks[] = {
        {"rnn", LOSS_MSE, 2},       {"rnn", LOSS_XENT, 3},     {"lstm", LOSS_XENT, 2},
        {"lstm", LOSS_MSE, 3},      {"gru-ra", LOSS_MSE, 2},   {"gru-ra", LOSS_XENT, 3},
        {"lstm-peep", LOSS_XENT, 2}, {"lstm-peep", LOSS_MSE, 3}, {"mgu", LOSS_XENT, 2},
        {"mgu", LOSS_MSE, 3},       {"cwrnn", LOSS_MSE, 2},    {"lstm+cifg+fgr", LOSS_XENT, 2},
        {"janet", LOSS_MSE, 2},     {"gru", LOSS_BCE, 2},
        /* the depth gate: layer 1 reads c of layer 0, and in 3 layers the
           middle layer both reads c below and is read from above */
        {"dglstm", LOSS_MSE, 2},    {"dglstm", LOSS_XENT, 3},  {"dglstm", LOSS_BCE, 2},
    };
    return cr_make_param_array(GradCase, stacks, sizeof stacks / sizeof stacks[0]);
}

ParameterizedTest(GradCase *c, grad, stacked) {
    cr_log_info("cell=%s loss=%s layers=%d", c->cell, loss_name(c->loss), c->layers);
    gradcheck_stack(c->cell, c->layers, c->loss, T_STEPS, BATCH, N_IN, N_OUT);
}

/* a stack whose bottom layer takes the wide-input path (its upper layers,
   H = 24 wide, take it in random_direction) */
Test(grad, stacked_wide_input) {
    gradcheck_stack("lstm", 2, LOSS_MSE, T_STEPS, BATCH, INPUT_SMALL_X + 5, N_OUT);
    gradcheck_stack("dglstm", 2, LOSS_XENT, T_STEPS, BATCH, INPUT_SMALL_X + 5, N_OUT);
}
