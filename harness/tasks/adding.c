/* adding.c: the adding problem (docs/tasks.md). Two channels, two marked values,
   output at the last step.
     form 0 (Le et al. 2015, Arjovsky et al. 2016): values U(0,1), target
       their sum, marks in each half (marked_pair.h PAIR_HALVES); MSE;
       baseline 1/6 = Var(U + V) from always predicting E = 1.
     form 1997 (Hochreiter & Schmidhuber 1997, exp. 4): values U(-1,1),
       target 0.5 + (X1 + X2)/4, marker layout PAIR_1997; baseline
       Var(target) from always predicting 0.5.
   A sequence counts correct when |error| < 0.04 (the 1997 criterion).
   Solved: MSE < 0.01; form 1997 also asks 99% of sequences correct, as
   Hochreiter stopped on the error and on sequences processed correctly. */
#include "common.h"
#include "marked_pair.h"

#include <math.h>
#include <stdio.h>

#define ADDING_FORM_1997 1997
#define ADDING_SOLVED_MSE 0.01

static PairLayout layout_of(const TaskParams *p) {
    return p->form == ADDING_FORM_1997 ? PAIR_1997 : PAIR_HALVES;
}

static PairValues values_of(const TaskParams *p) {
    return p->form == ADDING_FORM_1997 ? PAIR_UNIFORM_PM1 : PAIR_UNIFORM01;
}

static int adding_check(const TaskParams *p, char *err, size_t err_len) {
    if (p->form != 0 && p->form != ADDING_FORM_1997) {
        snprintf(err, err_len, "adding form must be 0 (modern) or 1997 (got %d)", p->form);
        return -1;
    }
    return marked_pair_check("adding", layout_of(p), p->delay, err, err_len);
}

static void adding_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = marked_pair_max_len(layout_of(p), p->delay);
    s->X = MARKED_PAIR_X;
    s->Y = 1;
    s->loss = LOSS_MSE;
}

static void target_sum(double first, double second, real *row) { row[0] = (real)(first + second); }

/* 1997: the sum scaled from [-2, 2] to [0, 1] */
static void target_sum_1997(double first, double second, real *row) {
    row[0] = (real)(0.5 + (first + second) / 4);
}

static int adding_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                           real *mask) {
    PairTarget target_of = p->form == ADDING_FORM_1997 ? target_sum_1997 : target_sum;
    return marked_pair_generate(layout_of(p), values_of(p), p->delay, rng, B, 1, target_of, x,
                                target, mask);
}

/* The best constant is the target's mean, and its MSE the target's
   variance: the sum of the two marked values' variances times the scale^2.
   A value on the first step (1997) is 0, so it contributes E[v^2] only with
   probability 1 - p_first; its mean is 0 there, so the mean stays 0. */
static double adding_baseline(const TaskParams *p) {
    PairValues values = values_of(p);
    double mean = pair_values_mean(values), mean_sq = pair_values_mean_square(values);
    if (p->form != ADDING_FORM_1997) return 2 * (mean_sq - mean * mean);
    double var_sum = 0;
    for (int k = 0; k < 2; k++)
        var_sum += (1 - marked_pair_p_first_step(PAIR_1997, p->delay, k)) * mean_sq;
    return var_sum / 16; /* target = 0.5 + sum/4 */
}

static void adding_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                         const real *mask, long *n_correct, long *n_total) {
    (void)p;
    marked_pair_count_within(T, B, y, target, mask, n_correct, n_total);
}

static int adding_solved(const TaskParams *p, double loss, double accuracy) {
    if (p->form == ADDING_FORM_1997)
        return loss < ADDING_SOLVED_MSE && accuracy >= TASK_SOLVED_ACCURACY;
    return loss < ADDING_SOLVED_MSE;
}

const Task task_adding = {
    .name = "adding",
    .desc = "sum of two marked values (Hochreiter & Schmidhuber 1997; form of Le et al. 2015)",
    .params = "delay (length T >= 2), form=0|1997",
    .check = adding_check,
    .shape = adding_shape,
    .generate = adding_generate,
    .baseline = adding_baseline,
    .count = adding_count,
    .solved = adding_solved,
};
