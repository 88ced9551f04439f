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

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
static long n_allocs;
void *__wrap_malloc(size_t n) { n_allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { n_allocs++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { n_allocs++; return __real_realloc(p, n); }

Test(alloc, none_in_forward_and_backward) {
    const char *cells[] = {"rnn", "irnn", "lstm-peep", "lstm-fgr", "lstm+cifg", "gru", "gru-ra",
                           "indrnn", "janet", "mgu", "mut1", "mut2", "mut3"};
    for (size_t ci = 0; ci < sizeof cells / sizeof cells[0]; ci++) {
        Model m;
        char err[256];
        const int T = 50, B = 4, X = 3, H = 6, Y = 2;
        cr_assert_eq(model_make(&m, cells[ci], X, H, Y, LOSS_MSE, err, sizeof err), 0);
        long before_setup = n_allocs;
        real *params = malloc(m.n_params * sizeof(real)), *grads = calloc(m.n_params, sizeof(real));
        real *x = calloc((size_t)T * B * X, sizeof(real)), *target = calloc((size_t)T * B * Y, sizeof(real));
        real *mask = malloc((size_t)T * B * sizeof(real)), flow_h[T], flow_c[T];
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
        cr_expect_eq(n_allocs, before, "%s: %ld allocations during forward/backward", cells[ci],
                     n_allocs - before);
        model_work_free(&w);
        free(params); free(grads); free(x); free(target); free(mask);
    }
}
