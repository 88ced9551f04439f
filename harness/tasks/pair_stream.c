/* pair_stream.c: segments of marked pairs back to back (see pair_stream.h). */
#include "pair_stream.h"
#include "common.h"

#include <math.h>
#include <stdio.h>

int pair_stream_check(const char *task, const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form(task, p->form, err, err_len)) return -1;
    if (marked_pair_check(task, PAIR_HALVES, p->delay, err, err_len)) return -1;
    if (p->n_symbols < 1) {
        snprintf(err, err_len, "%s needs n_symbols (its number of segments) >= 1; got %d", task,
                 p->n_symbols);
        return -1;
    }
    long len = (long)p->delay * p->n_symbols;
    if (len > PAIR_STREAM_MAX_LEN) {
        snprintf(err, err_len,
                 "%s: delay %d x n_symbols %d = %ld steps is longer than the limit %d", task,
                 p->delay, p->n_symbols, len, PAIR_STREAM_MAX_LEN);
        return -1;
    }
    return 0;
}

int pair_stream_len(const TaskParams *p) { return p->delay * p->n_symbols; }

/* The buffers are step-major, so the steps of segment j, [jT, (j+1)T), are
   themselves a (T,B,...) batch: marked_pair_generate writes each in place. */
int pair_stream_generate(const TaskParams *p, PairValues values, PairTarget target_of, Rng *rng,
                         int B, real *x, real *target, real *mask) {
    const int T = p->delay, X = MARKED_PAIR_X, Y = 1;
    for (int j = 0; j < p->n_symbols; j++) {
        size_t first = (size_t)j * T * B;
        marked_pair_generate(PAIR_HALVES, values, T, rng, B, Y, target_of, x + first * X,
                             target + first * Y, mask + first);
    }
    return pair_stream_len(p);
}

void pair_stream_count(int T, int B, const real *y, const real *target, const real *mask,
                       long *n_correct, long *n_total) {
    for (size_t r = 0; r < (size_t)T * B; r++) {
        if (mask[r] == 0) continue;
        *n_correct += fabs((double)y[r] - target[r]) < MARKED_PAIR_TOLERANCE;
        *n_total += 1;
    }
}
