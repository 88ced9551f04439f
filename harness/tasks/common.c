/* common.c: checks, buffer clearing and argmax counting shared by the task
   files (see common.h). */
#include "common.h"

#include <stdio.h>
#include <string.h>

int task_check_delay(const char *task, int delay, int min_delay, const char *why_min, char *err,
                     size_t err_len) {
    if (delay < min_delay) {
        snprintf(err, err_len, "%s needs delay >= %d (%s); got %d", task, min_delay, why_min,
                 delay);
        return -1;
    }
    if (delay > TASK_MAX_DELAY) {
        snprintf(err, err_len, "%s: delay %d is larger than the limit %d", task, delay,
                 TASK_MAX_DELAY);
        return -1;
    }
    return 0;
}

int task_check_no_form(const char *task, int form, char *err, size_t err_len) {
    if (form != 0) {
        snprintf(err, err_len, "%s has no form option (got form=%d)", task, form);
        return -1;
    }
    return 0;
}

void task_clear_steps(int T, int B, int X, int Y, real *x, real *target, real *mask) {
    size_t rows = (size_t)T * B;
    memset(x, 0, rows * X * sizeof(real));
    memset(target, 0, rows * Y * sizeof(real));
    memset(mask, 0, rows * sizeof(real));
}

int argmax_row(const real *row, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (row[k] > row[best]) best = k;
    return best;
}

void count_argmax_rows(int t_from, int t_to, int B, int Y, const real *y, const real *target,
                       const real *mask, long *n_correct, long *n_total) {
    for (size_t r = (size_t)t_from * B; r < (size_t)t_to * B; r++) {
        if (mask[r] == 0) continue;
        *n_correct += argmax_row(y + r * Y, Y) == argmax_row(target + r * Y, Y);
        *n_total += 1;
    }
}

int task_solved_by_accuracy(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)loss;
    return accuracy >= TASK_SOLVED_ACCURACY;
}
