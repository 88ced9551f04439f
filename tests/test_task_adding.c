/* test_task_adding.c: what only the adding problem has (harness/tasks/
   adding.c): its shapes and baselines in both forms, the modern form's
   halves, Hochreiter's 1997 layout, and the 0.04 tolerance of its count.
   What every task must do is in test_task_contract.c. */
#include "task_cases.h"
#include "task_marked_pair.h"

static Case cases[] = {
    {"adding", 50, 0, 4, 2, 1, LOSS_MSE, 50},
    {"adding", 100, 1997, 4, 2, 1, LOSS_MSE, 110},
};

/* The baseline's closed form, written from tasks.md, not from the code. */
static double closed_form(const Case *c) {
    if (c->form == 0) return 1.0 / 6;
    /* 1997: Var(0.5 + (X1 + X2)/4), Xi ~ U(-1,1) (variance 1/3) but 0 on
       the first step: X1 there with p 1/10, X2 with p (9/10)/(T/2 - 1) */
    double p1 = 1.0 / 10, p2 = (1 - p1) / (c->delay / 2 - 1);
    return ((1 - p1) / 3 + (1 - p2) / 3) / 16;
}

/* the target's mean: E[U + V] = 1, or 0.5 in the 1997 form */
static void trivial(const Case *c, int T, const Batch *bt) {
    constant_predictor(T, bt, c->form == 0 ? 1 : 0.5);
}

TASK_CASE_TESTS(adding, cases, closed_form, trivial, 1)

Test(adding, rejects_form_1997_with_delay_3) {
    TaskParams p;
    task_params_default(&p);
    p.form = 1997;
    p.delay = 3;
    expect_rejected("adding", &p, "form 1997 with delay 3");
}

static void target_is_the_sum(double v1, double v2, const real *out) {
    cr_assert(close_to(out[0], v1 + v2, 1e-6, 1e-6));
}

Test(adding, modern_form) { check_halves("adding", 0, target_is_the_sum); }

Test(adding, form_1997) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 100;
    p.form = 1997;
    const int B = 100;
    int seen_len[11] = {0}, n_first_marked = 0;
    for (int seed = 0; seed < 60; seed++) {
        Batch bt;
        int T = generate_case("adding", &p, B, seed, &bt);
        cr_assert(T >= 100 && T <= 110, "length %d", T);
        seen_len[T - 100] = 1;
        for (int b = 0; b < B; b++) {
            int n_marks = 0, pos[2] = {-1, -1};
            for (int t = 0; t < T; t++) {
                real v = AT(bt.x, 2, t, b)[0], m = AT(bt.x, 2, t, b)[1];
                cr_assert(v >= -1 && v < 1);
                if (m == 1) {
                    cr_assert(n_marks < 2, "more than two marks");
                    pos[n_marks++] = t;
                } else if (t == 0 || t == T - 1) {
                    cr_assert_eq(m, -1, "first/last marker %g", m);
                } else {
                    cr_assert_eq(m, 0);
                }
            }
            cr_assert_eq(n_marks, 2);
            /* X1 among the first ten; X2 among the first T/2 - 1 = 49 others,
               so at most at step 49 */
            cr_assert(pos[0] < 10 || pos[1] < 10, "no mark in the first ten: %d %d", pos[0],
                      pos[1]);
            cr_assert(pos[1] <= 49, "X2 at %d", pos[1]);
            if (pos[0] == 0) {
                n_first_marked++;
                cr_assert_eq(AT(bt.x, 2, 0, b)[0], 0, "a marked first step has value 0");
            }
            double sum = AT(bt.x, 2, pos[0], b)[0] + AT(bt.x, 2, pos[1], b)[0];
            cr_assert(close_to(AT(bt.target, 1, T - 1, b)[0], 0.5 + sum / 4, 1e-6, 1e-6));
        }
        batch_free(&bt);
    }
    for (int k = 0; k <= 10; k++) cr_assert(seen_len[k], "length %d never drawn", 100 + k);
    cr_assert(n_first_marked > 0, "the first step was never marked in 6000 sequences");
}

Test(adding, count_uses_the_004_tolerance) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 20;
    const int B = 50;
    Batch bt;
    int T = generate_case("adding", &p, B, 1, &bt);
    const Task *task = task_find("adding");
    for (int off = 0; off < 2; off++) {
        double error = off ? 0.041 : 0.039;
        for (size_t i = 0; i < (size_t)T * B; i++) bt.y[i] = bt.target[i] + (real)error;
        long n_correct = 0, n_total = 0;
        task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
        cr_assert_eq(n_total, B);
        cr_assert_eq(n_correct, off ? 0 : B, "error %g: %ld correct", error, n_correct);
    }
    batch_free(&bt);
}
