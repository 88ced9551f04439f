/* marked_pair.c: the two-marker input sequences of adding, multiplication
   and xor (see marked_pair.h for the layouts). */
#include "marked_pair.h"
#include "common.h"

#include <math.h>
#include <stdio.h>

/* 1997: X1 among the first ten steps; scaled down so it stays in the first
   half when T < 20 */
#define PAIR_1997_FIRST_WINDOW 10

int marked_pair_check(const char *task, PairLayout layout, int T, char *err, size_t err_len) {
    if (layout == PAIR_HALVES)
        return task_check_delay(task, T, 2, "one marked step in each half", err, err_len);
    return task_check_delay(task, T, 4, "form 1997 marks X2 among the first T/2 - 1 steps", err,
                            err_len);
}

int marked_pair_max_len(PairLayout layout, int T) {
    return layout == PAIR_1997 ? T + T / 10 : T;
}

void marked_pair_1997_windows(int T, int *n_first, int *n_second) {
    int half = T / 2;
    *n_first = half < PAIR_1997_FIRST_WINDOW ? half : PAIR_1997_FIRST_WINDOW;
    *n_second = half - 1;
}

double marked_pair_p_first_step(PairLayout layout, int T, int k) {
    if (layout != PAIR_1997) return 0;
    int n_first, n_second;
    marked_pair_1997_windows(T, &n_first, &n_second);
    double p_x1_first = 1.0 / n_first;
    /* X2 is the j-th unmarked step, j uniform in [0, n_second): step 0 when
       j = 0 and X1 is elsewhere */
    return k == 0 ? p_x1_first : (1 - p_x1_first) / n_second;
}

/* the value distributions: uniform on [lo, hi), or a fair bit */
static void values_range(PairValues values, double *lo, double *hi) {
    *lo = values == PAIR_UNIFORM_PM1 ? -1 : 0;
    *hi = 1;
}

double pair_values_mean(PairValues values) {
    double lo, hi;
    values_range(values, &lo, &hi);
    return (lo + hi) / 2; /* the same for a fair bit of {0, 1} */
}

double pair_values_mean_square(PairValues values) {
    if (values == PAIR_BITS) return 0.5;
    double lo, hi;
    values_range(values, &lo, &hi);
    return (lo * lo + lo * hi + hi * hi) / 3;
}

static real draw_value(PairValues values, Rng *rng) {
    if (values == PAIR_BITS) return (real)rng_int(rng, 2);
    double lo, hi;
    values_range(values, &lo, &hi);
    return (real)rng_range(rng, lo, hi);
}

int marked_pair_generate(PairLayout layout, PairValues values, int T, Rng *rng, int B, int Y,
                         PairTarget target_of, real *x, real *target, real *mask) {
    const int X = MARKED_PAIR_X;
    int len = layout == PAIR_1997 ? T + rng_int(rng, T / 10 + 1) : T;
    task_clear_steps(len, B, X, Y, x, target, mask);
    /* channel 0 carries a value at every step, in step-major order */
    for (size_t r = 0; r < (size_t)len * B; r++) x[r * X] = draw_value(values, rng);
    for (int b = 0; b < B; b++) {
        int pos[2];
        if (layout == PAIR_HALVES) {
            int half = T / 2;
            pos[0] = rng_int(rng, half);
            pos[1] = half + rng_int(rng, T - half);
        } else {
            int n_first, n_second;
            marked_pair_1997_windows(T, &n_first, &n_second);
            pos[0] = rng_int(rng, n_first);
            int j = rng_int(rng, n_second); /* the j-th step not marked yet */
            pos[1] = j < pos[0] ? j : j + 1;
            x[((size_t)0 * B + b) * X + 1] = -1;
            x[((size_t)(len - 1) * B + b) * X + 1] = -1;
        }
        double marked[2];
        for (int k = 0; k < 2; k++) {
            real *row = x + ((size_t)pos[k] * B + b) * X;
            if (layout == PAIR_1997 && pos[k] == 0) row[0] = 0;
            row[1] = 1;
            marked[k] = row[0]; /* the target sees exactly the input's value */
        }
        size_t last = (size_t)(len - 1) * B + b;
        mask[last] = 1;
        target_of(marked[0], marked[1], target + last * Y);
    }
    return len;
}

void marked_pair_count_within(int T, int B, const real *y, const real *target, const real *mask,
                              long *n_correct, long *n_total) {
    for (int b = 0; b < B; b++) {
        size_t r = (size_t)(T - 1) * B + b;
        if (mask[r] == 0) continue;
        *n_correct += fabs((double)y[r] - target[r]) < MARKED_PAIR_TOLERANCE;
        *n_total += 1;
    }
}
