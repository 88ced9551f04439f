/* test_task_temporal_order.c: what only the temporal order problems have
   (harness/tasks/temporal_order.c): shapes and baselines of 6a and 6b, the
   relevant symbols inside the paper's windows at T = 100 and inside the
   scaled windows at other delays, and the class from their order. */
#include "task_cases.h"

static Case cases[] = {
    {"temporal-order", 100, 0, 4, 8, 4, LOSS_XENT, 110},
    {"temporal-order", 100, 1, 4, 8, 8, LOSS_XENT, 110},
    {"temporal-order", 37, 1, 4, 8, 8, LOSS_XENT, 40},
};

/* a uniform guess over the 4 (6a) or 8 (6b) orders */
static double closed_form(const Case *c) { return c->form == 0 ? log(4) : log(8); }

static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0);
}

TASK_CASE_TESTS(temporal_order, cases, closed_form, trivial, 1)

/* positions (1-based) of the relevant symbols against the windows, and the
   class against their order */
static void check_temporal_order(int form, int delay, const int (*window)[2]) {
    enum { A, B_, C, D, SX, SY, START, TRIGGER };
    TaskParams p;
    task_params_default(&p);
    p.delay = delay;
    p.form = form;
    const int B = 100, X = 8, n = form ? 3 : 2, Y = 1 << n;
    int seen_lo[3] = {0}, seen_hi[3] = {0};
    for (int seed = 0; seed < 20; seed++) {
        Batch bt;
        int T = generate_case("temporal-order", &p, B, seed, &bt);
        cr_assert(T >= delay && T <= delay + delay / 10, "length %d", T);
        for (int b = 0; b < B; b++) {
            int k = 0, cls = 0;
            for (int t = 0; t < T; t++) {
                int sym = one_hot_index(AT(bt.x, X, t, b), X);
                if (t == 0) cr_assert_eq(sym, START);
                else if (t == T - 1) cr_assert_eq(sym, TRIGGER);
                else if (sym == SX || sym == SY) {
                    cr_assert(k < n, "too many relevant symbols");
                    int pos = t + 1;
                    cr_assert(pos >= window[k][0] && pos <= window[k][1],
                              "symbol %d at position %d outside [%d, %d]", k, pos, window[k][0],
                              window[k][1]);
                    seen_lo[k] |= pos == window[k][0];
                    seen_hi[k] |= pos == window[k][1];
                    cls = 2 * cls + (sym == SY);
                    k++;
                } else cr_assert(sym >= A && sym <= D);
            }
            cr_assert_eq(k, n);
            cr_assert_eq(one_hot_index(AT(bt.target, Y, T - 1, b), Y), cls);
        }
        batch_free(&bt);
    }
    for (int k = 0; k < n; k++)
        cr_assert(seen_lo[k] && seen_hi[k], "window %d's ends never drawn", k);
}

Test(temporal_order, paper_windows_at_100) {
    static const int w6a[][2] = {{10, 20}, {50, 60}};
    static const int w6b[][2] = {{10, 20}, {33, 43}, {66, 76}};
    check_temporal_order(0, 100, w6a);
    check_temporal_order(1, 100, w6b);
}

Test(temporal_order, windows_scale_with_the_delay) {
    static const int w6a[][2] = {{100, 200}, {500, 600}};
    static const int w6b[][2] = {{30, 60}, {99, 129}, {198, 228}};
    check_temporal_order(0, 1000, w6a);
    check_temporal_order(1, 300, w6b);
}

