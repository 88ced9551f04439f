/* test_task_adding_stream.c: what only the adding stream has (harness/
   tasks/adding_stream.c, pair_stream.c): its shape and per-segment
   baseline, segments back to back each with its sum at its end, the first
   segment equal to the adding task's batch, its limits, the count per
   segment and adding's solved threshold. */
#include "task_cases.h"
#include "task_pair_stream.h"

/* the default n_symbols, 10 segments */
static Case cases[] = {
    {"adding-stream", 50, 0, 4, 2, 1, LOSS_MSE, 500},
    {"adding-stream", 2, 0, 4, 2, 1, LOSS_MSE, 20},
};

/* as adding's (tasks.md): Var(U + V) = 2/12 per segment */
static double closed_form(const Case *c) {
    (void)c;
    return 1.0 / 6;
}

/* the target's mean, E[U + V] = 1 */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 1);
}

TASK_CASE_TESTS(adding_stream, cases, closed_form, trivial, 10)

static void target_is_the_sum(double v1, double v2, const real *out) {
    cr_assert(close_to(out[0], v1 + v2, 1e-6, 1e-6), "target %g, sum %g", (double)out[0], v1 + v2);
}

Test(adding_stream, segments_back_to_back_each_with_its_sum) {
    check_segments("adding-stream", 51, 10, target_is_the_sum);
    check_segments("adding-stream", 2, 300, target_is_the_sum);
    check_segments("adding-stream", 100, 1, target_is_the_sum);
}

Test(adding_stream, first_segment_is_the_adding_batch) {
    check_first_segment_is_the_base_task("adding-stream", "adding");
}

Test(adding_stream, limits) { check_stream_limits("adding-stream"); }

Test(adding_stream, an_item_per_segment) { check_count_per_segment("adding-stream"); }

Test(adding_stream, solved_below_mse_001) { check_solved_threshold("adding-stream", 0.01); }
