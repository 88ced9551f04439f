/* test_tasks.c: the tasks of harness/ (task.c, the files of tasks/) against
   their definitions in tasks.md: registry and checks; shapes; every entry of
   the first T steps written, for every delay from the minimum to 10 000;
   linear cost; determinism in the seed; baselines against closed forms
   written here independently, and against a loss measured on generated data
   (the constant predictor for regression, the best class-marginal predictor
   for cross-entropy); the solved criterion on a perfect and a trivial
   predictor; then one test per task of its construction.
   The loss here re-implements model.c's formulas (mse over masked rows and
   components, xent over masked rows, bce over masked rows and components)
   so that the tasks are tested without a model. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness/task.h"

/* ------------------------------------------------------------------------- */
/* helpers */

static int close_to(double a, double b, double atol, double rtol) {
    return fabs(a - b) <= atol + rtol * fabs(b);
}

/* the name is held, not pointed to: Criterion hands each test a copy of
   the parameters in a new process, where a pointer would dangle */
typedef struct {
    char task[24];
    int delay, form, n_classes;
    /* expected shape */
    int X, Y, loss, max_len;
} Case;

static Case cases[] = {
    {"adding", 50, 0, 4, 2, 1, LOSS_MSE, 50},
    {"adding", 100, 1997, 4, 2, 1, LOSS_MSE, 110},
    {"copy", 30, 0, 4, 10, 9, LOSS_XENT, 50},
    {"recall", 40, 0, 4, 9, 4, LOSS_XENT, 42},
    {"recall", 25, 0, 7, 12, 7, LOSS_XENT, 27},
    {"temporal-order", 100, 0, 4, 8, 4, LOSS_XENT, 110},
    {"temporal-order", 100, 1, 4, 8, 8, LOSS_XENT, 110},
    {"temporal-order", 37, 1, 4, 8, 8, LOSS_XENT, 40},
    {"multiplication", 50, 0, 4, 2, 1, LOSS_MSE, 50},
    {"xor", 50, 0, 4, 2, 2, LOSS_XENT, 50},
    {"reber", 20, 0, 4, 7, 7, LOSS_BCE, 23},
    {"timing", 30, 0, 4, 1, 1, LOSS_MSE, 61},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void case_params(const Case *c, TaskParams *p) {
    task_params_default(p);
    p->delay = c->delay;
    p->form = c->form;
    p->n_classes = c->n_classes;
}

static void log_case(const Case *c) {
    cr_log_info("task=%s delay=%d form=%d K=%d", c->task, c->delay, c->form, c->n_classes);
}

/* buffers of one batch, NaN-filled so unwritten entries show */
typedef struct {
    TaskShape shape;
    int B;
    real *x, *target, *mask, *y;
} Batch;

static void fill_nan(real *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = NAN;
}

static void batch_alloc(const Task *task, const TaskParams *p, int B, Batch *bt) {
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

static void batch_free(Batch *bt) {
    free(bt->x);
    free(bt->target);
    free(bt->mask);
    free(bt->y);
}

static const Task *find_checked(const char *name, const TaskParams *p) {
    const Task *task = task_find(name);
    cr_assert(task, "task %s not registered", name);
    char err[256] = "";
    cr_assert_eq(task->check(p, err, sizeof err), 0, "%s: check failed: %s", name, err);
    return task;
}

/* model.c's losses, in double */
static double reference_loss(int loss, int T, int B, int Y, const real *y, const real *target,
                             const real *mask) {
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
    return loss == LOSS_XENT ? total / n_rows : total / (n_rows * Y);
}

/* The baseline's closed form, written from tasks.md, not from the code. */
static double closed_form_baseline(const Case *c) {
    const char *t = c->task;
    int T = c->delay;
    if (!strcmp(t, "adding") && c->form == 0) return 1.0 / 6;
    if (!strcmp(t, "adding")) {
        /* 1997: Var(0.5 + (X1 + X2)/4), Xi ~ U(-1,1) (variance 1/3) but 0 on
           the first step: X1 there with p 1/10, X2 with p (9/10)/(T/2 - 1) */
        double p1 = 1.0 / 10, p2 = (1 - p1) / (T / 2 - 1);
        return ((1 - p1) / 3 + (1 - p2) / 3) / 16;
    }
    if (!strcmp(t, "copy")) return 10 * log(8) / (T + 20);
    if (!strcmp(t, "recall")) return log(c->n_classes);
    if (!strcmp(t, "temporal-order")) return c->form == 0 ? log(4) : log(8);
    if (!strcmp(t, "multiplication")) return 7.0 / 144;
    if (!strcmp(t, "xor")) return log(2);
    if (!strcmp(t, "reber")) return NAN;
    if (!strcmp(t, "timing")) return 1.0 / (2 * T + 1);
    cr_assert_fail("no closed form for %s", t);
    return NAN;
}

/* The predictor that ignores the dependency, whose loss is the baseline:
   the target's mean for regression, uniform logits over the possible
   classes for cross-entropy, and for copy certainty of the blank before the
   recall. Reber has no baseline: all-zero logits serve as its trivial
   predictor. */
#define SURE_LOGIT 30
static void baseline_predictor(const Case *c, int T, const Batch *bt) {
    int B = bt->B, Y = bt->shape.Y;
    double constant = 0;
    if (!strcmp(c->task, "adding")) constant = c->form == 0 ? 1 : 0.5;
    if (!strcmp(c->task, "multiplication")) constant = 0.25;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            real *row = bt->y + ((size_t)t * B + b) * Y;
            for (int k = 0; k < Y; k++) row[k] = (real)constant;
            if (!strcmp(c->task, "copy")) {
                int recalling = t >= T - 10, blank = Y - 1;
                row[blank] = recalling ? -SURE_LOGIT : SURE_LOGIT;
            }
        }
}

/* The perfect predictor built from the targets. */
static void perfect_predictor(int T, const Batch *bt) {
    size_t n = (size_t)T * bt->B * bt->shape.Y;
    for (size_t i = 0; i < n; i++) {
        real t = bt->target[i];
        bt->y[i] = bt->shape.loss == LOSS_MSE ? t
                   : bt->shape.loss == LOSS_XENT ? SURE_LOGIT * t
                                                 : SURE_LOGIT * (2 * t - 1);
    }
}

static size_t count_nan(const real *v, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += isnan(v[i]) != 0;
    return k;
}

/* every entry of the first T steps written; mask in {0,1}; every sequence
   scored somewhere; cross-entropy targets one-hot where masked */
static void check_batch(const char *name, int T, const Batch *bt) {
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

/* row (t, b) of a (T,B,n) buffer of B sequences */
#define AT(buf, n, t, b) ((buf) + ((size_t)(t) * (B) + (b)) * (n))

static int one_hot_index(const real *row, int n) {
    int k_hot = -1, n_hot = 0;
    for (int k = 0; k < n; k++)
        if (row[k] != 0) {
            k_hot = k;
            n_hot++;
        }
    cr_assert(n_hot == 1 && row[k_hot] == 1, "row is not one-hot");
    return k_hot;
}

/* ------------------------------------------------------------------------- */
/* registry and checks */

Test(tasks, registry_in_the_order_of_tasks_md) {
    static const char *names[] = {"adding", "copy", "recall", "temporal-order",
                                  "multiplication", "xor", "reber", "timing"};
    int n = 0;
    const Task *const *all = task_all(&n);
    cr_assert_eq(n, 8);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(all[i]->name, names[i]);
        cr_assert_eq(task_find(names[i]), all[i]);
        cr_assert(all[i]->desc && all[i]->params && all[i]->check && all[i]->shape &&
                  all[i]->generate && all[i]->baseline && all[i]->count && all[i]->solved);
    }
    cr_assert_null(task_find("nope"));
}

Test(tasks, defaults) {
    TaskParams p;
    memset(&p, 0x7f, sizeof p);
    task_params_default(&p);
    cr_assert_eq(p.delay, 100);
    cr_assert_eq(p.n_classes, 4);
    cr_assert_eq(p.form, 0);
    cr_assert_eq(p.n_symbols, 10);
    cr_assert_eq(p.alphabet, 8);
}

static void expect_rejected(const char *name, const TaskParams *p, const char *what) {
    char err[256] = "";
    cr_assert_eq(task_find(name)->check(p, err, sizeof err), -1, "%s: %s accepted", name, what);
    cr_assert(strlen(err) > 0 && !strchr(err, '\n'), "%s: reason for %s not one line: '%s'",
              name, what, err);
    cr_log_info("%s rejects %s: %s", name, what, err);
}

Test(tasks, check_rejects_invalid_params) {
    int n;
    const Task *const *all = task_all(&n);
    for (int i = 0; i < n; i++) {
        TaskParams p;
        task_params_default(&p);
        p.delay = 0;
        expect_rejected(all[i]->name, &p, "delay 0");
        p.delay = -5;
        expect_rejected(all[i]->name, &p, "delay -5");
        p.delay = 2000000000;
        expect_rejected(all[i]->name, &p, "delay 2e9");
        task_params_default(&p);
        p.form = 7;
        expect_rejected(all[i]->name, &p, "form 7");
    }
    TaskParams p;
    task_params_default(&p);
    p.n_classes = 1;
    expect_rejected("recall", &p, "K = 1");
    task_params_default(&p);
    p.alphabet = 1;
    expect_rejected("copy", &p, "alphabet 1");
    task_params_default(&p);
    p.n_symbols = 0;
    expect_rejected("copy", &p, "n_symbols 0");
    task_params_default(&p);
    p.form = 1997;
    expect_rejected("multiplication", &p, "form 1997");
    p.delay = 3;
    expect_rejected("adding", &p, "form 1997 with delay 3");
    task_params_default(&p);
    p.delay = 4;
    expect_rejected("reber", &p, "delay 4");
}

/* Every task, every form, every delay 1..40 and 10 000: accepted from a
   small minimum on (at most 5, the shortest Reber string), and then every
   entry of the first T steps written. */
Test(tasks, generates_every_delay_from_its_minimum_to_10000) {
    static const struct { const char *task; int form; } variants[] = {
        {"adding", 0}, {"adding", 1997}, {"copy", 0}, {"recall", 0},
        {"temporal-order", 0}, {"temporal-order", 1}, {"multiplication", 0}, {"xor", 0},
        {"reber", 0}, {"timing", 0},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        const Task *task = task_find(variants[v].task);
        int first_ok = 0;
        for (int delay = 1; delay <= 41; delay++) {
            TaskParams p;
            task_params_default(&p);
            p.form = variants[v].form;
            p.delay = delay == 41 ? 10000 : delay;
            char err[256] = "";
            if (task->check(&p, err, sizeof err) != 0) {
                cr_assert(first_ok == 0 && delay <= 5, "%s form %d rejects delay %d: %s",
                          task->name, p.form, p.delay, err);
                continue;
            }
            if (!first_ok) first_ok = delay;
            Batch bt;
            batch_alloc(task, &p, 3, &bt);
            Rng rng;
            rng_seed(&rng, 1000 + delay);
            int T = task->generate(&p, &rng, 3, bt.x, bt.target, bt.mask);
            check_batch(task->name, T, &bt);
            batch_free(&bt);
        }
        cr_log_info("%s form %d: delays from %d accepted", task->name, variants[v].form, first_ok);
    }
}

/* ------------------------------------------------------------------------- */
/* every case: shape, writes, determinism, baselines, solved */

ParameterizedTestParameters(tasks, shape_and_writes) {
    return cr_make_param_array(Case, cases, N_CASES);
}

ParameterizedTest(Case *c, tasks, shape_and_writes) {
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

ParameterizedTestParameters(tasks, deterministic_in_the_seed) {
    return cr_make_param_array(Case, cases, N_CASES);
}

ParameterizedTest(Case *c, tasks, deterministic_in_the_seed) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    const int B = 4;
    Batch run[3];
    int T[3];
    const uint64_t seeds[3] = {42, 42, 43};
    for (int i = 0; i < 3; i++) {
        batch_alloc(task, &p, B, &run[i]);
        Rng rng;
        rng_stream(&rng, seeds[i], "train");
        T[i] = task->generate(&p, &rng, B, run[i].x, run[i].target, run[i].mask);
    }
    size_t rows = (size_t)T[0] * B;
    cr_assert_eq(T[0], T[1]);
    cr_assert(!memcmp(run[0].x, run[1].x, rows * run[0].shape.X * sizeof(real)), "x differs");
    cr_assert(!memcmp(run[0].target, run[1].target, rows * run[0].shape.Y * sizeof(real)),
              "target differs");
    cr_assert(!memcmp(run[0].mask, run[1].mask, rows * sizeof(real)), "mask differs");
    int differs = T[0] != T[2] ||
                  memcmp(run[0].x, run[2].x, rows * run[0].shape.X * sizeof(real)) != 0;
    cr_assert(differs, "%s: seeds 42 and 43 gave the same batch", c->task);
    for (int i = 0; i < 3; i++) batch_free(&run[i]);
}

ParameterizedTestParameters(tasks, baseline_closed_form) {
    return cr_make_param_array(Case, cases, N_CASES);
}

ParameterizedTest(Case *c, tasks, baseline_closed_form) {
    log_case(c);
    TaskParams p;
    case_params(c, &p);
    const Task *task = find_checked(c->task, &p);
    double got = task->baseline(&p), want = closed_form_baseline(c);
    cr_log_info("%s baseline %.10f, closed form %.10f", c->task, got, want);
    if (isnan(want)) {
        cr_assert(isnan(got), "%s: baseline %g, tasks.md gives none", c->task, got);
        return;
    }
    cr_assert(close_to(got, want, 1e-12, 1e-12), "%s: baseline %.12f != %.12f", c->task, got,
              want);
}

Test(tasks, copy_baseline_values_of_tasks_md) {
    TaskParams p;
    task_params_default(&p);
    const Task *copy = task_find("copy");
    p.delay = 200;
    cr_assert(close_to(copy->baseline(&p), 0.0945, 1e-4, 0), "T=200: %g", copy->baseline(&p));
    p.delay = 500;
    cr_assert(close_to(copy->baseline(&p), 0.0400, 1e-4, 0), "T=500: %g", copy->baseline(&p));
}

/* The loss of the baseline predictor measured on generated data, against
   baseline(). Regression: the constant predictor of baseline_predictor,
   within 5 standard errors of the mean over batches. Cross-entropy: the best
   predictor that ignores the dependency, fitted on the data itself: the
   empirical class frequencies at each step counted from the end (where
   every query sits), whose loss is their entropy; this checks that the
   classes are as balanced as the baseline assumes. Its in-sample bias is
   about -(K-1)/2N per scored step, hence the tolerance. */
static double marginal_entropy_loss(const double *counts, int n_positions, int Y) {
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

ParameterizedTestParameters(tasks, baseline_measured) {
    return cr_make_param_array(Case, cases, N_CASES);
}

ParameterizedTest(Case *c, tasks, baseline_measured) {
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
        baseline_predictor(c, T, &bt);
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

/* generation is linear in T: 100 000 steps of every task well under a
   second (quadratic work would take minutes) */
Test(tasks, generation_is_linear_in_the_delay) {
    static const struct { const char *task; int form; } variants[] = {
        {"adding", 0}, {"adding", 1997}, {"copy", 0}, {"recall", 0},
        {"temporal-order", 0}, {"temporal-order", 1}, {"multiplication", 0}, {"xor", 0},
        {"reber", 0}, {"timing", 0},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        TaskParams p;
        task_params_default(&p);
        p.form = variants[v].form;
        p.delay = 100000;
        const Task *task = find_checked(variants[v].task, &p);
        Batch bt;
        batch_alloc(task, &p, 2, &bt);
        Rng rng;
        rng_seed(&rng, 3);
        clock_t start = clock();
        int T = task->generate(&p, &rng, 2, bt.x, bt.target, bt.mask);
        double cpu_s = (double)(clock() - start) / CLOCKS_PER_SEC;
        cr_log_info("%s form %d: T=%d in %.4f s", task->name, p.form, T, cpu_s);
        cr_assert(cpu_s < 0.5, "%s: %.2f s for T=%d", task->name, cpu_s, T);
        check_batch(task->name, T, &bt);
        batch_free(&bt);
    }
}

static long items_per_sequence(const Case *c) { return !strcmp(c->task, "copy") ? 10 : 1; }

ParameterizedTestParameters(tasks, solved_by_perfect_not_by_trivial) {
    return cr_make_param_array(Case, cases, N_CASES);
}

ParameterizedTest(Case *c, tasks, solved_by_perfect_not_by_trivial) {
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
    cr_assert_eq(n_total, B * items_per_sequence(c), "%s: %ld items", c->task, n_total);
    cr_assert_eq(n_correct, n_total, "%s: perfect predictor %ld/%ld", c->task, n_correct, n_total);
    cr_assert(task->solved(&p, loss, 1.0), "%s: perfect predictor not solved", c->task);

    fill_nan(bt.y, (size_t)T * B * bt.shape.Y);
    baseline_predictor(c, T, &bt);
    n_correct = n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    loss = reference_loss(bt.shape.loss, T, B, bt.shape.Y, bt.y, bt.target, bt.mask);
    double accuracy = (double)n_correct / n_total;
    cr_log_info("%s trivial: loss %.4f, accuracy %.3f", c->task, loss, accuracy);
    cr_assert(accuracy < 0.9, "%s: trivial predictor accuracy %.3f", c->task, accuracy);
    cr_assert(!task->solved(&p, loss, accuracy), "%s: trivial predictor solved", c->task);
    batch_free(&bt);
}

/* ------------------------------------------------------------------------- */
/* each task's construction */


static int generate_case(const char *name, TaskParams *p, int B, uint64_t seed, Batch *bt) {
    const Task *task = find_checked(name, p);
    batch_alloc(task, p, B, bt);
    Rng rng;
    rng_seed(&rng, seed);
    int T = task->generate(p, &rng, B, bt->x, bt->target, bt->mask);
    check_batch(name, T, bt);
    return T;
}

/* the regression tasks: two markers, one per half, target f(marked values)
   at the last step only */
static void check_halves(const char *name, int bits) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 51;
    const int B = 200;
    Batch bt;
    int T = generate_case(name, &p, B, 3, &bt);
    cr_assert_eq(T, 51);
    for (int b = 0; b < B; b++) {
        int n_marks = 0, pos[2] = {-1, -1};
        for (int t = 0; t < T; t++) {
            real v = AT(bt.x, 2, t, b)[0], m = AT(bt.x, 2, t, b)[1];
            cr_assert(bits ? (v == 0 || v == 1) : (v >= 0 && v < 1), "%s: value %g", name, v);
            cr_assert(m == 0 || m == 1);
            if (m == 1 && n_marks < 2) pos[n_marks] = t;
            n_marks += m == 1;
            if (t < T - 1) cr_assert_eq(bt.mask[(size_t)t * B + b], 0);
        }
        cr_assert_eq(n_marks, 2, "%s: %d markers", name, n_marks);
        cr_assert(pos[0] < 25 && pos[1] >= 25, "%s: marks at %d, %d", name, pos[0], pos[1]);
        double v1 = AT(bt.x, 2, pos[0], b)[0], v2 = AT(bt.x, 2, pos[1], b)[0];
        const real *out = AT(bt.target, bt.shape.Y, T - 1, b);
        cr_assert_eq(bt.mask[(size_t)(T - 1) * B + b], 1);
        if (!strcmp(name, "adding")) cr_assert(close_to(out[0], v1 + v2, 1e-6, 1e-6));
        if (!strcmp(name, "multiplication")) cr_assert(close_to(out[0], v1 * v2, 1e-6, 1e-6));
        if (!strcmp(name, "xor")) cr_assert_eq(out[(int)v1 ^ (int)v2], 1);
    }
    batch_free(&bt);
}

Test(adding, modern_form) { check_halves("adding", 0); }
Test(multiplication, product_of_marked_values) { check_halves("multiplication", 0); }
Test(xor, xor_of_marked_bits) { check_halves("xor", 1); }

Test(adding, form_1997) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 100;
    p.form = 1997;
    const int B = 100;
    int seen_len[11] = {0}, n_first_marked = 0;
    for (int seed = 0; seed < 60; seed++) {
        Batch bt;
        int T = generate_case("adding", &p, B, seed, &bt);
        cr_assert(T >= 100 && T <= 110, "length %d", T);
        seen_len[T - 100] = 1;
        for (int b = 0; b < B; b++) {
            int n_marks = 0, pos[2] = {-1, -1};
            for (int t = 0; t < T; t++) {
                real v = AT(bt.x, 2, t, b)[0], m = AT(bt.x, 2, t, b)[1];
                cr_assert(v >= -1 && v < 1);
                if (m == 1) {
                    cr_assert(n_marks < 2, "more than two marks");
                    pos[n_marks++] = t;
                } else if (t == 0 || t == T - 1) {
                    cr_assert_eq(m, -1, "first/last marker %g", m);
                } else {
                    cr_assert_eq(m, 0);
                }
            }
            cr_assert_eq(n_marks, 2);
            /* X1 among the first ten; X2 among the first T/2 - 1 = 49 others,
               so at most at step 49 */
            cr_assert(pos[0] < 10 || pos[1] < 10, "no mark in the first ten: %d %d", pos[0],
                      pos[1]);
            cr_assert(pos[1] <= 49, "X2 at %d", pos[1]);
            if (pos[0] == 0) {
                n_first_marked++;
                cr_assert_eq(AT(bt.x, 2, 0, b)[0], 0, "a marked first step has value 0");
            }
            double sum = AT(bt.x, 2, pos[0], b)[0] + AT(bt.x, 2, pos[1], b)[0];
            cr_assert(close_to(AT(bt.target, 1, T - 1, b)[0], 0.5 + sum / 4, 1e-6, 1e-6));
        }
        batch_free(&bt);
    }
    for (int k = 0; k <= 10; k++) cr_assert(seen_len[k], "length %d never drawn", 100 + k);
    cr_assert(n_first_marked > 0, "the first step was never marked in 6000 sequences");
}

Test(adding, count_uses_the_004_tolerance) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 20;
    const int B = 50;
    Batch bt;
    int T = generate_case("adding", &p, B, 1, &bt);
    const Task *task = task_find("adding");
    for (int off = 0; off < 2; off++) {
        double error = off ? 0.041 : 0.039;
        for (size_t i = 0; i < (size_t)T * B; i++) bt.y[i] = bt.target[i] + (real)error;
        long n_correct = 0, n_total = 0;
        task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
        cr_assert_eq(n_total, B);
        cr_assert_eq(n_correct, off ? 0 : B, "error %g: %ld correct", error, n_correct);
    }
    batch_free(&bt);
}

