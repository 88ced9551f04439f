/* timing.c: generating a timed spike, after the GTS task of Gers,
   Schraudolph & Schmidhuber 2002 ("Learning precise timing with LSTM"),
   reduced to one spike per sequence as in docs/tasks.md.
   Input (1 channel): one spike of height 1 at a step s uniform in [0, T),
   silence elsewhere; the sequence has length 2T + 1, so at least one silent
   step follows the target. Target (1 channel): 1 at step s + T, 0 elsewhere;
   MSE at every step (mask 1 everywhere). The onset is as uncertain as the
   delay is long, so counting from the start of the sequence does not work.
   Baseline: the all-zero output's MSE, one squared spike over 2T + 1 steps.
   Item: a sequence, correct when y > 0.5 at the target step and at no other
   step. Solved: >= 99%.
   Not here: the paper's continual streams of spikes without resets, and its
   MSD and periodic-function tasks. */
#include "common.h"

#define TIMING_SPIKE 1.0
#define TIMING_THRESHOLD 0.5 /* half the spike height */

static int timing_len(int T) { return 2 * T + 1; }

static int timing_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("timing", p->form, err, err_len)) return -1;
    return task_check_delay("timing", p->delay, 1, "the output spike follows the input", err,
                            err_len);
}

static void timing_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = timing_len(p->delay);
    s->X = 1;
    s->Y = 1;
    s->loss = LOSS_MSE;
}

static int timing_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                           real *mask) {
    const int T = p->delay, len = timing_len(T);
    task_clear_steps(len, B, 1, 1, x, target, mask);
    for (size_t r = 0; r < (size_t)len * B; r++) mask[r] = 1;
    for (int b = 0; b < B; b++) {
        int onset = rng_int(rng, T);
        x[(size_t)onset * B + b] = (real)TIMING_SPIKE;
        target[(size_t)(onset + T) * B + b] = (real)TIMING_SPIKE;
    }
    return len;
}

/* mean over the masked steps (all of them) and the one output channel of
   the squared target: one spike per sequence */
static double timing_baseline(const TaskParams *p) {
    return TIMING_SPIKE * TIMING_SPIKE / timing_len(p->delay);
}

static void timing_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                         const real *mask, long *n_correct, long *n_total) {
    (void)p;
    for (int b = 0; b < B; b++) {
        int correct = 1;
        for (int t = 0; t < T; t++) {
            size_t r = (size_t)t * B + b;
            if (mask[r] == 0) continue;
            if ((y[r] > TIMING_THRESHOLD) != (target[r] > TIMING_THRESHOLD)) correct = 0;
        }
        *n_correct += correct;
        *n_total += 1;
    }
}

const Task task_timing = {
    .name = "timing",
    .desc = "emit a spike exactly T steps after an input spike (Gers, Schraudolph & Schmidhuber 2002)",
    .params = "delay T (length 2T + 1)",
    .check = timing_check,
    .shape = timing_shape,
    .generate = timing_generate,
    .baseline = timing_baseline,
    .count = timing_count,
    .solved = task_solved_by_accuracy,
};
