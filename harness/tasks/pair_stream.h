/* pair_stream.h: the continual streams of adding-stream and
   multiplication-stream: S = n_symbols segments of marked_pair.h's
   PAIR_HALVES layout (length T = delay, values and one mark in each half),
   back to back in one sequence of S T steps with nothing between them and
   no state reset. Each segment's target, a function of its own two marked
   values, sits at the segment's last step, the only steps with mask 1; an
   item is a segment, correct when its absolute error is below
   MARKED_PAIR_TOLERANCE. The task passes the values and the target. */
#ifndef RNNBENCH_PAIR_STREAM_H
#define RNNBENCH_PAIR_STREAM_H

#include "marked_pair.h"

/* the longest stream, S T: ten segments (the default S) of the longest delay */
#define PAIR_STREAM_MAX_LEN 1000000

/* no form; T from 2 (a mark in each half) to TASK_MAX_DELAY; S >= 1 and
   S T <= PAIR_STREAM_MAX_LEN */
int pair_stream_check(const char *task, const TaskParams *p, char *err, size_t err_len);
int pair_stream_len(const TaskParams *p);
/* writes the S segments of B streams into (S T, B, ...) buffers, segment
   after segment from the same random stream; returns S T */
int pair_stream_generate(const TaskParams *p, PairValues values, PairTarget target_of, Rng *rng,
                         int B, real *x, real *target, real *mask);
/* Y = 1: one item per masked step (a segment's end) */
void pair_stream_count(int T, int B, const real *y, const real *target, const real *mask,
                       long *n_correct, long *n_total);

#endif
