/* common.h: what the task files of harness/tasks/ share: the registry
   entries task.c lists, the limits every check applies, clearing the steps a
   batch uses, and counting argmax answers of cross-entropy tasks.
   It holds no task's definition: each task is one file beside it (adding,
   multiplication and xor also share marked_pair.h). */
#ifndef RNNBENCH_TASKS_COMMON_H
#define RNNBENCH_TASKS_COMMON_H

#include "../task.h"

#include <stddef.h>

/* the longest delay a check accepts (copy's n_symbols too): docs/tasks.md asks
   for at least 10 000. At 10^5 an LSTM run at the default batch 32 and
   hidden 32 already holds 2.5 GB (adding) to 5 GB (timing, length 2T + 1)
   of activations and takes about 5 s a step; 10^6 would need 25-50 GB.
   tests/test_limits.py runs every task at this delay. */
#define TASK_MAX_DELAY 100000
/* "test accuracy >= 99%" of docs/tasks.md */
#define TASK_SOLVED_ACCURACY 0.99

/* one definition per file of this folder, listed in list.h */
#define TASK(t) extern const Task task_##t;
#include "list.h"
#undef TASK

/* 0 when min_delay <= delay <= TASK_MAX_DELAY; else -1 and a one-line reason
   that says why the minimum is what it is */
int task_check_delay(const char *task, int delay, int min_delay, const char *why_min, char *err,
                     size_t err_len);
/* -1 with a reason when form != 0, for tasks that have no form option */
int task_check_no_form(const char *task, int form, char *err, size_t err_len);

/* zeroes x (T,B,X), target (T,B,Y) and mask (T,B) over the first T steps,
   so a generator only writes what is not zero */
void task_clear_steps(int T, int B, int X, int Y, real *x, real *target, real *mask);

int argmax_row(const real *row, int n);
/* one item per masked row of steps [t_from, t_to): correct when the argmax
   of y is the target's class */
void count_argmax_rows(int t_from, int t_to, int B, int Y, const real *y, const real *target,
                       const real *mask, long *n_correct, long *n_total);

/* solved criterion of the accuracy tasks: accuracy >= TASK_SOLVED_ACCURACY */
int task_solved_by_accuracy(const TaskParams *p, double loss, double accuracy);

#endif
