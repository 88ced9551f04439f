/* test_cells.c: forward values, shapes, parameter counts and the activation
   cache of the cells (double precision). Gradients are in test_grad.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/model.h"

static Cell make(const char *name, int X, int H) {
    Cell c;
    char err[256];
    cr_assert_eq(cell_make(&c, name, X, H, err, sizeof err), 0, "%s", err);
    return c;
}

/* ------------------------------------------------------------------------- */
/* Forward values of a 2-unit cell over 3 steps against numbers computed
   independently by tests/reference/hand_forward.py (numpy, written from
   cells.md, no code shared with cells/): every parameter k of the cell, in tensor
   order, is 0.1 * ((7k mod 11) - 5); x = 1, -0.5, 0.25 (X = 1); h_0 = c_0 = 0. */
static void check_forward(const char *name, const double expect[6]) {
    Cell c = make(name, 1, 2);
    real *params = malloc(c.n_params * sizeof(real));
    for (size_t k = 0; k < c.n_params; k++) params[k] = 0.1 * (double)((int)((k * 7) % 11) - 5);
    real x[3] = {1.0, -0.5, 0.25};
    CellCache cc;
    real *block = calloc(cell_cache_size(&c, 3, 1), sizeof(real));
    cell_cache_point(&c, 3, 1, block, &cc);
    cell_forward(&c, params, x, &cc);
    for (int k = 0; k < 6; k++) {
        double got = cc.h[2 + k]; /* skip h_0 */
        cr_expect(fabs(got - expect[k]) < 1e-12, "%s: h[%d][%d] = %.15f, expected %.15f", name,
                  k / 2 + 1, k % 2, got, expect[k]);
    }
    free(block);
    free(params);
}

Test(forward, rnn_by_hand) {
    const double e[6] = {-0.099667994624956, 0.197375320224904, 0.646127021778553,
                         -0.167583597315793, 0.061903542222045, 0.163409533597170};
    check_forward("rnn", e);
}

Test(forward, lstm_peep_by_hand) {
    const double e[6] = {0.078987536206669, -0.109508975319000, 0.084999308215451,
                         0.026232057638124, 0.125027424854452, -0.017719037676078};
    check_forward("lstm-peep", e);
}

Test(forward, gru_by_hand) {
    const double e[6] = {-0.180483664767010, -0.039997996134841, -0.320523249070032,
                         0.195462605207208, -0.397474734787493, 0.197920632687756};
    check_forward("gru", e);
}

Test(forward, gru_ra_by_hand) {
    const double e[6] = {-0.210262748545760, 0.049937188151401, -0.371959957455647,
                         0.334862437493648, -0.458555767088988, 0.393366904093308};
    check_forward("gru-ra", e);
}

/* ------------------------------------------------------------------------- */
/* parameter counts of cells.md (N hidden, M inputs, readout excluded) */

