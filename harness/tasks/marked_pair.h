/* marked_pair.h: the input sequences shared by adding, multiplication and
   xor: two channels (a value, a marker) with exactly two marked steps; the
   target, at the last step only, is a function of the two marked values.
   Layouts:
     PAIR_HALVES (Le et al. 2015, Arjovsky et al. 2016): length T; marker 0
       except one 1 uniform in the first half [0, T/2) and one in the second
       half [T/2, T).
     PAIR_1997 (Hochreiter & Schmidhuber 1997, exp. 4): length uniform in
       [T, T + T/10], drawn per batch; marker -1 on the first and last step;
       X1 marked among the first min(10, T/2) steps, X2 among the first
       T/2 - 1 steps still unmarked; a marked first step has its value set to
       0 (the paper's rule, so its -1/1 marker ambiguity cannot matter).
   This file knows nothing of targets' meaning: the task passes a function. */
#ifndef RNNBENCH_MARKED_PAIR_H
#define RNNBENCH_MARKED_PAIR_H

#include "../task.h"

#include <stddef.h>

#define MARKED_PAIR_X 2
/* Hochreiter 1997: a sequence is correct when its absolute error at the end
   is below 0.04; rnnbench applies it to both regression tasks and forms */
#define MARKED_PAIR_TOLERANCE 0.04

typedef enum { PAIR_HALVES, PAIR_1997 } PairLayout;
typedef enum { PAIR_UNIFORM01, PAIR_UNIFORM_PM1, PAIR_BITS } PairValues;

int marked_pair_check(const char *task, PairLayout layout, int T, char *err, size_t err_len);
int marked_pair_max_len(PairLayout layout, int T);
/* PAIR_1997: X1 is drawn among the first n_first steps, X2 among the first
   n_second steps other than X1's */
void marked_pair_1997_windows(int T, int *n_first, int *n_second);
/* probability that the k-th marked value (k = 0: X1, 1: X2) lies on the
   first step; non-zero only for PAIR_1997, where such a value is 0 */
double marked_pair_p_first_step(PairLayout layout, int T, int k);

/* E[v] and E[v^2] of one value (before the first-step rule) */
double pair_values_mean(PairValues values);
double pair_values_mean_square(PairValues values);

/* writes row (Y) of the target from the two marked values, in step order */
typedef void (*PairTarget)(double first, double second, real *target_row);

/* Writes x (len,B,2), target (len,B,Y) and mask (len,B) for B sequences:
   mask 1 and target_of(...) at the last step, zeros elsewhere. Returns len. */
int marked_pair_generate(PairLayout layout, PairValues values, int T, Rng *rng, int B, int Y,
                         PairTarget target_of, real *x, real *target, real *mask);

/* Y = 1 regression outputs: a sequence is correct when |y - target| at its
   last step is below MARKED_PAIR_TOLERANCE */
void marked_pair_count_within(int T, int B, const real *y, const real *target, const real *mask,
                              long *n_correct, long *n_total);

#endif
