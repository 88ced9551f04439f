/* task_cases.h: the tests each task file runs on its own table of cases
   (parameters and the shape they must give): the shape and every written
   entry, determinism in the seed, the baseline against the task's closed
   form and against a loss measured on generated data, and the solved
   criterion on a perfect and a trivial predictor.
   A task file supplies what only it knows: the cases, the closed form of
   its baseline (written from docs/tasks.md, not from the code), its trivial
   predictor (the one that ignores the dependency, whose loss is the
   baseline) and how many items a sequence has; TASK_CASE_TESTS then defines
   the five parameterized tests in the task's suite. */
#ifndef RNNBENCH_TESTS_TASK_CASES_H
#define RNNBENCH_TESTS_TASK_CASES_H

/* criterion.h (through task_batch.h) before parameterized.h: the other
   order leaves Test() defined as its documentation placeholder */
#include "task_batch.h"

#include <criterion/parameterized.h>

/* the name is held, not pointed to: Criterion hands each test a copy of
   the parameters in a new process, where a pointer would dangle */
typedef struct {
    char task[24];
    int delay, form, n_classes;
    /* expected shape */
    int X, Y, loss, max_len;
} Case;

/* writes the trivial predictor's outputs over the first T steps of bt */
typedef void (*TrivialPredictor)(const Case *c, int T, const Batch *bt);

static inline void case_params(const Case *c, TaskParams *p) {
    task_params_default(p);
    p->delay = c->delay;
    p->form = c->form;
    p->n_classes = c->n_classes;
}

static inline void log_case(const Case *c) {
    cr_log_info("task=%s delay=%d form=%d K=%d", c->task, c->delay, c->form, c->n_classes);
}

static inline void case_shape_and_writes(const Case *c) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    TaskShape s;
    task->shape(&p, &s);
    cr_assert_eq(s.X, c->X, "%s: X=%d", c->task, s.X);
    cr_assert_eq(s.Y, c->Y, "%s: Y=%d", c->task, s.Y);
    cr_assert_eq((int)s.loss, c->loss, "%s: loss %s", c->task, loss_name(s.loss));
    cr_assert_eq(s.max_len, c->max_len, "%s: max_len=%d", c->task, s.max_len);
    Rng rng;
    rng_seed(&rng, 7);
    for (int rep = 0; rep < 20; rep++) { /* lengths drawn per batch vary */
        Batch bt;
        batch_alloc(task, &p, 5, &bt);
        int T = task->generate(&p, &rng, 5, bt.x, bt.target, bt.mask);
        check_batch(c->task, T, &bt);
        batch_free(&bt);
    }
}

static inline void case_deterministic_in_the_seed(const Case *c) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    check_deterministic(c->task, &p);
}

static inline void case_baseline_closed_form(const Case *c, double want) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    double got = task->baseline(&p);
    cr_log_info("%s baseline %.10f, closed form %.10f", c->task, got, want);
    if (isnan(want)) {
        cr_assert(isnan(got), "%s: baseline %g, tasks.md gives none", c->task, got);
        return;
    }
    cr_assert(close_to(got, want, 1e-12, 1e-12), "%s: baseline %.12f != %.12f", c->task, got,
              want);
}

/* The loss of the baseline predictor measured on generated data, against
   baseline(). Regression: the task's trivial (constant) predictor, within 5
   standard errors of the mean over batches. Cross-entropy: the best
   predictor that ignores the dependency, fitted on the data itself: the
   empirical class frequencies at each step counted from the end (where
   every query sits), whose loss is their entropy; this checks that the
   classes are as balanced as the baseline assumes. Its in-sample bias is
   about -(K-1)/2N per scored step, hence the tolerance. */
static inline double marginal_entropy_loss(const double *counts, int n_positions, int Y) {
    double loss = 0, n_rows = 0;
    for (int pos = 0; pos < n_positions; pos++) {
        double n = 0;
        for (int k = 0; k < Y; k++) n += counts[(size_t)pos * Y + k];
        for (int k = 0; k < Y; k++) {
            double c = counts[(size_t)pos * Y + k];
            if (c > 0) loss -= c * log(c / n);
        }
        n_rows += n;
    }
    return loss / n_rows;
}

