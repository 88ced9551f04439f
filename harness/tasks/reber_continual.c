/* reber_continual.c: the continual embedded Reber grammar (Gers, Schmidhuber
   & Cummins 2000, "Learning to forget"): embedded Reber strings (reber.c's,
   grammar from reber_grammar.h) back to back in one sequence, nothing
   between them and no state reset, every symbol fed, the final E of each
   string included.
   A sequence is a stream of exactly T + 4 symbols made of whole strings: at
   the smallest T, 5, it is one string of reber's shortest kind with its
   final E (BTBTXSETE), and each further unit of T is one more symbol. The
   stream is the grammar's fair coin at every fork (as Gers et al. drew
   their strings), conditioned on its total length: see draw_stream.
   Input: the symbol (one-hot of B, T, P, S, X, V, E). Target at each step:
   the multi-hot of the symbols the grammar allows next; after an inner E
   that is the branch symbol alone (the prediction that needs memory), after
   an outer E it is B (the next string's). Mask 1 everywhere.
   Loss: binary cross-entropy per symbol. Baseline: a predictor that tracks
   the grammar but not the branch, exact everywhere except after each inner
   E, where it gives T and P 1/2 each (reber_continual_baseline). Item: a
   stream, correct when y > 0 exactly on the legal successors at every one
   of its steps. Solved: every symbol of every evaluation stream correct. */
#include "common.h"
#include "reber_grammar.h"

#include <math.h>
#include <threads.h>

/* The stream's states: the outer frame of an embedded string around the
   inner grammar's states, and back to the start after the outer E. */
enum {
    ST_OUTER_B,                         /* emits B */
    ST_FORK,                            /* emits the branch, T or P */
    ST_INNER,                           /* ST_INNER + s: inner grammar state s */
    ST_CLOSE = ST_INNER + REBER_STATES, /* emits the branch again */
    ST_OUTER_E,                         /* emits E, then the next string */
    STREAM_STATES
};
/* the frame of one string, B, branch, branch, E: a stream has T + 4
   symbols, so that T = 5 is one string around reber's shortest inner one */
#define STREAM_FRAME 4

static int stream_n_edges(int s) {
    if (s == ST_FORK) return 2;
    if (s >= ST_INNER && s < ST_CLOSE) return reber_grammar[s - ST_INNER].n_edges;
    return 1;
}

static int stream_next(int s, int e) {
    switch (s) {
    case ST_OUTER_B: return ST_FORK;
    case ST_FORK: return ST_INNER;
    case ST_CLOSE: return ST_OUTER_E;
    case ST_OUTER_E: return ST_OUTER_B;
    default: {
        int next = reber_grammar[s - ST_INNER].next[e];
        return next == REBER_END ? ST_CLOSE : ST_INNER + next;
    }
    }
}

/* the symbol of edge e of state s; branch is the string's (ST_CLOSE) */
static int stream_symbol(int s, int e, int branch) {
    switch (s) {
    case ST_OUTER_B: return SYM_B;
    case ST_FORK: return e ? SYM_P : SYM_T;
    case ST_CLOSE: return branch;
    case ST_OUTER_E: return SYM_E;
    default: return reber_grammar[s - ST_INNER].symbol[e];
    }
}

/* the legal next symbols from state s, as a multi-hot row (zeroed) */
static void stream_successors(real *row, int s, int branch) {
    if (s == ST_CLOSE) row[branch] = 1;
    else if (s >= ST_INNER && s < ST_CLOSE) reber_mark_successors(row, s - ST_INNER);
    else
        for (int e = 0; e < stream_n_edges(s); e++) row[stream_symbol(s, e, branch)] = 1;
}

/* arrivals[k][s]: the probability that the fair-coin stream from state s is
   at a string boundary (ST_OUTER_B) after exactly k more symbols. As k
   grows it tends to 1/12, one over the mean string length (8 inner symbols
   on average, and the frame's 4), at the rate of the transition matrix's
   second eigenvalue, 0.91 in modulus: past k = 512 the rows agree to
   0.91^512 ~ 1e-21, far below double precision, so the table stops there
   (45 KB, O(1) memory and O(T) sampling at any T). */
#define STREAM_EXACT_ROWS 512

typedef double ArrivalRow[STREAM_STATES];

static ArrivalRow arrival_rows[STREAM_EXACT_ROWS + 1];
static once_flag arrival_once = ONCE_FLAG_INIT;

static void arrival_fill(void) {
    for (int s = 0; s < STREAM_STATES; s++) arrival_rows[0][s] = s == ST_OUTER_B;
    for (int k = 1; k <= STREAM_EXACT_ROWS; k++)
        for (int s = 0; s < STREAM_STATES; s++) {
            int n = stream_n_edges(s);
            double sum = 0;
            for (int e = 0; e < n; e++) sum += arrival_rows[k - 1][stream_next(s, e)];
            arrival_rows[k][s] = sum / n;
        }
}

