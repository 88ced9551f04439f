/* test_task_recall.c: what only the recall task has (harness/tasks/
   recall.c): its shapes and ln K baseline for two K, the K >= 2 limit, and
   the answer being the first symbol. */
#include "task_cases.h"

static Case cases[] = {
    {"recall", 40, 0, 4, 9, 4, LOSS_XENT, 42},
    {"recall", 25, 0, 7, 12, 7, LOSS_XENT, 27},
};

/* a uniform guess over K classes */
static double closed_form(const Case *c) { return log(c->n_classes); }

static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0);
}

TASK_CASE_TESTS(recall, cases, closed_form, trivial, 1)

Test(recall, rejects_one_class) {
    TaskParams p;
    task_params_default(&p);
    p.n_classes = 1;
    expect_rejected("recall", &p, "K = 1");
}

Test(recall, answer_is_the_first_symbol) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 40;
    p.n_classes = 5;
    const int B = 50, K = 5, X = K + 4 + 1;
    Batch bt;
    int T = generate_case("recall", &p, B, 4, &bt);
    cr_assert_eq(T, 42);
    for (int b = 0; b < B; b++) {
        int first = one_hot_index(AT(bt.x, X, 0, b), X);
        cr_assert(first < K);
        for (int t = 1; t < T - 1; t++) {
            int sym = one_hot_index(AT(bt.x, X, t, b), X);
            cr_assert(sym >= K && sym < X - 1, "t=%d: %d is not a distractor", t, sym);
            cr_assert_eq(bt.mask[(size_t)t * B + b], 0);
        }
        cr_assert_eq(one_hot_index(AT(bt.x, X, T - 1, b), X), X - 1, "no query at the end");
        cr_assert_eq(bt.mask[(size_t)(T - 1) * B + b], 1);
        cr_assert_eq(one_hot_index(AT(bt.target, K, T - 1, b), K), first);
    }
    batch_free(&bt);
}