static inline void case_baseline_measured(const Case *c, TrivialPredictor trivial) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    double want = task->baseline(&p);
    if (isnan(want)) return;
    const int B = 400, n_batches = 40;
    Batch bt;
    batch_alloc(task, &p, B, &bt);
    const int Y = bt.shape.Y, max_len = bt.shape.max_len;
    double *counts = calloc((size_t)max_len * Y, sizeof(double));
    Rng rng;
    rng_stream(&rng, 5, "baseline");
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n_batches; i++) {
        int T = task->generate(&p, &rng, B, bt.x, bt.target, bt.mask);
        if (bt.shape.loss == LOSS_XENT) {
            for (int t = 0; t < T; t++)
                for (int b = 0; b < B; b++)
                    if (bt.mask[(size_t)t * B + b] != 0)
                        counts[(size_t)(T - 1 - t) * Y + one_hot_index(AT(bt.target, Y, t, b), Y)] += 1;
            continue;
        }
        trivial(c, T, &bt);
        double loss = reference_loss(bt.shape.loss, T, B, Y, bt.y, bt.target, bt.mask);
        sum += loss;
        sum_sq += loss * loss;
    }
    double measured, tolerance;
    if (bt.shape.loss == LOSS_XENT) {
        measured = marginal_entropy_loss(counts, max_len, Y);
        tolerance = 5.0 * Y / ((double)B * n_batches);
    } else {
        measured = sum / n_batches;
        double var = sum_sq / n_batches - measured * measured;
        tolerance = 5 * sqrt((var > 0 ? var : 0) / (n_batches - 1)) + 1e-6;
    }
    cr_log_info("%s: measured %.6f, baseline %.6f, tolerance %.6f", c->task, measured, want,
                tolerance);
    cr_assert(close_to(measured, want, tolerance, 0),
              "%s: baseline predictor's loss %.6f vs baseline %.6f (tolerance %.6f)", c->task,
              measured, want, tolerance);
    free(counts);
    batch_free(&bt);
}

static inline void case_solved_by_perfect_not_by_trivial(const Case *c, TrivialPredictor trivial,
                                                         long items_per_sequence) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    const int B = 64;
    Batch bt;
    batch_alloc(task, &p, B, &bt);
    Rng rng;
    rng_stream(&rng, 9, "eval");
    int T = task->generate(&p, &rng, B, bt.x, bt.target, bt.mask);

    perfect_predictor(T, &bt);
    long n_correct = 0, n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    double loss = reference_loss(bt.shape.loss, T, B, bt.shape.Y, bt.y, bt.target, bt.mask);
    cr_log_info("%s perfect: loss %.3g, %ld/%ld", c->task, loss, n_correct, n_total);
    cr_assert_eq(n_total, B * items_per_sequence, "%s: %ld items", c->task, n_total);
    cr_assert_eq(n_correct, n_total, "%s: perfect predictor %ld/%ld", c->task, n_correct, n_total);
    cr_assert(task->solved(&p, loss, 1.0), "%s: perfect predictor not solved", c->task);

    fill_nan(bt.y, (size_t)T * B * bt.shape.Y);
    trivial(c, T, &bt);
    n_correct = n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    loss = reference_loss(bt.shape.loss, T, B, bt.shape.Y, bt.y, bt.target, bt.mask);
    double accuracy = (double)n_correct / n_total;
    cr_log_info("%s trivial: loss %.4f, accuracy %.3f", c->task, loss, accuracy);
    cr_assert(accuracy < 0.9, "%s: trivial predictor accuracy %.3f", c->task, accuracy);
    cr_assert(!task->solved(&p, loss, accuracy), "%s: trivial predictor solved", c->task);
    batch_free(&bt);
}

/* The five tests above, parameterized over `cases` (a static array of the
   task file), in Criterion suite `suite`. `closed_form` is double (*)(const
   Case *); `trivial` a TrivialPredictor; `items` the items per sequence. */
#define TASK_CASE_TESTS(suite, cases, closed_form, trivial, items)                              \
    ParameterizedTestParameters(suite, shape_and_writes) {                                      \
        return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);               \
    }                                                                                           \
    ParameterizedTest(Case *c, suite, shape_and_writes) { case_shape_and_writes(c); }           \
    ParameterizedTestParameters(suite, deterministic_in_the_seed) {                             \
        return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);               \
    }                                                                                           \
    ParameterizedTest(Case *c, suite, deterministic_in_the_seed) {                              \
        case_deterministic_in_the_seed(c);                                                      \
    }                                                                                           \
    ParameterizedTestParameters(suite, baseline_closed_form) {                                  \
        return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);               \
    }                                                                                           \
    ParameterizedTest(Case *c, suite, baseline_closed_form) {                                   \
        case_baseline_closed_form(c, closed_form(c));                                           \
    }                                                                                           \
    ParameterizedTestParameters(suite, baseline_measured) {                                     \
        return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);               \
    }                                                                                           \
    ParameterizedTest(Case *c, suite, baseline_measured) { case_baseline_measured(c, trivial); } \
    ParameterizedTestParameters(suite, solved_by_perfect_not_by_trivial) {                      \
        return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);               \
    }                                                                                           \
    ParameterizedTest(Case *c, suite, solved_by_perfect_not_by_trivial) {                       \
        case_solved_by_perfect_not_by_trivial(c, trivial, items);                               \
    }

#endif
