/* test_task_timing.c: what only the timing task has (harness/tasks/
   timing.c): its shape and baseline, one input spike and the target spike
   exactly T steps later, and a count that fails an extra spike. */
#include "task_cases.h"

static Case cases[] = {
    {"timing", 30, 0, 4, 1, 1, LOSS_MSE, 61},
};

/* the all-zero output misses one spike of height 1 over 2T + 1 steps */
static double closed_form(const Case *c) { return 1.0 / (2 * c->delay + 1); }

static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0);
}

TASK_CASE_TESTS(timing, cases, closed_form, trivial, 1)

Test(timing, one_spike_then_the_target_delay_steps_later) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 25;
    const int B = 300;
    Batch bt;
    int T = generate_case("timing", &p, B, 14, &bt);
    cr_assert_eq(T, 51);
    int seen_first = 0, seen_last = 0;
    for (int b = 0; b < B; b++) {
        int onset = -1, fire = -1;
        for (int t = 0; t < T; t++) {
            real in = *AT(bt.x, 1, t, b), out = *AT(bt.target, 1, t, b);
            cr_assert(in == 0 || in == 1);
            cr_assert(out == 0 || out == 1);
            cr_assert_eq(bt.mask[(size_t)t * B + b], 1);
            if (in == 1) {
                cr_assert(onset < 0, "two input spikes");
                onset = t;
            }
            if (out == 1) {
                cr_assert(fire < 0, "two target spikes");
                fire = t;
            }
        }
        cr_assert(onset >= 0 && onset < 25, "onset %d", onset);
        cr_assert_eq(fire, onset + 25);
        seen_first |= onset == 0;
        seen_last |= onset == 24;
    }
    cr_assert(seen_first && seen_last);
    /* a spike at the right step and one more elsewhere is wrong */
    for (size_t i = 0; i < (size_t)T * B; i++) bt.y[i] = bt.target[i];
    for (int b = 0; b < B; b += 2) *AT(bt.y, 1, T - 1, b) = 0.6f;
    long n_correct = 0, n_total = 0;
    task_find("timing")->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert_eq(n_total, B);
    cr_assert_eq(n_correct, B / 2);
    batch_free(&bt);
}
