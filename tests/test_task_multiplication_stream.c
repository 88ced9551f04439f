/* test_task_multiplication_stream.c: what only the multiplication stream
   has (harness/tasks/multiplication_stream.c, pair_stream.c): its shape
   and per-segment baseline, segments back to back each with its product at
   its end, the first segment equal to the multiplication task's batch, its
   limits, the count per segment and multiplication's solved threshold. */
#include "task_cases.h"
#include "task_pair_stream.h"

/* the default n_symbols, 10 segments */
static Case cases[] = {
    {"multiplication-stream", 50, 0, 4, 2, 1, LOSS_MSE, 500},
};

/* as multiplication's (tasks.md): Var(UV) = 1/9 - 1/16 per segment */
static double closed_form(const Case *c) {
    (void)c;
    return 7.0 / 144;
}

/* the target's mean, E[UV] = 1/4 */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0.25);
}

TASK_CASE_TESTS(multiplication_stream, cases, closed_form, trivial, 10)

static void target_is_the_product(double v1, double v2, const real *out) {
    cr_assert(close_to(out[0], v1 * v2, 1e-6, 1e-6), "target %g, product %g", (double)out[0],
              v1 * v2);
}

Test(multiplication_stream, segments_back_to_back_each_with_its_product) {
    check_segments("multiplication-stream", 51, 10, target_is_the_product);
    check_segments("multiplication-stream", 3, 100, target_is_the_product);
}

Test(multiplication_stream, first_segment_is_the_multiplication_batch) {
    check_first_segment_is_the_base_task("multiplication-stream", "multiplication");
}

Test(multiplication_stream, limits) { check_stream_limits("multiplication-stream"); }

Test(multiplication_stream, an_item_per_segment) {
    check_count_per_segment("multiplication-stream");
}

Test(multiplication_stream, solved_below_mse_0005) {
    check_solved_threshold("multiplication-stream", 0.005);
}
