/* temporal_order.c: the temporal order problems of Hochreiter & Schmidhuber
   1997, exp. 6a (form 0: two relevant symbols, 4 classes) and 6b (form 1:
   three, 8 classes), made a delay task.
   Input, one-hot over {a, b, c, d, X, Y, E, B}: E at the first step, the
   trigger B at the last, random distractors from {a, b, c, d} elsewhere
   except at the relevant positions, each X or Y. Length uniform in
   [T, T + T/10] per batch. Output at the last step: the class of the order
   of the relevant symbols (XX, XY, YX, YY -> 0..3; 6b in base 2 likewise),
   cross-entropy; baseline ln 4 / ln 8. Item: the one answer per sequence
   (argmax; the paper's "every output within 0.3" was for sigmoid outputs).
   Windows: the paper's 1-based positions for length 100 ([10,20], [50,60];
   6b [10,20], [33,43], [66,76]) scaled by T/100 (floor), then pushed right
   where needed so each window starts after the one before and after E:
   T = 100 reproduces the paper. Solved: >= 99%. */
#include "common.h"

#include <math.h>
#include <stdio.h>

enum { SYM_A, SYM_B, SYM_C, SYM_D, SYM_X, SYM_Y, SYM_START, SYM_TRIGGER, TO_SYMBOLS };
#define TO_DISTRACTORS 4 /* a, b, c, d */
#define TO_MAX_RELEVANT 3
#define TO_PAPER_LEN 100

typedef struct { int lo, hi; } Window; /* 1-based positions, inclusive */

static const Window paper_windows[2][TO_MAX_RELEVANT] = {
    {{10, 20}, {50, 60}},            /* 6a */
    {{10, 20}, {33, 43}, {66, 76}},  /* 6b */
};

static int n_relevant(const TaskParams *p) { return p->form == 0 ? 2 : 3; }

/* the paper's windows scaled to T; returns the number of relevant symbols */
static int scaled_windows(const TaskParams *p, Window *w) {
    int n = n_relevant(p), prev_hi = 1; /* position 1 holds E */
    for (int k = 0; k < n; k++) {
        int lo = (int)((long long)paper_windows[p->form][k].lo * p->delay / TO_PAPER_LEN);
        int hi = (int)((long long)paper_windows[p->form][k].hi * p->delay / TO_PAPER_LEN);
        w[k].lo = lo > prev_hi ? lo : prev_hi + 1;
        w[k].hi = hi > w[k].lo ? hi : w[k].lo;
        prev_hi = w[k].hi;
    }
    return n;
}

static int to_check(const TaskParams *p, char *err, size_t err_len) {
    if (p->form != 0 && p->form != 1) {
        snprintf(err, err_len, "temporal-order form must be 0 (6a) or 1 (6b) (got %d)", p->form);
        return -1;
    }
    int n = n_relevant(p);
    if (task_check_delay("temporal-order", p->delay, n + 2,
                         "E, the relevant symbols and the trigger", err, err_len))
        return -1;
    Window w[TO_MAX_RELEVANT];
    scaled_windows(p, w);
    if (w[n - 1].hi > p->delay - 1) { /* cannot happen from delay >= n + 2 on */
        snprintf(err, err_len, "temporal-order: window [%d, %d] does not fit delay %d",
                 w[n - 1].lo, w[n - 1].hi, p->delay);
        return -1;
    }
    return 0;
}

static void to_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = p->delay + p->delay / 10;
    s->X = TO_SYMBOLS;
    s->Y = 1 << n_relevant(p);
    s->loss = LOSS_XENT;
}

static int to_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target, real *mask) {
    const int X = TO_SYMBOLS, Y = 1 << n_relevant(p);
    const int len = p->delay + rng_int(rng, p->delay / 10 + 1);
    Window w[TO_MAX_RELEVANT];
    const int n = scaled_windows(p, w);
    task_clear_steps(len, B, X, Y, x, target, mask);
    for (int t = 0; t < len; t++)
        for (int b = 0; b < B; b++) {
            int sym = t == 0 ? SYM_START : t == len - 1 ? SYM_TRIGGER
                                                        : SYM_A + rng_int(rng, TO_DISTRACTORS);
            x[((size_t)t * B + b) * X + sym] = 1;
        }
    for (int b = 0; b < B; b++) {
        int cls = 0;
        for (int k = 0; k < n; k++) {
            int t = w[k].lo - 1 + rng_int(rng, w[k].hi - w[k].lo + 1);
            int is_y = rng_int(rng, 2);
            real *row = x + ((size_t)t * B + b) * X;
            for (int j = 0; j < TO_DISTRACTORS; j++) row[SYM_A + j] = 0;
            row[is_y ? SYM_Y : SYM_X] = 1;
            cls = 2 * cls + is_y; /* the first symbol is the most significant bit */
        }
        size_t last = (size_t)(len - 1) * B + b;
        target[last * Y + cls] = 1;
        mask[last] = 1;
    }
    return len;
}

static double to_baseline(const TaskParams *p) { return log((double)(1 << n_relevant(p))); }

static void to_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                     const real *mask, long *n_correct, long *n_total) {
    count_argmax_rows(T - 1, T, B, 1 << n_relevant(p), y, target, mask, n_correct, n_total);
}

const Task task_temporal_order = {
    .name = "temporal-order",
    .desc = "class of the order of 2 or 3 X/Y among distractors (Hochreiter & Schmidhuber 1997, exp. 6)",
    .params = "delay T (length in [T, 1.1T]), form=0 (6a)|1 (6b)",
    .check = to_check,
    .shape = to_shape,
    .generate = to_generate,
    .baseline = to_baseline,
    .count = to_count,
    .solved = task_solved_by_accuracy,
};
