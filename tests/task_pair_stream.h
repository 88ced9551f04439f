/* task_pair_stream.h: the layout adding-stream and multiplication-stream
   share (harness/tasks/pair_stream.h): S = n_symbols segments of length
   T = delay back to back, each with two marks (one in each half of the
   segment) and its target f(marked values) at its own last step, the only
   masked steps. Each task's file passes its own check of f, and its base
   task, whose batch the first segment must equal. */
#ifndef RNNBENCH_TESTS_TASK_PAIR_STREAM_H
#define RNNBENCH_TESTS_TASK_PAIR_STREAM_H

#include "task_batch.h"
#include "task_marked_pair.h"

/* segments of `delay` steps, n_segments of them, B = 40 streams */
static inline void check_segments(const char *name, int delay, int n_segments,
                                  MarkedTargetCheck check_target) {
    TaskParams p;
    task_params_default(&p);
    p.delay = delay;
    p.n_symbols = n_segments;
    const int B = 40, half = delay / 2;
    Batch bt;
    int T = generate_case(name, &p, B, 31, &bt);
    cr_assert_eq(T, delay * n_segments, "%s: length %d for %d x %d", name, T, n_segments, delay);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < n_segments; j++) {
            const int first = j * delay, last = first + delay - 1;
            int n_marks = 0, pos[2] = {-1, -1};
            for (int t = first; t <= last; t++) {
                real v = AT(bt.x, 2, t, b)[0], m = AT(bt.x, 2, t, b)[1];
                cr_assert(v >= 0 && v < 1, "%s: value %g", name, (double)v);
                cr_assert(m == 0 || m == 1, "%s: marker %g", name, (double)m);
                if (m == 1 && n_marks < 2) pos[n_marks] = t;
                n_marks += m == 1;
                cr_assert_eq(bt.mask[(size_t)t * B + b], t == last, "%s: mask at step %d", name, t);
                if (t != last) cr_assert_eq(AT(bt.target, 1, t, b)[0], 0);
            }
            cr_assert_eq(n_marks, 2, "%s: segment %d has %d marks", name, j, n_marks);
            cr_assert(pos[0] < first + half && pos[1] >= first + half,
                      "%s: segment %d [%d, %d] marked at %d and %d", name, j, first, last, pos[0],
                      pos[1]);
            check_target(AT(bt.x, 2, pos[0], b)[0], AT(bt.x, 2, pos[1], b)[0],
                         AT(bt.target, 1, last, b));
        }
    batch_free(&bt);
}

/* the first segment of a stream is the base task's batch from the same
   random stream, bit for bit (the stream reuses its generator), and the
   others differ from it */
static inline void check_first_segment_is_the_base_task(const char *name, const char *base) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 30;
    p.n_symbols = 4;
    const int B = 8;
    Batch stream, single;
    int T = generate_case(name, &p, B, 32, &stream);
    int T1 = generate_case(base, &p, B, 32, &single);
    cr_assert_eq(T, 4 * T1);
    size_t rows = (size_t)T1 * B;
    cr_assert(!memcmp(stream.x, single.x, rows * 2 * sizeof(real)), "%s: inputs differ from %s",
              name, base);
    cr_assert(!memcmp(stream.target, single.target, rows * sizeof(real)));
    cr_assert(!memcmp(stream.mask, single.mask, rows * sizeof(real)));
    for (int j = 1; j < 4; j++)
        cr_assert(memcmp(stream.x + j * rows * 2, single.x, rows * 2 * sizeof(real)) != 0,
                  "%s: segment %d repeats the first", name, j);
    batch_free(&stream);
    batch_free(&single);
}

/* n_symbols 0, delay 1, a stream past 10^6 steps and a form are refused */
static inline void check_stream_limits(const char *name) {
    TaskParams p;
    task_params_default(&p);
    p.n_symbols = 0;
    expect_rejected(name, &p, "n_symbols 0");
    task_params_default(&p);
    p.delay = 1;
    expect_rejected(name, &p, "delay 1");
    p.delay = 1000;
    p.n_symbols = 1000;
    find_checked(name, &p); /* 10^6 steps: the limit itself */
    p.n_symbols = 1001;
    expect_rejected(name, &p, "1001 segments of 1000");
    task_params_default(&p);
    p.form = 1997;
    expect_rejected(name, &p, "form 1997");
}

/* an item per segment end, correct within 0.04; one segment off by 0.05
   costs one item */
static inline void check_count_per_segment(const char *name) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 20;
    p.n_symbols = 7;
    const int B = 10;
    const Task *task = task_find(name);
    Batch bt;
    int T = generate_case(name, &p, B, 33, &bt);
    for (int off = 0; off < 2; off++) {
        double error = off ? 0.041 : 0.039;
        for (size_t i = 0; i < (size_t)T * B; i++) bt.y[i] = bt.target[i] + (real)error;
        long n_correct = 0, n_total = 0;
        task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
        cr_assert_eq(n_total, 7 * B);
        cr_assert_eq(n_correct, off ? 0 : 7 * B, "error %g: %ld correct", error, n_correct);
    }
    perfect_predictor(T, &bt);
    AT(bt.y, 1, 3 * 20 + 19, 4)[0] += (real)0.05; /* stream 4, segment 3 */
    long n_correct = 0, n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert(n_total == 7 * B && n_correct == 7 * B - 1, "%ld of %ld", n_correct, n_total);
    batch_free(&bt);
}

/* solved: the evaluation MSE below the base task's threshold */
static inline void check_solved_threshold(const char *name, double threshold) {
    TaskParams p;
    task_params_default(&p);
    const Task *task = find_checked(name, &p);
    cr_assert(task->solved(&p, threshold * 0.99, 0.0), "%s: mse just below %g", name, threshold);
    cr_assert(!task->solved(&p, threshold * 1.01, 1.0), "%s: mse just above %g", name, threshold);
}

#endif
