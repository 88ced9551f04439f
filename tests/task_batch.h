/* task_batch.h: what the task tests (tests/test_task_*.c) share: one
   batch's buffers, NaN-filled so unwritten entries show; the checks every
   batch must pass; determinism in the seed; the perfect predictor; and
   model.c's loss formulas re-implemented (mse over masked rows and
   components, xent over masked rows, bce over masked rows and components)
   so that the tasks are tested without a model.
   Header-only (static inline): the Makefile links every tests/test_*.c, and
   a helper file under that name would read as one more test file. */
#ifndef RNNBENCH_TESTS_TASK_BATCH_H
#define RNNBENCH_TESTS_TASK_BATCH_H

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/task.h"

/* a predictor's logit for "certainly this class" */
#define SURE_LOGIT 30

/* row (t, b) of a (T,B,n) buffer of B sequences (B a variable in scope) */
#define AT(buf, n, t, b) ((buf) + ((size_t)(t) * (B) + (b)) * (n))

static inline int close_to(double a, double b, double atol, double rtol) {
    return fabs(a - b) <= atol + rtol * fabs(b);
}

typedef struct {
    TaskShape shape;
    int B;
    real *x, *target, *mask, *y;
} Batch;

static inline void fill_nan(real *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = NAN;
}

static inline size_t count_nan(const real *v, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += isnan(v[i]) != 0;
    return k;
}

static inline void batch_alloc(const Task *task, const TaskParams *p, int B, Batch *bt) {
    task->shape(p, &bt->shape);
    bt->B = B;
    size_t rows = (size_t)bt->shape.max_len * B;
    bt->x = malloc(rows * bt->shape.X * sizeof(real));
    bt->target = malloc(rows * bt->shape.Y * sizeof(real));
    bt->mask = malloc(rows * sizeof(real));
    bt->y = malloc(rows * bt->shape.Y * sizeof(real));
    cr_assert(bt->x && bt->target && bt->mask && bt->y, "out of memory");
    fill_nan(bt->x, rows * bt->shape.X);
    fill_nan(bt->target, rows * bt->shape.Y);
    fill_nan(bt->mask, rows);
    fill_nan(bt->y, rows * bt->shape.Y);
}

static inline void batch_free(Batch *bt) {
    free(bt->x);
    free(bt->target);
    free(bt->mask);
    free(bt->y);
}

/* the registered task of that name, whose check accepts p */
static inline const Task *find_checked(const char *name, const TaskParams *p) {
    const Task *task = task_find(name);
    cr_assert(task, "task %s not registered", name);
    char err[256] = "";
    cr_assert_eq(task->check(p, err, sizeof err), 0, "%s: check failed: %s", name, err);
    return task;
}

/* check() refuses p with a one-line reason */
static inline void expect_rejected(const char *name, const TaskParams *p, const char *what) {
    char err[256] = "";
    cr_assert_eq(task_find(name)->check(p, err, sizeof err), -1, "%s: %s accepted", name, what);
    cr_assert(strlen(err) > 0 && !strchr(err, '\n'), "%s: reason for %s not one line: '%s'",
              name, what, err);
    cr_log_info("%s rejects %s: %s", name, what, err);
}

/* every entry of the first T steps written; mask in {0,1}; every sequence
   scored somewhere; cross-entropy targets one-hot where masked */
static inline void check_batch(const char *name, int T, const Batch *bt) {
    int B = bt->B, X = bt->shape.X, Y = bt->shape.Y;
    size_t rows = (size_t)T * B;
    cr_assert(T >= 1 && T <= bt->shape.max_len, "%s: T=%d outside [1, %d]", name, T,
              bt->shape.max_len);
    cr_assert_eq(count_nan(bt->x, rows * X), 0, "%s T=%d: x has unwritten entries", name, T);
    cr_assert_eq(count_nan(bt->target, rows * Y), 0, "%s T=%d: target has unwritten entries",
                 name, T);
    cr_assert_eq(count_nan(bt->mask, rows), 0, "%s T=%d: mask has unwritten entries", name, T);
    for (int b = 0; b < B; b++) {
        int n_masked = 0;
        for (int t = 0; t < T; t++) {
            size_t r = (size_t)t * B + b;
            real mk = bt->mask[r];
            cr_assert(mk == 0 || mk == 1, "%s: mask %g not 0/1", name, (double)mk);
            n_masked += mk != 0;
            if (mk != 0 && bt->shape.loss == LOSS_XENT) {
                double sum = 0;
                int n_one = 0;
                for (int k = 0; k < Y; k++) {
                    sum += bt->target[r * Y + k];
                    n_one += bt->target[r * Y + k] == 1;
                }
                cr_assert(sum == 1 && n_one == 1, "%s: target at t=%d b=%d not one-hot", name, t,
                          b);
            }
        }
        cr_assert(n_masked > 0, "%s: sequence %d is never scored", name, b);
    }
}

