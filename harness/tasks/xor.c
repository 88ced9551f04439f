/* xor.c: temporal XOR. Inputs as the modern adding problem (marked_pair.h
   PAIR_HALVES) with fair bits {0, 1} for values; output at the last step the
   XOR of the two marked bits as 2 classes; cross-entropy. Baseline ln 2: the
   XOR of two fair bits is a fair bit. An item is the one answer per
   sequence (argmax). Solved: accuracy >= 99%. */
#include "common.h"
#include "marked_pair.h"

#include <math.h>

#define XOR_CLASSES 2

static int xor_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("xor", p->form, err, err_len)) return -1;
    return marked_pair_check("xor", PAIR_HALVES, p->delay, err, err_len);
}

static void xor_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = marked_pair_max_len(PAIR_HALVES, p->delay);
    s->X = MARKED_PAIR_X;
    s->Y = XOR_CLASSES;
    s->loss = LOSS_XENT;
}

static void target_xor(double first, double second, real *row) {
    row[(first != 0) != (second != 0)] = 1;
}

static int xor_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target, real *mask) {
    return marked_pair_generate(PAIR_HALVES, PAIR_BITS, p->delay, rng, B, XOR_CLASSES, target_xor,
                                x, target, mask);
}

static double xor_baseline(const TaskParams *p) {
    (void)p;
    return log(XOR_CLASSES);
}

static void xor_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                      const real *mask, long *n_correct, long *n_total) {
    (void)p;
    count_argmax_rows(T - 1, T, B, XOR_CLASSES, y, target, mask, n_correct, n_total);
}

const Task task_xor = {
    .name = "xor",
    .desc = "XOR of two marked bits (temporal XOR, adding-problem layout)",
    .params = "delay (length T >= 2)",
    .check = xor_check,
    .shape = xor_shape,
    .generate = xor_generate,
    .baseline = xor_baseline,
    .count = xor_count,
    .solved = task_solved_by_accuracy,
};
