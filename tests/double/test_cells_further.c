/* test_cells_further.c: the further cells of cells.md (indrnn, janet, mgu,
   mut1-3, cwrnn) and the lstm-1997 alias: parameter counts and layout, gates, their
   special initialisations, and the workspace discipline (a dirty workspace
   changes nothing, the cache is linear in T). Gradients are in test_grad.c,
   forward values against an autograd version of the equations in
   tests/test_trace_torch.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/model.h"
#include "../../harness/config.h"
#include "../../harness/optim.h"

static const char *const further[] = {"indrnn", "janet", "mgu", "mut1", "mut2", "mut3", "cwrnn"};
#define N_FURTHER (sizeof further / sizeof further[0])

static Cell make(const char *name, int X, int H) {
    Cell c;
    char err[256];
    cr_assert_eq(cell_make(&c, name, X, H, err, sizeof err), 0, "%s", err);
    return c;
}

static const ParamTensor *find(const Cell *c, const char *name) {
    for (int k = 0; k < c->n_tensors; k++)
        if (!strcmp(c->tensors[k].name, name)) return &c->tensors[k];
    return NULL;
}

/* cells.md, "Further cells": N hidden, M inputs, readout excluded */
Test(further, parameter_counts) {
    const int N = 7, M = 3;
    struct { const char *name; long count; } table[] = {
        {"indrnn", N * M + N + N},
        {"janet", 2 * N * M + 2 * N * N + 2 * N},
        {"mgu", 2 * N * M + 2 * N * N + 2 * N},
        {"mut1", 3 * N * M + 2 * N * N + 3 * N},
        {"mut2", 3 * N * M + 3 * N * N + 3 * N},
        {"mut3", 3 * N * M + 3 * N * N + 3 * N},
        {"lstm-1997", 3 * N * M + 3 * N * N + 3 * N},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        Cell c = make(table[i].name, M, N);
        cr_expect_eq((long)c.n_params, table[i].count, "%s: %zu parameters, cells.md says %ld",
                     table[i].name, c.n_params, table[i].count);
        size_t sum = 0;
        for (int k = 0; k < c.n_tensors; k++) sum += (size_t)c.tensors[k].rows * c.tensors[k].cols;
        cr_expect_eq(sum, c.n_params, "%s: tensors do not tile the parameter array", table[i].name);
    }
}

/* names and shapes of cells.md: weight_ih, weight_hh, bias, blocks stacked */
Test(further, layout) {
    const int H = 5, X = 2;
    struct { const char *name; int ih_rows, hh_rows, hh_cols, bias_rows; } t[] = {
        {"indrnn", H, H, 1, H},         /* u is a vector */
        {"janet", 2 * H, 2 * H, H, 2 * H}, {"mgu", 2 * H, 2 * H, H, 2 * H},
        {"mut1", 3 * H, 2 * H, H, 3 * H}, /* MUT1's z has no recurrence */
        {"mut2", 3 * H, 3 * H, H, 3 * H}, {"mut3", 3 * H, 3 * H, H, 3 * H},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Cell c = make(t[i].name, X, H);
        cr_expect_eq(c.n_tensors, 3, "%s: %d tensors", t[i].name, c.n_tensors);
        cr_expect_str_eq(c.tensors[0].name, "weight_ih");
        cr_expect_str_eq(c.tensors[1].name, "weight_hh");
        cr_expect_str_eq(c.tensors[2].name, "bias");
        cr_expect_eq(find(&c, "weight_ih")->rows, t[i].ih_rows, "%s weight_ih rows", t[i].name);
        cr_expect_eq(find(&c, "weight_ih")->cols, X, "%s weight_ih cols", t[i].name);
        cr_expect_eq(find(&c, "weight_hh")->rows, t[i].hh_rows, "%s weight_hh rows", t[i].name);
        cr_expect_eq(find(&c, "weight_hh")->cols, t[i].hh_cols, "%s weight_hh cols", t[i].name);
        cr_expect_eq(find(&c, "bias")->rows, t[i].bias_rows, "%s bias rows", t[i].name);
        cr_expect_eq(c.has_c, 0, "%s has no second state", t[i].name);
        cr_expect_str_eq(c.name, t[i].name);
    }
}