Test(copy, symbols_then_delimiter_then_recall) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 30;
    const int B = 20, S = 10, A = 8, blank = A, delimiter = A + 1;
    Batch bt;
    int T = generate_case("copy", &p, B, 2, &bt);
    cr_assert_eq(T, 30 + 20);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const real *in = AT(bt.x, A + 2, t, b), *out = AT(bt.target, A + 1, t, b);
            int sym = -1, cls = -1;
            for (int k = 0; k < A + 2; k++) sym = in[k] == 1 ? k : sym;
            for (int k = 0; k < A + 1; k++) cls = out[k] == 1 ? k : cls;
            cr_assert_eq(bt.mask[(size_t)t * B + b], 1);
            if (t < S) cr_assert(sym >= 0 && sym < A);
            else if (t == 30 + S - 1) cr_assert_eq(sym, delimiter, "no delimiter at %d", t);
            else cr_assert_eq(sym, blank, "t=%d input %d", t, sym);
            if (t < 30 + S) {
                cr_assert_eq(cls, blank);
            } else {
                const real *src = AT(bt.x, A + 2, t - 30 - S, b);
                cr_assert_eq(src[cls], 1, "t=%d recalls the wrong symbol", t);
            }
        }
    batch_free(&bt);
}

Test(recall, answer_is_the_first_symbol) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 40;
    p.n_classes = 5;
    const int B = 50, K = 5, X = K + 4 + 1;
    Batch bt;
    int T = generate_case("recall", &p, B, 4, &bt);
    cr_assert_eq(T, 42);
    for (int b = 0; b < B; b++) {
        int first = one_hot_index(AT(bt.x, X, 0, b), X);
        cr_assert(first < K);
        for (int t = 1; t < T - 1; t++) {
            int sym = one_hot_index(AT(bt.x, X, t, b), X);
            cr_assert(sym >= K && sym < X - 1, "t=%d: %d is not a distractor", t, sym);
            cr_assert_eq(bt.mask[(size_t)t * B + b], 0);
        }
        cr_assert_eq(one_hot_index(AT(bt.x, X, T - 1, b), X), X - 1, "no query at the end");
        cr_assert_eq(bt.mask[(size_t)(T - 1) * B + b], 1);
        cr_assert_eq(one_hot_index(AT(bt.target, K, T - 1, b), K), first);
    }
    batch_free(&bt);
}

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

