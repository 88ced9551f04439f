/* copy.c: the copy task of Arjovsky, Shah & Bengio 2016, with S = n_symbols
   (default 10) symbols from an alphabet of A (default 8).
   Input, one-hot over A symbols + blank + delimiter (A + 2): S random
   symbols, T - 1 blanks, the delimiter, S blanks; length T + 2S.
   Output, classes A symbols + blank (A + 1): blank for the first T + S
   steps, then the S symbols. Cross-entropy over every step (mask 1
   everywhere). Baseline: blank with certainty, then uniform over the
   alphabet for the S recalled steps: S ln A / (T + 2S), 10 ln 8 / (T + 20)
   by default. Items: the S recalled symbols (argmax). Solved: >= 99%.
   Not here: the variable-delay copy of Tallec & Ollivier 2018. */
#include "common.h"

#include <math.h>
#include <stdio.h>

/* a larger alphabet makes no different task, only a wider softmax */
#define COPY_MAX_ALPHABET 1000

static int copy_len(const TaskParams *p) { return p->delay + 2 * p->n_symbols; }

static int copy_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("copy", p->form, err, err_len)) return -1;
    if (task_check_delay("copy", p->delay, 1, "T - 1 blanks before the delimiter", err, err_len))
        return -1;
    if (p->n_symbols < 1 || p->n_symbols > TASK_MAX_DELAY) {
        snprintf(err, err_len, "copy n_symbols must be in [1, %d] (got %d)", TASK_MAX_DELAY,
                 p->n_symbols);
        return -1;
    }
    if (p->alphabet < 2 || p->alphabet > COPY_MAX_ALPHABET) {
        snprintf(err, err_len, "copy alphabet must be in [2, %d] (got %d)", COPY_MAX_ALPHABET,
                 p->alphabet);
        return -1;
    }
    return 0;
}

static void copy_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = copy_len(p);
    s->X = p->alphabet + 2;
    s->Y = p->alphabet + 1;
    s->loss = LOSS_XENT;
}

static int copy_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                         real *mask) {
    const int A = p->alphabet, S = p->n_symbols, T = p->delay, len = copy_len(p);
    const int X = A + 2, Y = A + 1, blank = A, delimiter = A + 1;
    const int t_delimiter = S + T - 1, t_recall = T + S;
    task_clear_steps(len, B, X, Y, x, target, mask);
    for (int t = 0; t < len; t++) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            int in = t < S ? rng_int(rng, A) : t == t_delimiter ? delimiter : blank;
            x[r * X + in] = 1;
            /* the recalled symbol is the input S + T steps before */
            int out = t < t_recall ? blank : argmax_row(x + ((size_t)(t - t_recall) * B + b) * X, X);
            target[r * Y + out] = 1;
            mask[r] = 1;
        }
    }
    return len;
}

static double copy_baseline(const TaskParams *p) {
    return p->n_symbols * log(p->alphabet) / copy_len(p);
}

static void copy_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                       const real *mask, long *n_correct, long *n_total) {
    count_argmax_rows(T - p->n_symbols, T, B, p->alphabet + 1, y, target, mask, n_correct,
                      n_total);
}

const Task task_copy = {
    .name = "copy",
    .desc = "recall S symbols after T blanks (Arjovsky, Shah & Bengio 2016)",
    .params = "delay T, n_symbols S=10, alphabet A=8",
    .check = copy_check,
    .shape = copy_shape,
    .generate = copy_generate,
    .baseline = copy_baseline,
    .count = copy_count,
    .solved = task_solved_by_accuracy,
};