/* the recorded gates are the blocks of an act row, in cells.md's order */
Test(further, gates) {
    struct { const char *name; const char *gates; } t[] = {
        {"indrnn", ""}, {"janet", "f c"}, {"mgu", "f n"}, {"mut1", "z r h"}, {"mut2", "z r h"},
        {"mut3", "z r h"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Cell c = make(t[i].name, 2, 4);
        char got[32] = "";
        for (int g = 0; g < c.n_gates; g++) {
            if (g) strcat(got, " ");
            strcat(got, c.gate_names[g]);
        }
        cr_expect_str_eq(got, t[i].gates, "%s gates '%s'", t[i].name, got);
        cr_expect(c.n_gates <= c.n_blocks, "%s: a gate beyond the act row", t[i].name);
    }
}

Test(further, names) {
    Cell c = make("lstm-1997", 2, 3); /* the alias: NFG + NP, the LSTM kind's own */
    cr_expect_str_eq(c.name, "lstm+nfg");
    cr_expect_null(find(&c, "peep_i"));
    cr_expect_eq(find(&c, "weight_hh")->rows, 3 * 3);
    const char *bad[] = {"mut", "mut4", "mut0", "janet+nfg", "indrnn-relu", "mgu2", "MGU", "janet "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        cr_expect_neq(cell_make(&c, bad[i], 2, 3, err, sizeof err), 0, "'%s' accepted", bad[i]);
        cr_expect(strstr(err, "unknown cell") != NULL, "%s: %s", bad[i], err);
    }
}

/* ------------------------------------------------------------------------- */
/* initialisation */

static void init_params(const Model *m, real *params, const CellInit *init, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    model_init_cell(m, params, &rng, 0.1, init);
}

/* Li et al. 2018: u ~ U(0, 1), whatever the uniform draw of the rest */
Test(further, indrnn_init) {
    Model m;
    char err[256];
    const int H = 200;
    cr_assert_eq(model_make(&m, "indrnn", 3, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    real *p = malloc(m.n_params * sizeof(real));
    const CellInit init = {1.0, 0};
    init_params(&m, p, &init, 3);
    const real *u = p + model_tensor(&m, "weight_hh")->offset;
    double lo = 1, hi = 0, mean = 0;
    for (int j = 0; j < H; j++) {
        cr_expect(u[j] >= 0 && u[j] < 1, "u[%d] = %g outside [0, 1)", j, (double)u[j]);
        lo = fmin(lo, u[j]);
        hi = fmax(hi, u[j]);
        mean += u[j] / H;
    }
    /* 200 draws of U(0,1): min < 0.05 and max > 0.95 fail with probability ~1e-4 */
    cr_expect(lo < 0.05 && hi > 0.95, "u spans [%g, %g], not U(0,1)", lo, hi);
    cr_expect(fabs(mean - 0.5) < 0.1, "mean of u %g", mean);
    /* the input weights keep the scale of the uniform draw */
    const ParamTensor *w = model_tensor(&m, "weight_ih");
    for (size_t k = 0; k < (size_t)w->rows * w->cols; k++) cr_expect(fabs(p[w->offset + k]) <= 0.1);
    free(p);
}

/* janet: chrono b_f = log(u), u ~ U[1, T_max - 1] when chrono; a number is a
   constant b_f; NAN leaves the draw; b_c is never touched */
Test(further, janet_forget_bias) {
    Model m;
    char err[256];
    const int H = 100, T = 50;
    cr_assert_eq(model_make(&m, "janet", 3, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    real *p = malloc(m.n_params * sizeof(real)), *q = malloc(m.n_params * sizeof(real));
    const size_t bias = model_tensor(&m, "bias")->offset;

    const CellInit chrono = {NAN, T}, constant = {0.5, 0}, drawn = {NAN, 0};
    init_params(&m, p, &chrono, 4);
    double lo = 1e9, hi = -1e9;
    for (int j = 0; j < H; j++) {
        lo = fmin(lo, p[bias + j]);
        hi = fmax(hi, p[bias + j]);
    }
    cr_expect(lo >= 0 && hi <= log(T - 1) + 1e-12, "chrono b_f in [%g, %g], outside [0, log %d]", lo,
              hi, T - 1);
    cr_expect(hi - lo > 1, "chrono b_f barely spread: [%g, %g]", lo, hi);
    for (int j = 0; j < H; j++) cr_expect(fabs(p[bias + H + j]) <= 0.1, "b_c changed by chrono");

    init_params(&m, p, &constant, 4);
    for (int j = 0; j < H; j++) cr_expect_eq(p[bias + j], (real)0.5);

    init_params(&m, p, &drawn, 4);
    Rng rng;
    rng_seed(&rng, 4);
    for (size_t k = 0; k < m.n_params; k++) q[k] = (real)rng_range(&rng, -0.1, 0.1);
    cr_expect(memcmp(p, q, m.n_params * sizeof(real)) == 0, "NAN forget_bias changed the draw");
    free(p);
    free(q);
}

/* the cells without a special initialisation keep the uniform draw */
Test(further, plain_init) {
    const char *plain[] = {"mgu", "mut1", "mut2", "mut3"};
    for (size_t i = 0; i < 4; i++) {
        Model m;
        char err[256];
        cr_assert_eq(model_make(&m, plain[i], 3, 6, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
        real *p = malloc(m.n_params * sizeof(real)), *q = malloc(m.n_params * sizeof(real));
        const CellInit init = {1.0, 30};
        init_params(&m, p, &init, 8);
        Rng rng;
        rng_seed(&rng, 8);
        for (size_t k = 0; k < m.n_params; k++) q[k] = (real)rng_range(&rng, -0.1, 0.1);
        cr_expect(memcmp(p, q, m.n_params * sizeof(real)) == 0, "%s: init changed the draw", plain[i]);
        free(p);
        free(q);
    }
}

/* ------------------------------------------------------------------------- */
/* workspace discipline, as test_cells.c checks the older cells */

/* A kernel that reads stale scratch memory passes every test that starts from
   zeroed memory: fill the workspace with NaN, require identical results. Both
   input paths (X small and wide). */
Test(further, garbage_workspace_gives_same_result) {
    const int T = 9, B = 3, H = 4, Y = 3;
    const int widths[] = {2, 21};
    for (size_t ci = 0; ci < N_FURTHER; ci++) {
        for (int wi = 0; wi < 2; wi++) {
            const int X = widths[wi];
            Model m;
            char err[256];
            cr_assert_eq(model_make(&m, further[ci], X, H, Y, LOSS_XENT, err, sizeof err), 0);
            real *params = malloc(m.n_params * sizeof(real));
            real *g[2] = {calloc(m.n_params, sizeof(real)), calloc(m.n_params, sizeof(real))};
            real *x = malloc((size_t)T * B * X * sizeof(real));
            real *target = calloc((size_t)T * B * Y, sizeof(real));
            real *mask = malloc((size_t)T * B * sizeof(real));
            real *dx0 = malloc((size_t)T * B * X * sizeof(real));
            Rng rng;
            rng_seed(&rng, 5);
            model_init(&m, params, &rng, 0.5, 1.0);
            for (int k = 0; k < T * B * X; k++) x[k] = (real)rng_range(&rng, -1, 1);
            for (int r = 0; r < T * B; r++) {
                target[r * Y + rng_int(&rng, Y)] = 1;
                mask[r] = r % 4 != 1;
            }
            double loss[2];
            real flow[2][T];
            for (int pass = 0; pass < 2; pass++) {
                ModelWork w;
                cr_assert_eq(model_work_alloc(&m, T, B, &w), 0);
                if (pass == 1) {
                    size_t n = (model_work_size(&m, T, B) - T * sizeof(int)) / sizeof(real);
                    for (size_t k = 0; k < n; k++) w.block[k] = NAN;
                }
                model_zero_state(&m, &w);
                loss[pass] = model_forward(&m, params, x, target, mask, &w);
                model_backward(&m, params, x, &w, g[pass], flow[pass], NULL);
                if (pass == 0) memcpy(dx0, w.dx, (size_t)T * B * X * sizeof(real));
                else cr_expect(memcmp(dx0, w.dx, (size_t)T * B * X * sizeof(real)) == 0,
                               "%s X=%d: dx differs on a dirty workspace", further[ci], X);
                model_work_free(&w);
            }
            cr_expect(isfinite(loss[0]), "%s X=%d: loss %g", further[ci], X, loss[0]);
            cr_expect(loss[0] == loss[1], "%s X=%d: loss %.17g vs %.17g", further[ci], X, loss[0], loss[1]);
            cr_expect(memcmp(g[0], g[1], m.n_params * sizeof(real)) == 0,
                      "%s X=%d: gradients differ on a dirty workspace", further[ci], X);
            cr_expect(memcmp(flow[0], flow[1], sizeof flow[0]) == 0, "%s X=%d: gradient flow differs",
                      further[ci], X);
            free(params); free(g[0]); free(g[1]); free(x); free(target); free(mask); free(dx0);
        }
    }
}

/* O(T) memory for the activations */
Test(further, cache_linear_in_T) {
    for (size_t ci = 0; ci < N_FURTHER; ci++) {
        Cell c = make(further[ci], 3, 8);
        size_t s1 = cell_cache_size(&c, 100, 4), s2 = cell_cache_size(&c, 200, 4);
        size_t s3 = cell_cache_size(&c, 300, 4);
        cr_expect_eq(s2 - s1, s3 - s2, "%s: cache not linear in T", further[ci]);
    }
}

/* the scheduler's cost: the multiply-adds of the products cells.md implies */
Test(further, step_madds) {
    const double X = 3, H = 8;
    struct { const char *name; double madds; } t[] = {
        {"indrnn", X * H}, {"janet", (X + H) * 2 * H}, {"mgu", (X + H) * 2 * H},
        {"mut1", X * 3 * H + 2 * H * H}, {"mut2", (X + H) * 3 * H}, {"mut3", (X + H) * 3 * H},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Cell c = make(t[i].name, (int)X, (int)H);
        cr_expect_eq(cell_step_madds(&c), t[i].madds, "%s: %g madds", t[i].name, cell_step_madds(&c));
    }
}

/* ------------------------------------------------------------------------- */
/* "Like with like" (docs/cells.md): the closest existing cell of two of them
   is the same function under a change of parameters, which a forward pass
   shows exactly. */

/* h (T+1,B,H) of a forward pass of `c` from h_0 = 0; the caller frees it */
static real *forward_h(const Cell *c, const real *params, const real *x, int T, int B) {
    CellCache cc;
    real *block = calloc(cell_cache_size(c, T, B), sizeof(real));
    cell_cache_point(c, T, B, block, &cc);
    cell_forward(c, params, x, &cc);
    size_t n = (size_t)(T + 1) * B * c->H;
    real *h = malloc(n * sizeof(real));
    memcpy(h, cc.h, n * sizeof(real));
    free(block);
    return h;
}

static void random_fill(real *v, size_t n, double lo, double hi, Rng *rng) {
    for (size_t k = 0; k < n; k++) v[k] = (real)rng_range(rng, lo, hi);
}

static void expect_same_h(const real *a, const real *b, size_t n, const char *what) {
    double worst = 0;
    for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs(a[k] - b[k]));
    cr_expect(worst < 1e-13, "%s: h differs by %.3g", what, worst);
}

/* indrnn with u is irnn (ReLU) with R = diag(u) */
Test(further, indrnn_is_irnn_with_diagonal_R) {
    const int T = 12, B = 3, X = 2, H = 5;
    Cell ind = make("indrnn", X, H), irnn = make("irnn", X, H);
    real *p = malloc(ind.n_params * sizeof(real)), *q = calloc(irnn.n_params, sizeof(real));
    real *x = malloc((size_t)T * B * X * sizeof(real));
    Rng rng;
    rng_seed(&rng, 11);
    random_fill(p, ind.n_params, -0.8, 0.8, &rng);
    random_fill(x, (size_t)T * B * X, -1, 1, &rng);
    const ParamTensor *iw = find(&ind, "weight_ih"), *iu = find(&ind, "weight_hh"), *ib = find(&ind, "bias");
    const ParamTensor *rw = find(&irnn, "weight_ih"), *rr = find(&irnn, "weight_hh"), *rb = find(&irnn, "bias");
    memcpy(q + rw->offset, p + iw->offset, (size_t)H * X * sizeof(real));
    memcpy(q + rb->offset, p + ib->offset, (size_t)H * sizeof(real));
    for (int j = 0; j < H; j++) q[rr->offset + (size_t)j * H + j] = p[iu->offset + j];
    real *h1 = forward_h(&ind, p, x, T, B), *h2 = forward_h(&irnn, q, x, T, B);
    expect_same_h(h1, h2, (size_t)(T + 1) * B * H, "indrnn vs irnn with R = diag(u)");
    free(h1); free(h2); free(p); free(q); free(x);
}

/* Once the paper's raw x in r is a projection, MUT2 is gru (reset before the
   product) with z = 1 - u: blocks z, r, h are gru's -u, r, n. */
Test(further, mut2_is_gru_with_z_one_minus_u) {
    const int T = 12, B = 3, X = 2, H = 5;
    Cell mut = make("mut2", X, H), gru = make("gru", X, H);
    cr_assert_eq(mut.n_params, gru.n_params);
    real *p = malloc(mut.n_params * sizeof(real)), *q = malloc(gru.n_params * sizeof(real));
    real *x = malloc((size_t)T * B * X * sizeof(real));
    Rng rng;
    rng_seed(&rng, 12);
    random_fill(p, mut.n_params, -0.8, 0.8, &rng);
    random_fill(x, (size_t)T * B * X, -1, 1, &rng);
    const char *names[] = {"weight_ih", "weight_hh", "bias"};
    for (int k = 0; k < 3; k++) {
        const ParamTensor *m = find(&mut, names[k]), *g = find(&gru, names[k]);
        const size_t blk = (size_t)H * m->cols; /* one gate block of the tensor */
        const real *mz = p + m->offset, *mr = mz + blk, *mh = mr + blk;
        real *gr = q + g->offset, *gu = gr + blk, *gn = gu + blk;
        for (size_t e = 0; e < blk; e++) {
            gr[e] = mr[e];
            gu[e] = -mz[e]; /* σ(-a) = 1 - σ(a) */
            gn[e] = mh[e];
        }
    }
    real *h1 = forward_h(&mut, p, x, T, B), *h2 = forward_h(&gru, q, x, T, B);
    expect_same_h(h1, h2, (size_t)(T + 1) * B * H, "mut2 vs gru with u = 1 - z");
    free(h1); free(h2); free(p); free(q); free(x);
}

/* ------------------------------------------------------------------------- */
/* cwrnn: modules, periods and the blocks of weight_hh below the diagonal */

/* cells.md: HX + H + (H/g)^2 g(g+1)/2; the layout holds weight_hh whole and
   n_fixed counts its blocks j < k */
Test(cwrnn, parameter_count_and_layout) {
    struct { const char *name; int X, H, g; } t[] = {
        {"cwrnn", 3, 8, 4}, {"cwrnn", 5, 32, 4}, {"cwrnn+m2", 2, 6, 2}, {"cwrnn+m1", 3, 5, 1},
        {"cwrnn+m8", 1, 16, 8}, {"cwrnn+p1.3.9", 4, 9, 3}, {"cwrnn+p2.5", 3, 10, 2},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const long X = t[i].X, H = t[i].H, g = t[i].g, m = H / g;
        Cell c = make(t[i].name, (int)X, (int)H);
        long count = (long)(c.n_params - c.n_fixed);
        cr_expect_eq(count, H * X + H + m * m * g * (g + 1) / 2, "%s X=%ld H=%ld: %ld parameters", t[i].name,
                     X, H, count);
        cr_expect_eq((long)c.n_fixed, m * m * g * (g - 1) / 2, "%s: %zu fixed", t[i].name, c.n_fixed);
        cr_expect_eq(c.n_params, (size_t)(H * X + H * H + H), "%s: weight_hh is stored whole", t[i].name);
        cr_expect_eq(c.n_tensors, 3);
        cr_expect_str_eq(c.tensors[0].name, "weight_ih");
        cr_expect_str_eq(c.tensors[1].name, "weight_hh");
        cr_expect_eq(find(&c, "weight_hh")->rows, H);
        cr_expect_eq(find(&c, "weight_hh")->cols, H);
        cr_expect_str_eq(c.tensors[2].name, "bias");
        cr_expect_eq(c.has_c, 0);
        cr_expect_eq(c.n_gates, 0);
    }
    /* the cells of every other kind have nothing fixed */
    const char *others[] = {"rnn", "lstm-peep+fgr", "gru-ra", "indrnn", "janet", "mgu", "mut1"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        cr_expect_eq(make(others[i], 3, 6).n_fixed, 0, "%s", others[i]);
}

Test(cwrnn, names) {
    struct { const char *given; int H; const char *canonical; } ok[] = {
        {"cwrnn", 8, "cwrnn"}, {"cwrnn+m4", 8, "cwrnn"}, {"cwrnn+p1.2.4.8", 8, "cwrnn"},
        {"cwrnn+p1.2.4", 6, "cwrnn+m3"}, {"cwrnn+m16", 32, "cwrnn+m16"}, {"cwrnn+p1.3", 4, "cwrnn+p1.3"},
        {"cwrnn+p2.4", 4, "cwrnn+p2.4"}, {"cwrnn+p1", 3, "cwrnn+m1"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        Cell c = make(ok[i].given, 2, ok[i].H);
        cr_expect_str_eq(c.name, ok[i].canonical, "%s", ok[i].given);
    }
    struct { const char *name; int H; const char *err; } bad[] = {
        {"cwrnn+m3", 8, "cell 'cwrnn+m3': its 3 modules must divide the hidden size, got 8"},
        {"cwrnn", 6, "cell 'cwrnn': its 4 modules must divide the hidden size, got 6"},
        {"cwrnn+m0", 8, "cell 'cwrnn+m0': modules: expected m<G> with G from 1 to 32, got 'm0'"},
        {"cwrnn+m33", 33, "cell 'cwrnn+m33': modules: expected m<G> with G from 1 to 32, got 'm33'"},
        {"cwrnn+m2x", 8, "cell 'cwrnn+m2x': modules: expected m<G> with G from 1 to 32, got 'm2x'"},
        {"cwrnn+p4.2", 8, "cell 'cwrnn+p4.2': periods: must increase strictly (slower modules come later), got 'p4.2'"},
        {"cwrnn+p1.1", 8, "cell 'cwrnn+p1.1': periods: must increase strictly (slower modules come later), got 'p1.1'"},
        {"cwrnn+p1..2", 8, "cell 'cwrnn+p1..2': periods: expected p<T0>.<T1>... of whole numbers from 1 to "
                           "1073741824, got 'p1..2'"},
        {"cwrnn+p0.2", 8, "cell 'cwrnn+p0.2': periods: expected p<T0>.<T1>... of whole numbers from 1 to "
                          "1073741824, got 'p0.2'"},
        {"cwrnn+m2+p1.2", 8, "cell 'cwrnn+m2+p1.2': give one of +m<G> and +p<T0>.<T1>..."},
        {"cwrnn+", 8, "cell 'cwrnn+': expected +m<G> (modules) or +p<T0>.<T1>... (periods), got '+'"},
        {"cwrnn+nfg", 8, "cell 'cwrnn+nfg': expected +m<G> (modules) or +p<T0>.<T1>... (periods), got '+nfg'"},
        {"cwrnn2", 8, "unknown cell 'cwrnn2' (try: rnnbench list cells)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Cell c;
        char err[256] = "";
        cr_expect_eq(cell_make(&c, bad[i].name, 2, bad[i].H, err, sizeof err), -1, "'%s' accepted", bad[i].name);
        cr_expect_str_eq(err, bad[i].err);
    }
}

/* a (T,B,X) random input, h_0 and parameters of scale 0.8 for c */
static void cw_problem(const Cell *c, int T, int B, real **params, real **x, real **h0, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    *params = malloc(c->n_params * sizeof(real));
    *x = malloc((size_t)T * B * c->X * sizeof(real));
    *h0 = malloc((size_t)B * c->H * sizeof(real));
    random_fill(*params, c->n_params, -0.8, 0.8, &rng);
    random_fill(*x, (size_t)T * B * c->X, -1, 1, &rng);
    random_fill(*h0, (size_t)B * c->H, -0.9, 0.9, &rng);
}

/* h (T+1,B,H) from h_0; the caller frees it */
static real *cw_forward(const Cell *c, const real *params, const real *x, const real *h0, int T, int B) {
    CellCache cc;
    real *block = calloc(cell_cache_size(c, T, B), sizeof(real));
    cell_cache_point(c, T, B, block, &cc);
    memcpy(cc.h, h0, (size_t)B * c->H * sizeof(real));
    cell_forward(c, params, x, &cc);
    size_t n = (size_t)(T + 1) * B * c->H;
    real *h = malloc(n * sizeof(real));
    memcpy(h, cc.h, n * sizeof(real));
    free(block);
    return h;
}

/* module k of step t (numbered from 0) runs when t mod T_k = 0, and
   otherwise keeps its value bit for bit; a running one changes. Both input
   paths; T = 23 is no multiple of the longest period. */
Test(cwrnn, a_resting_module_keeps_its_value_exactly) {
    struct { const char *name; int H; int periods[4]; int g; } t[] = {
        {"cwrnn", 8, {1, 2, 4, 8}, 4}, {"cwrnn+p2.3.7", 6, {2, 3, 7}, 3},
    };
    const int T = 23, B = 3;
    const int widths[] = {2, 21};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        for (int w = 0; w < 2; w++) {
            Cell c = make(t[i].name, widths[w], t[i].H);
            real *params, *x, *h0;
            cw_problem(&c, T, B, &params, &x, &h0, 21 + i);
            real *h = cw_forward(&c, params, x, h0, T, B);
            const int H = t[i].H, m = H / t[i].g;
            int rested = 0, ran = 0;
            for (int s = 0; s < T; s++)
                for (int k = 0; k < t[i].g; k++)
                    for (int b = 0; b < B; b++) {
                        const real *before = h + ((size_t)s * B + b) * H + k * m;
                        const real *after = before + (size_t)B * H;
                        int same = memcmp(before, after, (size_t)m * sizeof(real)) == 0;
                        if (s % t[i].periods[k]) {
                            cr_expect(same, "%s X=%d: module %d changed at step %d", t[i].name, widths[w], k, s);
                            rested++;
                        } else {
                            cr_expect(!same, "%s X=%d: module %d kept its value at step %d, when it runs",
                                      t[i].name, widths[w], k, s);
                            ran++;
                        }
                    }
            cr_expect(rested > 0 && ran > 0);
            free(h); free(params); free(x); free(h0);
        }
}

/* the blocks j < k are no part of the cell: whatever they hold, forward is
   the same, and initialisation sets them to zero */
Test(cwrnn, the_blocks_below_the_diagonal_are_not_read_and_start_at_zero) {
    const int T = 17, B = 2, X = 3, H = 8, m = 2;
    Cell c = make("cwrnn", X, H);
    real *params, *x, *h0;
    cw_problem(&c, T, B, &params, &x, &h0, 5);
    const size_t R = find(&c, "weight_hh")->offset;
    real *h1 = cw_forward(&c, params, x, h0, T, B);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < (i / m) * m; j++) params[R + (size_t)i * H + j] = (real)(1e3 * (i + 1) - j);
    real *h2 = cw_forward(&c, params, x, h0, T, B);
    cr_expect(memcmp(h1, h2, (size_t)(T + 1) * B * H * sizeof(real)) == 0, "forward read a block j < k");
    Model mo;
    char err[256];
    cr_assert_eq(model_make(&mo, "cwrnn", X, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    real *p = malloc(mo.n_params * sizeof(real));
    Rng rng;
    rng_seed(&rng, 3);
    model_init(&mo, p, &rng, 0.5, 1.0);
    int upper_nonzero = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) {
            real v = p[R + (size_t)i * H + j];
            if (j / m < i / m) cr_expect_eq(v, 0, "R[%d][%d] = %g after init", i, j, (double)v);
            else upper_nonzero += v != 0;
        }
    cr_expect_eq(upper_nonzero, H * H - (int)mo.cell.n_fixed, "the blocks j >= k keep their draw");
    free(h1); free(h2); free(params); free(x); free(h0); free(p);
}

/* their gradient is exactly zero, and after training steps (Adam and SGD
   with momentum on the model's whole parameter array) they are still zero */
Test(cwrnn, the_fixed_blocks_stay_zero_through_training) {
    const int T = 13, B = 4, X = 21, H = 12, Y = 3, m = 3;
    Model mo;
    char err[256];
    cr_assert_eq(model_make(&mo, "cwrnn", X, H, Y, LOSS_XENT, err, sizeof err), 0, "%s", err);
    const size_t R = model_tensor(&mo, "weight_hh")->offset;
    for (int opt = 0; opt < 2; opt++) {
        RunConfig cfg;
        config_default(&cfg);
        cfg.optimizer = opt ? OPT_SGD : OPT_ADAM;
        cfg.momentum = opt ? 0.9 : 0;
        cfg.lr = 0.05;
        real *p = malloc(mo.n_params * sizeof(real)), *g = malloc(mo.n_params * sizeof(real));
        size_t n_state = optim_state_reals(&cfg, mo.n_params);
        real *state = n_state ? calloc(n_state, sizeof(real)) : NULL;
        Optimizer o;
        optim_init(&o, &cfg, mo.n_params, state);
        real *x = malloc((size_t)T * B * X * sizeof(real)), *target = calloc((size_t)T * B * Y, sizeof(real));
        real *mask = malloc((size_t)T * B * sizeof(real));
        Rng rng;
        rng_seed(&rng, 9);
        model_init(&mo, p, &rng, 0, 1.0);
        ModelWork w;
        cr_assert_eq(model_work_alloc(&mo, T, B, &w), 0);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            random_fill(x, (size_t)T * B * X, -1, 1, &rng);
            memset(target, 0, (size_t)T * B * Y * sizeof(real));
            for (int r = 0; r < T * B; r++) {
                target[r * Y + (x[(size_t)r * X] > 0)] = 1; /* learnable: the sign of an input */
                mask[r] = 1;
            }
            memset(g, 0, mo.n_params * sizeof(real));
            model_zero_state(&mo, &w);
            double loss = model_forward(&mo, p, x, target, mask, &w);
            model_backward(&mo, p, x, &w, g, NULL, NULL);
            if (step == 0) first = loss;
            last = loss;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < (i / m) * m; j++)
                    cr_assert_eq(g[R + (size_t)i * H + j], 0, "step %d: gradient of R[%d][%d] = %g", step, i, j,
                                 (double)g[R + (size_t)i * H + j]);
            optim_step(&o, p, g);
        }
        for (int i = 0; i < H; i++)
            for (int j = 0; j < (i / m) * m; j++)
                cr_expect_eq(p[R + (size_t)i * H + j], 0, "%s: R[%d][%d] = %g after 30 steps", opt ? "sgd" : "adam",
                             i, j, (double)p[R + (size_t)i * H + j]);
        cr_expect(last < first, "%s: no learning (%g -> %g), the check above ran on a dead model",
                  opt ? "sgd" : "adam", first, last);
        model_work_free(&w);
        free(p); free(g); free(state); free(x); free(target); free(mask);
    }
}

/* the scheduler's cost: the input projection of every unit each step, and
   module k's recurrent product (H - km columns of m rows) one step in T_k */
Test(cwrnn, step_madds) {
    Cell c = make("cwrnn", 3, 8); /* m = 2, periods 1, 2, 4, 8 */
    double want = 3 * 8 + 2.0 * 8 / 1 + 2.0 * 6 / 2 + 2.0 * 4 / 4 + 2.0 * 2 / 8;
    cr_expect_eq(cell_step_madds(&c), want, "%g madds, expected %g", cell_step_madds(&c), want);
}

/* one module of period 1 is the Elman RNN: the same layout, the same function */
Test(cwrnn, one_module_is_rnn) {
    const int T = 15, B = 3, X = 2, H = 6;
    Cell cw = make("cwrnn+m1", X, H), rnn = make("rnn", X, H);
    cr_assert_eq(cw.n_params, rnn.n_params);
    cr_expect_eq(cw.n_fixed, 0);
    real *params, *x, *h0;
    cw_problem(&cw, T, B, &params, &x, &h0, 17);
    real *h1 = cw_forward(&cw, params, x, h0, T, B), *h2 = cw_forward(&rnn, params, x, h0, T, B);
    expect_same_h(h1, h2, (size_t)(T + 1) * B * H, "cwrnn+m1 vs rnn");
    free(h1); free(h2); free(params); free(x); free(h0);
}