/* one checked batch of task `name` from rng_seed(seed); returns its length */
static inline int generate_case(const char *name, TaskParams *p, int B, uint64_t seed,
                                Batch *bt) {
    const Task *task = find_checked(name, p);
    batch_alloc(task, p, B, bt);
    Rng rng;
    rng_seed(&rng, seed);
    int T = task->generate(p, &rng, B, bt->x, bt->target, bt->mask);
    check_batch(name, T, bt);
    return T;
}

/* seeds 42, 42 and 43 of the "train" stream: the first two batches equal,
   the third different */
static inline void check_deterministic(const char *name, const TaskParams *p) {
    const Task *task = find_checked(name, p);
    const int B = 4;
    Batch run[3];
    int T[3];
    const uint64_t seeds[3] = {42, 42, 43};
    for (int i = 0; i < 3; i++) {
        batch_alloc(task, p, B, &run[i]);
        Rng rng;
        rng_stream(&rng, seeds[i], "train");
        T[i] = task->generate(p, &rng, B, run[i].x, run[i].target, run[i].mask);
    }
    size_t rows = (size_t)T[0] * B;
    cr_assert_eq(T[0], T[1]);
    cr_assert(!memcmp(run[0].x, run[1].x, rows * run[0].shape.X * sizeof(real)), "x differs");
    cr_assert(!memcmp(run[0].target, run[1].target, rows * run[0].shape.Y * sizeof(real)),
              "target differs");
    cr_assert(!memcmp(run[0].mask, run[1].mask, rows * sizeof(real)), "mask differs");
    int differs = T[0] != T[2] ||
                  memcmp(run[0].x, run[2].x, rows * run[0].shape.X * sizeof(real)) != 0;
    cr_assert(differs, "%s: seeds 42 and 43 gave the same batch", name);
    for (int i = 0; i < 3; i++) batch_free(&run[i]);
}

static inline int one_hot_index(const real *row, int n) {
    int k_hot = -1, n_hot = 0;
    for (int k = 0; k < n; k++)
        if (row[k] != 0) {
            k_hot = k;
            n_hot++;
        }
    cr_assert(n_hot == 1 && row[k_hot] == 1, "row is not one-hot");
    return k_hot;
}

/* model.c's losses, in double */
static inline double reference_loss(int loss, int T, int B, int Y, const real *y,
                                    const real *target, const real *mask) {
    double total = 0, n_rows = 0;
    for (size_t r = 0; r < (size_t)T * B; r++) {
        double mk = mask[r];
        if (mk == 0) continue;
        n_rows += mk;
        const real *yr = y + r * Y, *tr = target + r * Y;
        if (loss == LOSS_MSE) {
            for (int k = 0; k < Y; k++) total += mk * ((double)yr[k] - tr[k]) * ((double)yr[k] - tr[k]);
        } else if (loss == LOSS_XENT) {
            double mx = yr[0], z = 0;
            for (int k = 1; k < Y; k++) mx = yr[k] > mx ? yr[k] : mx;
            for (int k = 0; k < Y; k++) z += exp(yr[k] - mx);
            for (int k = 0; k < Y; k++) total -= mk * tr[k] * (yr[k] - mx - log(z));
        } else {
            for (int k = 0; k < Y; k++) {
                double a = yr[k];
                total += mk * ((a > 0 ? a : 0) - a * tr[k] + log1p(exp(-fabs(a))));
            }
        }
    }
    if (n_rows == 0) return 0;
    return loss == LOSS_XENT || loss == LOSS_BCE_SUM ? total / n_rows : total / (n_rows * Y);
}

/* The perfect predictor built from the targets. */
static inline void perfect_predictor(int T, const Batch *bt) {
    size_t n = (size_t)T * bt->B * bt->shape.Y;
    for (size_t i = 0; i < n; i++) {
        real t = bt->target[i];
        bt->y[i] = bt->shape.loss == LOSS_MSE ? t
                   : bt->shape.loss == LOSS_XENT ? SURE_LOGIT * t
                                                 : SURE_LOGIT * (2 * t - 1);
    }
}

/* every output of the first T steps set to `value` */
static inline void constant_predictor(int T, const Batch *bt, double value) {
    size_t n = (size_t)T * bt->B * bt->shape.Y;
    for (size_t i = 0; i < n; i++) bt->y[i] = (real)value;
}

#endif