/* the table is the grammar's alone: filled once per process, shared
   read-only by every run's thread */
static const ArrivalRow *arrivals_ready(void) {
    call_once(&arrival_once, arrival_fill);
    return (const ArrivalRow *)arrival_rows;
}

static const double *arrivals(const ArrivalRow *rows, int k) {
    return rows[k < STREAM_EXACT_ROWS ? k : STREAM_EXACT_ROWS];
}

static int stream_len(const TaskParams *p) { return p->delay + STREAM_FRAME; }

static int reber_continual_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("reber-continual", p->form, err, err_len)) return -1;
    return task_check_delay("reber-continual", p->delay, REBER_MIN_LEN,
                            "a stream of T + 4 symbols holds at least one embedded string, and "
                            "the shortest, BTBTXSETE, has 9",
                            err, err_len);
}

static void reber_continual_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = stream_len(p);
    s->X = REBER_SYMBOLS;
    s->Y = REBER_SYMBOLS;
    s->loss = LOSS_BCE;
}

/* Writes stream b of len symbols into the zeroed (len,B,7) buffers. Under
   the fair coin, a fork with k symbols left (this one included) that is
   conditioned on the stream ending at a boundary after them picks edge e
   with probability proportional to arrivals[k - 1][next(e)]. The branch
   fork's two edges lead to the same state: a fair coin, as in reber. */
static void draw_stream(const ArrivalRow *rows, int len, Rng *rng, int B, int b, real *x,
                        real *target) {
    const int X = REBER_SYMBOLS, Y = REBER_SYMBOLS;
    int state = ST_OUTER_B, branch = SYM_T;
    for (int t = 0; t < len; t++) {
        int e = 0;
        if (stream_n_edges(state) == 2) {
            const double *left = arrivals(rows, len - t - 1);
            double w0 = left[stream_next(state, 0)], w1 = left[stream_next(state, 1)];
            e = rng_uniform(rng) < w0 / (w0 + w1) ? 0 : 1;
        }
        int symbol = stream_symbol(state, e, branch);
        if (state == ST_FORK) branch = symbol;
        state = stream_next(state, e);
        size_t r = (size_t)t * B + b;
        x[r * X + symbol] = 1;
        stream_successors(target + r * Y, state, branch);
    }
}

static int reber_continual_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                                    real *mask) {
    const int len = stream_len(p);
    const ArrivalRow *rows = arrivals_ready();
    task_clear_steps(len, B, REBER_SYMBOLS, REBER_SYMBOLS, x, target, mask);
    for (int b = 0; b < B; b++) draw_stream(rows, len, rng, B, b, x, target);
    for (size_t r = 0; r < (size_t)len * B; r++) mask[r] = 1;
    return len;
}

/* A predictor that knows the grammar and its state but not the branch is
   exact (loss 0) at every step but the one after each inner E, where its
   best answer, T and P at 1/2 each, costs ln 2 on each of the two: 2 ln 2
   per string over the stream's 7 (T + 4) outputs. A stream of n symbols
   holds as many strings as it has boundaries in [0, n); with u_k =
   arrivals[k][ST_OUTER_B], the chance of a boundary at i given the end at n
   is u_i u_(n-i) / u_n, so E[strings] = sum over i < n of that. */
static double reber_continual_baseline(const TaskParams *p) {
    const int n = stream_len(p);
    const ArrivalRow *rows = arrivals_ready();
    const double u_n = arrivals(rows, n)[ST_OUTER_B];
    double strings = 0;
    for (int i = 0; i < n; i++)
        strings += arrivals(rows, i)[ST_OUTER_B] * arrivals(rows, n - i)[ST_OUTER_B] / u_n;
    return 2 * log(2.0) * strings / ((double)REBER_SYMBOLS * n);
}

static void reber_continual_count(const TaskParams *p, int T, int B, const real *y,
                                  const real *target, const real *mask, long *n_correct,
                                  long *n_total) {
    (void)p;
    reber_count_sequences(T, B, y, target, mask, n_correct, n_total);
}

static int reber_continual_solved(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)loss;
    return accuracy >= 1;
}

const Task task_reber_continual = {
    .name = "reber-continual",
    .desc = "next-symbol prediction, embedded Reber strings back to back without a reset (Gers et "
            "al. 2000)",
    .params = "delay T (a stream of T + 4 symbols, whole strings; T >= 5)",
    .check = reber_continual_check,
    .shape = reber_continual_shape,
    .generate = reber_continual_generate,
    .baseline = reber_continual_baseline,
    .count = reber_continual_count,
    .solved = reber_continual_solved,
};
