/* adding_stream.c: the adding problem as a continual stream: S = n_symbols
   segments of the modern adding problem (adding.c's form 0: length T =
   delay, values U(0,1), one mark in each half, target the sum of the two
   marked values) back to back in one sequence of S T steps, no reset
   (pair_stream.h). MSE at each segment's end, the only masked steps.
   Baseline, per segment as adding's: always answering E[U + V] = 1 costs
   Var(U + V) = 1/6. A segment counts correct when |error| < 0.04. Solved:
   MSE < 0.01 over the segment ends, adding's criterion. */
#include "common.h"
#include "pair_stream.h"

/* adding.c's ADDING_SOLVED_MSE (docs/tasks.md#adding) */
#define ADDING_STREAM_SOLVED_MSE 0.01

static int adding_stream_check(const TaskParams *p, char *err, size_t err_len) {
    return pair_stream_check("adding-stream", p, err, err_len);
}

static void adding_stream_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = pair_stream_len(p);
    s->X = MARKED_PAIR_X;
    s->Y = 1;
    s->loss = LOSS_MSE;
}

static void target_sum(double first, double second, real *row) { row[0] = (real)(first + second); }

static int adding_stream_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                                  real *mask) {
    return pair_stream_generate(p, PAIR_UNIFORM01, target_sum, rng, B, x, target, mask);
}

/* the sum's variance: twice a value's */
static double adding_stream_baseline(const TaskParams *p) {
    (void)p;
    double mean = pair_values_mean(PAIR_UNIFORM01), mean_sq = pair_values_mean_square(PAIR_UNIFORM01);
    return 2 * (mean_sq - mean * mean);
}

static void adding_stream_count(const TaskParams *p, int T, int B, const real *y,
                                const real *target, const real *mask, long *n_correct,
                                long *n_total) {
    (void)p;
    pair_stream_count(T, B, y, target, mask, n_correct, n_total);
}

static int adding_stream_solved(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)accuracy;
    return loss < ADDING_STREAM_SOLVED_MSE;
}

const Task task_adding_stream = {
    .name = "adding-stream",
    .desc = "adding problems back to back in one stream without a reset, a sum at each segment's end",
    .params = "delay T (segment length >= 2), n_symbols S=10 (segments; S T <= 10^6)",
    .check = adding_stream_check,
    .shape = adding_stream_shape,
    .generate = adding_stream_generate,
    .baseline = adding_stream_baseline,
    .count = adding_stream_count,
    .solved = adding_stream_solved,
};