Test(shapes, parameter_counts) {
    const int N = 7, M = 3;
    struct { const char *name; long count; } table[] = {
        {"rnn", N * M + N * N + N},
        {"irnn", N * M + N * N + N},
        {"lstm-peep", 4 * N * M + 4 * N * N + 4 * N + 3 * N},
        {"lstm-niaf", 4 * N * M + 4 * N * N + 4 * N + 3 * N},
        {"lstm-noaf", 4 * N * M + 4 * N * N + 4 * N + 3 * N},
        {"lstm", 4 * N * M + 4 * N * N + 4 * N},
        {"lstm-nig", 3 * N * M + 3 * N * N + 3 * N + 2 * N},
        {"lstm-nfg", 3 * N * M + 3 * N * N + 3 * N + 2 * N},
        {"lstm-nog", 3 * N * M + 3 * N * N + 3 * N + 2 * N},
        {"lstm-cifg", 3 * N * M + 3 * N * N + 3 * N + 2 * N},
        {"lstm-fgr", 4 * N * M + 4 * N * N + 4 * N + 3 * N + 9 * N * N},
        {"lstm-1997", 3 * N * M + 3 * N * N + 3 * N},
        {"lstm+cifg", 3 * N * M + 3 * N * N + 3 * N},
        {"lstm+nig+nog", 2 * N * M + 2 * N * N + 2 * N},
        {"lstm-peep+cifg+fgr", 3 * N * M + 3 * N * N + 3 * N + 2 * N + 4 * N * N},
        {"gru", 3 * N * M + 3 * N * N + 3 * N},
        {"gru-ra", 3 * N * M + 3 * N * N + 3 * N + N},
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

static const ParamTensor *find(const Cell *c, const char *name) {
    for (int k = 0; k < c->n_tensors; k++)
        if (!strcmp(c->tensors[k].name, name)) return &c->tensors[k];
    return NULL;
}

/* a removed gate has no block at all, and peepholes follow their gates */
Test(shapes, removed_gates_remove_blocks) {
    const int H = 5, X = 2;
    struct { const char *name; int rows; int pi, pf, po; } t[] = {
        {"lstm-peep", 4 * H, 1, 1, 1}, {"lstm-nig", 3 * H, 0, 1, 1}, {"lstm-nfg", 3 * H, 1, 0, 1},
        {"lstm-nog", 3 * H, 1, 1, 0},  {"lstm-cifg", 3 * H, 1, 0, 1}, {"lstm", 4 * H, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Cell c = make(t[i].name, X, H);
        cr_expect_eq(find(&c, "weight_ih")->rows, t[i].rows, "%s weight_ih rows", t[i].name);
        cr_expect_eq(find(&c, "weight_hh")->rows, t[i].rows, "%s weight_hh rows", t[i].name);
        cr_expect_eq(find(&c, "bias")->rows, t[i].rows, "%s bias rows", t[i].name);
        cr_expect_eq(find(&c, "peep_i") != NULL, t[i].pi, "%s peep_i", t[i].name);
        cr_expect_eq(find(&c, "peep_f") != NULL, t[i].pf, "%s peep_f", t[i].name);
        cr_expect_eq(find(&c, "peep_o") != NULL, t[i].po, "%s peep_o", t[i].name);
    }
    Cell fgr = make("lstm-fgr", X, H);
    cr_expect_eq(find(&fgr, "weight_gg")->rows, 3 * H);
    cr_expect_eq(find(&fgr, "weight_gg")->cols, 3 * H);
}

Test(names, canonical_and_errors) {
    struct { const char *in, *canon; } ok[] = {
        {"lstm-peep+nfg", "lstm-nfg"}, {"lstm+peep", "lstm-peep"}, {"lstm-1997", "lstm+nfg"},
        {"lstm+cifg+np", "lstm+cifg"}, {"lstm-cifg+np", "lstm+cifg"}, {"gru-ra", "gru-ra"},
        {"lstm-peep+noaf+nfg", "lstm-peep+nfg+noaf"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        Cell c = make(ok[i].in, 2, 3);
        cr_expect_str_eq(c.name, ok[i].canon, "%s -> %s, expected %s", ok[i].in, c.name, ok[i].canon);
    }
    const char *bad[] = {"lstm-nxg", "gru+nfg", "lstm+", "lstm++nfg", "rnn-peep", "", "LSTM",
                         "lstm-nig+cifg"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Cell c;
        char err[256] = "";
        cr_expect_neq(cell_make(&c, bad[i], 2, 3, err, sizeof err), 0, "'%s' accepted", bad[i]);
        cr_expect(strlen(err) > 0);
    }
    Cell c;
    char err[256];
    cell_make(&c, "lstm-nxg", 2, 3, err, sizeof err);
    cr_expect_str_eq(err, "unknown cell 'lstm-nxg' (try: rnnbench list cells)");
}

/* ------------------------------------------------------------------------- */
/* A kernel that reads stale scratch memory passes every test that starts from
   zeroed memory (lessons.md): fill the whole workspace with NaN, run forward
   and backward, and require results identical to a run on a zeroed one. */
/* with 3 outputs, and with 20 at this batch of 3, where model.c forms the
   readout's dL/dh before backward (dh_top), zeroing the steps without a loss
   (step 2 here) itself */
Test(cache, garbage_workspace_gives_same_result) {
    const char *cells[] = {"rnn", "irnn", "lstm-peep", "lstm-fgr", "lstm+cifg", "gru", "gru-ra",
                           "lstm-peep+nig+nfg+nog"};
    const int T = 9, B = 3, X = 2, H = 4;
    for (int Y = 3; Y <= 20; Y += 17)
    for (size_t ci = 0; ci < sizeof cells / sizeof cells[0]; ci++) {
        Model m;
        char err[256];
        cr_assert_eq(model_make(&m, cells[ci], X, H, Y, LOSS_XENT, err, sizeof err), 0);
        real *params = malloc(m.n_params * sizeof(real));
        real *g[2] = {calloc(m.n_params, sizeof(real)), calloc(m.n_params, sizeof(real))};
        real *x = malloc((size_t)T * B * X * sizeof(real));
        real *target = calloc((size_t)T * B * Y, sizeof(real)), *mask = malloc((size_t)T * B * sizeof(real));
        Rng rng;
        rng_seed(&rng, 5);
        model_init(&m, params, &rng, 0.5, 1.0);
        for (int k = 0; k < T * B * X; k++) x[k] = (real)rng_range(&rng, -1, 1);
        for (int r = 0; r < T * B; r++) { target[r * Y + rng_int(&rng, Y)] = 1; mask[r] = r % 4 != 1; }
        for (int b = 0; b < B; b++) mask[2 * B + b] = 0;
        double loss[2];
        real dx0[T * B * X], flow[2][T];
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
            if (pass == 0) memcpy(dx0, w.dx, sizeof dx0);
            else cr_expect(memcmp(dx0, w.dx, sizeof dx0) == 0, "%s: dx differs on a dirty workspace", cells[ci]);
            model_work_free(&w);
        }
        cr_expect(loss[0] == loss[1], "%s: loss %.17g vs %.17g", cells[ci], loss[0], loss[1]);
        cr_expect(memcmp(g[0], g[1], m.n_params * sizeof(real)) == 0,
                  "%s: gradients differ on a dirty workspace", cells[ci]);
        cr_expect(memcmp(flow[0], flow[1], sizeof flow[0]) == 0, "%s: gradient flow differs", cells[ci]);
        free(params); free(g[0]); free(g[1]); free(x); free(target); free(mask);
    }
}

/* The cache grows linearly in T: O(T) memory for the activations. */
Test(cache, linear_in_T) {
    const char *cells[] = {"rnn", "lstm-peep", "lstm-fgr", "gru", "gru-ra"};
    for (size_t ci = 0; ci < sizeof cells / sizeof cells[0]; ci++) {
        Cell c = make(cells[ci], 3, 8);
        size_t s1 = cell_cache_size(&c, 100, 4), s2 = cell_cache_size(&c, 200, 4);
        size_t s3 = cell_cache_size(&c, 300, 4);
        cr_expect_eq(s2 - s1, s3 - s2, "%s: cache not linear in T", cells[ci]);
    }
}

/* ------------------------------------------------------------------------- */
/* forget_bias reaches the forget gate of every cell that has one, CIFG's
   input gate as -forget_bias (its f = 1 - i = σ(-a_i) starts where V's f
   does), and no gate of NFG (f = 1) */

static double bias_of(const Model *m, const real *params, int block, int j) {
    const ParamTensor *b = model_tensor(m, "bias");
    cr_assert_not_null(b);
    return params[b->offset + (size_t)block * m->cell.H + j];
}

Test(init, forget_bias_reaches_v_and_cifg_alike) {
    const int X = 3, H = 4;
    const CellInit init = {1.5, 0};
    Model v, cifg, nfg;
    char err[256];
    cr_assert_eq(model_make(&v, "lstm-peep", X, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_make(&cifg, "lstm-cifg", X, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_make(&nfg, "lstm-nfg", X, H, 2, LOSS_MSE, err, sizeof err), 0, "%s", err);
    real *pv = calloc(v.n_params, sizeof(real)), *pc = calloc(cifg.n_params, sizeof(real));
    real *pn = calloc(nfg.n_params, sizeof(real)), *pn_plain = calloc(nfg.n_params, sizeof(real));
    Rng rng;
    rng_seed(&rng, 7);
    model_init_cell(&v, pv, &rng, 0.1, &init);
    rng_seed(&rng, 7);
    model_init_cell(&cifg, pc, &rng, 0.1, &init);
    for (int j = 0; j < H; j++) {
        double f_v = 1 / (1 + exp(-bias_of(&v, pv, 1, j)));      /* V: blocks i, f, z, o */
        double f_cifg = 1 - 1 / (1 + exp(-bias_of(&cifg, pc, 0, j))); /* CIFG: blocks i, z, o */
        cr_expect_eq(bias_of(&v, pv, 1, j), 1.5);
        cr_expect_eq(bias_of(&cifg, pc, 0, j), -1.5);
        cr_expect(fabs(f_v - f_cifg) < 1e-15, "unit %d: initial f %g (V) vs %g (CIFG)", j, f_v, f_cifg);
    }
    /* NFG: forget_bias changes nothing */
    const CellInit zero = {0.0, 0};
    rng_seed(&rng, 7);
    model_init_cell(&nfg, pn, &rng, 0.1, &init);
    rng_seed(&rng, 7);
    model_init_cell(&nfg, pn_plain, &rng, 0.1, &zero);
    cr_expect_eq(memcmp(pn, pn_plain, nfg.n_params * sizeof(real)), 0, "NFG's parameters depend on forget_bias");
    free(pv); free(pc); free(pn); free(pn_plain);
}
