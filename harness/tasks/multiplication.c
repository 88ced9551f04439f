/* multiplication.c: the multiplication problem (Hochreiter & Schmidhuber
   1997, exp. 5) in the layout of the modern adding problem: values U(0,1),
   two marks, one in each half (marked_pair.h PAIR_HALVES); target at the last
   step the product of the two marked values; MSE. Baseline: always
   predicting E[UV] costs Var(UV) = E[U^2]^2 - E[U]^4 = 7/144. A sequence
   counts correct when |error| < 0.04. Solved: MSE < 0.005.
   Not offered: the 1997 marker layout (adding's form = 1997). */
#include "common.h"
#include "marked_pair.h"

#define MULTIPLICATION_SOLVED_MSE 0.005

static int multiplication_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("multiplication", p->form, err, err_len)) return -1;
    return marked_pair_check("multiplication", PAIR_HALVES, p->delay, err, err_len);
}

static void multiplication_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = marked_pair_max_len(PAIR_HALVES, p->delay);
    s->X = MARKED_PAIR_X;
    s->Y = 1;
    s->loss = LOSS_MSE;
}

static void target_product(double first, double second, real *row) {
    row[0] = (real)(first * second);
}

static int multiplication_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                                   real *mask) {
    return marked_pair_generate(PAIR_HALVES, PAIR_UNIFORM01, p->delay, rng, B, 1, target_product,
                                x, target, mask);
}

static double multiplication_baseline(const TaskParams *p) {
    (void)p;
    double mean = pair_values_mean(PAIR_UNIFORM01), mean_sq = pair_values_mean_square(PAIR_UNIFORM01);
    /* U, V independent: E[(UV)^2] = E[U^2]^2, E[UV] = E[U]^2 */
    return mean_sq * mean_sq - mean * mean * mean * mean;
}

static void multiplication_count(const TaskParams *p, int T, int B, const real *y,
                                 const real *target, const real *mask, long *n_correct,
                                 long *n_total) {
    (void)p;
    marked_pair_count_within(T, B, y, target, mask, n_correct, n_total);
}

static int multiplication_solved(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)accuracy;
    return loss < MULTIPLICATION_SOLVED_MSE;
}

const Task task_multiplication = {
    .name = "multiplication",
    .desc = "product of two marked values (Hochreiter & Schmidhuber 1997, exp. 5)",
    .params = "delay (length T >= 2)",
    .check = multiplication_check,
    .shape = multiplication_shape,
    .generate = multiplication_generate,
    .baseline = multiplication_baseline,
    .count = multiplication_count,
    .solved = multiplication_solved,
};