/* an acceptor of the embedded Reber grammar written independently of
   reber.c: transitions as (state, symbol) -> state */
static const char *const reber_symbols = "BTPSXVE";
static int reber_accepts_inner(const char *s, int len) {
    static const struct { int from; char sym; int to; } edges[] = {
        {0, 'B', 1}, {1, 'T', 2}, {1, 'P', 3}, {2, 'S', 2}, {2, 'X', 4}, {3, 'T', 3},
        {3, 'V', 5}, {4, 'X', 3}, {4, 'S', 6}, {5, 'P', 4}, {5, 'V', 6}, {6, 'E', 7},
    };
    int state = 0;
    for (int i = 0; i < len; i++) {
        int next = -1;
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++)
            if (edges[e].from == state && edges[e].sym == s[i]) next = edges[e].to;
        if (next < 0) return 0;
        state = next;
    }
    return state == 7;
}

/* decodes sequence b of a reber batch into a string and checks it: the
   embedded form, the inner string in the grammar, each next symbol among the
   targets, the branch alone after the inner E */
static void check_reber_string(const Batch *bt, int T, int b, int inner_len, char *str) {
    const int B = bt->B, Y = 7;
    for (int t = 0; t < T; t++) str[t] = reber_symbols[one_hot_index(AT(bt->x, Y, t, b), Y)];
    str[T] = 0;
    cr_assert_eq(T, inner_len + 3);
    cr_assert(str[0] == 'B' && (str[1] == 'T' || str[1] == 'P') && str[T - 1] == str[1],
              "not embedded: %s", str);
    cr_assert(reber_accepts_inner(str + 2, inner_len), "inner string not Reber: %s", str);
    for (int t = 0; t + 1 < T; t++) {
        int next = (int)(strchr(reber_symbols, str[t + 1]) - reber_symbols);
        cr_assert_eq(AT(bt->target, Y, t, b)[next], 1, "%s: symbol %d not a target", str, t + 1);
    }
    const real *after_e = AT(bt->target, Y, T - 2, b), *last = AT(bt->target, Y, T - 1, b);
    for (int k = 0; k < Y; k++) {
        cr_assert_eq(after_e[k], reber_symbols[k] == str[1], "after the inner E: only the branch");
        cr_assert_eq(last[k], reber_symbols[k] == 'E', "after the branch: only E");
    }
}

