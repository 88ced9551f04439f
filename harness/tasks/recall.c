/* recall.c: the noise-free long-time-lag task of Hochreiter & Schmidhuber
   1997 (exp. 2), generalised to K classes (n_classes, default 4).
   Input, one-hot over K class symbols + RECALL_DISTRACTORS distractors + a
   query marker: the class symbol at step 0, T random distractors, the query
   at step T + 1; length T + 2. Output at the query only: the class (K-way
   cross-entropy). Baseline ln K (uniform guess). Item: the one answer per
   sequence (argmax). Solved: >= 99%.
   Unlike exp. 2a the distractors are random (as in 2b) and few, so the
   input width does not grow with the delay. */
#include "common.h"

#include <math.h>
#include <stdio.h>

/* as many as temporal-order's {a, b, c, d} */
#define RECALL_DISTRACTORS 4
#define RECALL_MAX_CLASSES 1000

static int recall_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("recall", p->form, err, err_len)) return -1;
    if (p->n_classes < 2 || p->n_classes > RECALL_MAX_CLASSES) {
        snprintf(err, err_len, "recall n_classes must be in [2, %d] (got %d)", RECALL_MAX_CLASSES,
                 p->n_classes);
        return -1;
    }
    return task_check_delay("recall", p->delay, 1, "at least one distractor", err, err_len);
}

static void recall_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = p->delay + 2;
    s->X = p->n_classes + RECALL_DISTRACTORS + 1;
    s->Y = p->n_classes;
    s->loss = LOSS_XENT;
}

static int recall_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                           real *mask) {
    const int K = p->n_classes, X = K + RECALL_DISTRACTORS + 1, query = X - 1;
    const int len = p->delay + 2, t_query = len - 1;
    task_clear_steps(len, B, X, K, x, target, mask);
    for (int t = 0; t < len; t++) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            if (t == 0) {
                int cls = rng_int(rng, K);
                x[r * X + cls] = 1;
                /* the answer lives at the query step */
                target[((size_t)t_query * B + b) * K + cls] = 1;
            } else if (t == t_query) {
                x[r * X + query] = 1;
                mask[r] = 1;
            } else {
                x[r * X + K + rng_int(rng, RECALL_DISTRACTORS)] = 1;
            }
        }
    }
    return len;
}

static double recall_baseline(const TaskParams *p) { return log(p->n_classes); }

static void recall_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                         const real *mask, long *n_correct, long *n_total) {
    count_argmax_rows(T - 1, T, B, p->n_classes, y, target, mask, n_correct, n_total);
}

const Task task_recall = {
    .name = "recall",
    .desc = "recall the first of T + 1 symbols at a query (Hochreiter & Schmidhuber 1997, exp. 2)",
    .params = "delay T (distractors), n_classes K=4",
    .check = recall_check,
    .shape = recall_shape,
    .generate = recall_generate,
    .baseline = recall_baseline,
    .count = recall_count,
    .solved = task_solved_by_accuracy,
};
