/* test_alloc.c: no allocation inside the time loop. The double test runner
   is linked with -Wl,--wrap=malloc,calloc,realloc (see the Makefile), which
   routes every allocation made by rnnbench's own code through the counters
   below; a forward and backward pass over a whole sequence, for every kind of
   cell, must make none. (BLAS libraries are shared objects and not wrapped:
   their internals are theirs.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/model.h"
#include "../../cells/graph.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
static long n_allocs;
void *__wrap_malloc(size_t n) { n_allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { n_allocs++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { n_allocs++; return __real_realloc(p, n); }

Test(alloc, none_in_forward_and_backward) {
    /* every kind, stacks (dglstm is one by definition), and a cell written as equations */
    char err[256];
    cr_assert_eq(graph_define_text("alloc-eq-lstm",
                                   "state = h, c\ni = sigmoid(W x + R h + p . c + b)\n"
                                   "z = tanh(W x + R h + b)\nc' = (1 - i) * c + i * z\n"
                                   "h' = tanh(c') * sigmoid(W x + R h + b)\n",
                                   err, sizeof err), 0, "%s", err);
    const struct { const char *cell; int layers; } cases[] = {
        {"rnn", 1}, {"irnn", 1}, {"lstm-peep", 1}, {"lstm-fgr", 1}, {"lstm+cifg", 1}, {"gru", 1},
        {"gru-ra", 1}, {"indrnn", 1}, {"janet", 1}, {"mgu", 1}, {"mut1", 1}, {"mut2", 1}, {"mut3", 1},
        {"cwrnn", 1}, {"lstm", 3}, {"gru-ra", 2}, {"dglstm", 2}, {"dglstm", 3}, {"alloc-eq-lstm", 1},
        {"alloc-eq-lstm", 2}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const char *cell = cases[ci].cell;
        Model m;
        const int T = 50, B = 4, X = 3, H = 8, Y = 2, L = cases[ci].layers;
        cr_assert_eq(model_make_stack(&m, cell, X, H, L, Y, LOSS_MSE, err, sizeof err), 0, "%s", err);
        long before_setup = n_allocs;
        real *params = malloc(m.n_params * sizeof(real)), *grads = calloc(m.n_params, sizeof(real));
        real *x = calloc((size_t)T * B * X, sizeof(real)), *target = calloc((size_t)T * B * Y, sizeof(real));
        real *mask = malloc((size_t)T * B * sizeof(real)), flow_h[MODEL_MAX_LAYERS * T],
             flow_c[MODEL_MAX_LAYERS * T];
        ModelWork w;
        cr_assert_eq(model_work_alloc(&m, T, B, &w), 0);
        cr_assert_gt(n_allocs, before_setup, "the wrapper does not see allocations: check the link flags");
        for (int k = 0; k < T * B; k++) mask[k] = 1;
        Rng rng;
        rng_seed(&rng, 1);
        model_init(&m, params, &rng, 0, 1.0);
        long before = n_allocs;
        model_zero_state(&m, &w);
        model_forward(&m, params, x, target, mask, &w);
        model_backward(&m, params, x, &w, grads, flow_h, flow_c);
        cr_expect_eq(n_allocs, before, "%s (%d layers): %ld allocations during forward/backward", cell, L,
                     n_allocs - before);
        model_work_free(&w);
        free(params); free(grads); free(x); free(target); free(mask);
    }
}
