/* multiplication_stream.c: the multiplication problem as a continual
   stream: S = n_symbols segments of multiplication.c's sequences (length T
   = delay, values U(0,1), one mark in each half, target the product of the
   two marked values) back to back in one sequence of S T steps, no reset
   (pair_stream.h). MSE at each segment's end, the only masked steps.
   Baseline, per segment as multiplication's: Var(UV) = 7/144. A segment
   counts correct when |error| < 0.04. Solved: MSE < 0.005 over the segment
   ends, multiplication's criterion. */
#include "common.h"
#include "pair_stream.h"

/* multiplication.c's MULTIPLICATION_SOLVED_MSE (docs/tasks.md#multiplication) */
#define MULTIPLICATION_STREAM_SOLVED_MSE 0.005

static int multiplication_stream_check(const TaskParams *p, char *err, size_t err_len) {
    return pair_stream_check("multiplication-stream", p, err, err_len);
}

static void multiplication_stream_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = pair_stream_len(p);
    s->X = MARKED_PAIR_X;
    s->Y = 1;
    s->loss = LOSS_MSE;
}

static void target_product(double first, double second, real *row) {
    row[0] = (real)(first * second);
}

static int multiplication_stream_generate(const TaskParams *p, Rng *rng, int B, real *x,
                                          real *target, real *mask) {
    return pair_stream_generate(p, PAIR_UNIFORM01, target_product, rng, B, x, target, mask);
}

/* U, V independent: E[(UV)^2] = E[U^2]^2, E[UV] = E[U]^2 */
static double multiplication_stream_baseline(const TaskParams *p) {
    (void)p;
    double mean = pair_values_mean(PAIR_UNIFORM01), mean_sq = pair_values_mean_square(PAIR_UNIFORM01);
    return mean_sq * mean_sq - mean * mean * mean * mean;
}

static void multiplication_stream_count(const TaskParams *p, int T, int B, const real *y,
                                        const real *target, const real *mask, long *n_correct,
                                        long *n_total) {
    (void)p;
    pair_stream_count(T, B, y, target, mask, n_correct, n_total);
}

static int multiplication_stream_solved(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)accuracy;
    return loss < MULTIPLICATION_STREAM_SOLVED_MSE;
}

const Task task_multiplication_stream = {
    .name = "multiplication-stream",
    .desc = "multiplication problems back to back in one stream without a reset, a product at each "
            "segment's end",
    .params = "delay T (segment length >= 2), n_symbols S=10 (segments; S T <= 10^6)",
    .check = multiplication_stream_check,
    .shape = multiplication_stream_shape,
    .generate = multiplication_stream_generate,
    .baseline = multiplication_stream_baseline,
    .count = multiplication_stream_count,
    .solved = multiplication_stream_solved,
};