Test(reber, strings_of_the_embedded_grammar) {
    static const int inner_lens[] = {5, 6, 9, 40, 300, 3000};
    for (size_t i = 0; i < sizeof inner_lens / sizeof inner_lens[0]; i++) {
        TaskParams p;
        task_params_default(&p);
        p.delay = inner_lens[i];
        const int B = p.delay > 100 ? 4 : 100;
        Batch bt;
        int T = generate_case("reber", &p, B, 11, &bt);
        char *str = malloc((size_t)T + 1);
        for (int b = 0; b < B; b++) check_reber_string(&bt, T, b, p.delay, str);
        cr_log_info("reber T=%d: %.60s", p.delay, str);
        free(str);
        batch_free(&bt);
    }
}

/* conditioned on the length, inner strings are equally likely: the three
   of length 6 (BTSXSE, BPTVVE, BPVPSE) each about a third */
Test(reber, inner_strings_uniform_given_the_length) {
    static const char *const strings[] = {"BTSXSE", "BPTVVE", "BPVPSE"};
    TaskParams p;
    task_params_default(&p);
    p.delay = 6;
    const int B = 3000;
    Batch bt;
    int T = generate_case("reber", &p, B, 12, &bt);
    int counts[3] = {0};
    char str[16];
    for (int b = 0; b < B; b++) {
        check_reber_string(&bt, T, b, 6, str);
        int found = 0;
        for (int k = 0; k < 3; k++)
            if (!strncmp(str + 2, strings[k], 6)) {
                counts[k]++;
                found = 1;
            }
        cr_assert(found, "unexpected inner string %s", str);
    }
    double sd = sqrt(B * (1.0 / 3) * (2.0 / 3));
    for (int k = 0; k < 3; k++)
        cr_assert(fabs(counts[k] - B / 3.0) < 5 * sd, "%s drawn %d times of %d", strings[k],
                  counts[k], B);
    batch_free(&bt);
}

/* knowing the grammar but not the branch (both T and P after the inner E)
   scores no string */
Test(reber, forgetting_the_branch_fails_every_string) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 12;
    const int B = 30, Y = 7;
    Batch bt;
    int T = generate_case("reber", &p, B, 13, &bt);
    for (size_t i = 0; i < (size_t)T * B * Y; i++) bt.y[i] = bt.target[i] > 0.5f ? 5 : -5;
    for (int b = 0; b < B; b++) AT(bt.y, Y, T - 2, b)[1] = AT(bt.y, Y, T - 2, b)[2] = 5;
    long n_correct = 0, n_total = 0;
    task_find("reber")->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert_eq(n_total, B);
    cr_assert_eq(n_correct, 0);
    batch_free(&bt);
}

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
