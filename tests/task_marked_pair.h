/* task_marked_pair.h: the layout adding, multiplication and xor share
   (harness/tasks/marked_pair.h, PAIR_HALVES): two markers, one per half,
   target f(marked values) at the last step only. Each task's file passes
   its own check of f. */
#ifndef RNNBENCH_TESTS_TASK_MARKED_PAIR_H
#define RNNBENCH_TESTS_TASK_MARKED_PAIR_H

#include "task_batch.h"

/* asserts the target row `out` is f(v1, v2) for the task at hand */
typedef void (*MarkedTargetCheck)(double v1, double v2, const real *out);

/* delay 51, 200 sequences: values in [0, 1) (bits: {0, 1}), exactly two
   marks, one in each half, the mask only on the last step */
static inline void check_halves(const char *name, int bits, MarkedTargetCheck check_target) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 51;
    const int B = 200;
    Batch bt;
    int T = generate_case(name, &p, B, 3, &bt);
    cr_assert_eq(T, 51);
    for (int b = 0; b < B; b++) {
        int n_marks = 0, pos[2] = {-1, -1};
        for (int t = 0; t < T; t++) {
            real v = AT(bt.x, 2, t, b)[0], m = AT(bt.x, 2, t, b)[1];
            cr_assert(bits ? (v == 0 || v == 1) : (v >= 0 && v < 1), "%s: value %g", name, v);
            cr_assert(m == 0 || m == 1);
            if (m == 1 && n_marks < 2) pos[n_marks] = t;
            n_marks += m == 1;
            if (t < T - 1) cr_assert_eq(bt.mask[(size_t)t * B + b], 0);
        }
        cr_assert_eq(n_marks, 2, "%s: %d markers", name, n_marks);
        cr_assert(pos[0] < 25 && pos[1] >= 25, "%s: marks at %d, %d", name, pos[0], pos[1]);
        double v1 = AT(bt.x, 2, pos[0], b)[0], v2 = AT(bt.x, 2, pos[1], b)[0];
        const real *out = AT(bt.target, bt.shape.Y, T - 1, b);
        cr_assert_eq(bt.mask[(size_t)(T - 1) * B + b], 1);
        check_target(v1, v2, out);
    }
    batch_free(&bt);
}

#endif
