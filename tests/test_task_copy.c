/* test_task_copy.c: what only the copy task has (harness/tasks/copy.c):
   its shape and baseline, its alphabet and symbol-count limits, and the
   layout symbols, blanks, delimiter, recall. */
#include "task_cases.h"

static Case cases[] = {
    {"copy", 30, 0, 4, 10, 9, LOSS_XENT, 50},
};

/* S ln A over the T + 2S steps, S = 10 symbols of A = 8 */
static double closed_form(const Case *c) { return 10 * log(8) / (c->delay + 20); }

/* certainty of the blank before the recall, uniform over the classes
   during the last S = 10 steps */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    const int B = bt->B, Y = bt->shape.Y, blank = Y - 1;
    constant_predictor(T, bt, 0);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) AT(bt->y, Y, t, b)[blank] = t >= T - 10 ? -SURE_LOGIT : SURE_LOGIT;
}

/* an item is one recalled symbol: ten per sequence */
TASK_CASE_TESTS(copy, cases, closed_form, trivial, 10)

Test(copy, rejects_a_one_symbol_alphabet_and_no_symbols) {
    TaskParams p;
    task_params_default(&p);
    p.alphabet = 1;
    expect_rejected("copy", &p, "alphabet 1");
    task_params_default(&p);
    p.n_symbols = 0;
    expect_rejected("copy", &p, "n_symbols 0");
}

Test(copy, baseline_values_of_tasks_md) {
    TaskParams p;
    task_params_default(&p);
    const Task *copy = task_find("copy");
    p.delay = 200;
    cr_assert(close_to(copy->baseline(&p), 0.0945, 1e-4, 0), "T=200: %g", copy->baseline(&p));
    p.delay = 500;
    cr_assert(close_to(copy->baseline(&p), 0.0400, 1e-4, 0), "T=500: %g", copy->baseline(&p));
}

Test(copy, symbols_then_delimiter_then_recall) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 30;
    const int B = 20, S = 10, A = 8, blank = A, delimiter = A + 1;
    Batch bt;
    int T = generate_case("copy", &p, B, 2, &bt);
    cr_assert_eq(T, 30 + 20);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const real *in = AT(bt.x, A + 2, t, b), *out = AT(bt.target, A + 1, t, b);
            int sym = -1, cls = -1;
            for (int k = 0; k < A + 2; k++) sym = in[k] == 1 ? k : sym;
            for (int k = 0; k < A + 1; k++) cls = out[k] == 1 ? k : cls;
            cr_assert_eq(bt.mask[(size_t)t * B + b], 1);
            if (t < S) cr_assert(sym >= 0 && sym < A);
            else if (t == 30 + S - 1) cr_assert_eq(sym, delimiter, "no delimiter at %d", t);
            else cr_assert_eq(sym, blank, "t=%d input %d", t, sym);
            if (t < 30 + S) {
                cr_assert_eq(cls, blank);
            } else {
                const real *src = AT(bt.x, A + 2, t - 30 - S, b);
                cr_assert_eq(src[cls], 1, "t=%d recalls the wrong symbol", t);
            }
        }
    batch_free(&bt);
}
