/* reber.c: next-symbol prediction on the embedded Reber grammar
   (Hochreiter & Schmidhuber 1997, exp. 1; Gers et al. 2000).
   A string is B, a branch symbol (T or P), an inner Reber string, the same
   branch symbol, E. The delay T is the length of the inner string, exactly:
   every string of a batch has the same length T + 3 (the final E is not
   fed: nothing follows it), so no padding is needed and the mask is 1
   everywhere. The inner string is uniform over the Reber strings of length T
   (the grammar's fair coin at each fork, conditioned on the length; see
   sample_inner); T >= 5, the length of BTXSE and BPVVE.
   Input: the symbol (one-hot of B, T, P, S, X, V, E). Target at each step:
   the multi-hot of the symbols the grammar allows next; after the inner E
   that is the branch symbol alone, the one prediction that needs memory.
   Loss: binary cross-entropy per symbol; no baseline (NAN). Item: a string,
   correct when y > 0 (sigmoid > 0.5) exactly on the legal successors at
   every step. Solved: every test string correct.
   The grammar is reber_grammar.h's, shared with reber_continual.c, the
   continual (no reset) version of Gers et al. 2000. */
#include "common.h"
#include "reber_grammar.h"

#include <math.h>
#include <threads.h>

/* Rows of completions[k][s], proportional to the number of ways to finish
   from state s with exactly k more symbols, are only needed up to this k:
   the ratios within a row converge like (1/1.4656)^k (1.4656, the root of
   x^3 = x^2 + 1, is the growth rate of the counts; the S-loop of state 2
   grows like 1^k), so past 256 they equal the last row to far below double
   precision. That keeps sampling O(T) in time and O(1) in memory. */
#define REBER_EXACT_ROWS 256

typedef double CompletionRow[REBER_STATES + 1];

static void completion_table(CompletionRow *rows) {
    for (int s = 0; s <= REBER_END; s++) rows[0][s] = s == REBER_END;
    for (int k = 1; k <= REBER_EXACT_ROWS; k++) {
        double total = 0;
        for (int s = 0; s < REBER_STATES; s++) {
            const ReberState *st = &reber_grammar[s];
            rows[k][s] = 0;
            for (int e = 0; e < st->n_edges; e++) rows[k][s] += rows[k - 1][st->next[e]];
            total += rows[k][s];
        }
        rows[k][REBER_END] = 0;
        /* each row is scaled by its sum: only ratios within a row matter,
           and the counts themselves overflow a double near k = 1800 */
        for (int s = 0; s <= REBER_END; s++) rows[k][s] /= total;
    }
}

/* The table depends on the grammar alone: filled once per process, shared
   read-only by every run's thread (16 KB, off the threads' stacks). */
static CompletionRow completion_rows[REBER_EXACT_ROWS + 1];
static once_flag completion_once = ONCE_FLAG_INIT;

static void completion_fill(void) { completion_table(completion_rows); }

static const CompletionRow *completion_rows_ready(void) {
    call_once(&completion_once, completion_fill);
    return (const CompletionRow *)completion_rows;
}

static const double *completions(const CompletionRow *rows, int k) {
    return rows[k < REBER_EXACT_ROWS ? k : REBER_EXACT_ROWS];
}

static int reber_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("reber", p->form, err, err_len)) return -1;
    return task_check_delay("reber", p->delay, REBER_MIN_LEN,
                            "the shortest inner Reber strings, BTXSE and BPVVE, have 5 symbols",
                            err, err_len);
}

static void reber_shape(const TaskParams *p, TaskShape *s) {
    s->max_len = p->delay + 3;
    s->X = REBER_SYMBOLS;
    s->Y = REBER_SYMBOLS;
    s->loss = LOSS_BCE;
}

static void set_successors(real *row, int state, int branch) {
    if (state == REBER_END) {
        row[branch] = 1;
        return;
    }
    reber_mark_successors(row, state);
}

/* Writes sequence b: x and target at steps 0 .. len-1 of the (len,B,7)
   buffers, already zeroed. Under fair forks every inner string of length L
   has probability 2^-(L - 2) (B and E are forced, every other symbol is a
   fork), so conditioned on the length the strings are equally likely, and
   a fork picks edge e with probability proportional to the number of
   completions from the edge's next state. */
static void write_string(const CompletionRow *rows, int inner_len, Rng *rng, int B, int b,
                         real *x, real *target) {
    const int Y = REBER_SYMBOLS, X = REBER_SYMBOLS, len = inner_len + 3;
    const int branch = rng_int(rng, 2) ? SYM_P : SYM_T;
#define ROW(buf, n, t) ((buf) + ((size_t)(t) * B + b) * (n))
    ROW(x, X, 0)[SYM_B] = 1;
    ROW(target, Y, 0)[SYM_T] = ROW(target, Y, 0)[SYM_P] = 1;
    ROW(x, X, 1)[branch] = 1;
    ROW(target, Y, 1)[SYM_B] = 1;
    int state = 0;
    for (int i = 0; i < inner_len; i++) {
        const ReberState *st = &reber_grammar[state];
        int e = 0;
        if (st->n_edges == 2) {
            const double *left = completions(rows, inner_len - i - 1);
            double w0 = left[st->next[0]], w1 = left[st->next[1]];
            e = rng_uniform(rng) < w0 / (w0 + w1) ? 0 : 1;
        }
        state = st->next[e];
        ROW(x, X, 2 + i)[st->symbol[e]] = 1;
        set_successors(ROW(target, Y, 2 + i), state, branch);
    }
    ROW(x, X, len - 1)[branch] = 1;
    ROW(target, Y, len - 1)[SYM_E] = 1;
#undef ROW
}

static int reber_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target,
                          real *mask) {
    const int len = p->delay + 3;
    const CompletionRow *rows = completion_rows_ready();
    task_clear_steps(len, B, REBER_SYMBOLS, REBER_SYMBOLS, x, target, mask);
    for (int b = 0; b < B; b++) write_string(rows, p->delay, rng, B, b, x, target);
    for (size_t r = 0; r < (size_t)len * B; r++) mask[r] = 1;
    return len;
}

static double reber_baseline(const TaskParams *p) {
    (void)p;
    return NAN;
}

static void reber_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                        const real *mask, long *n_correct, long *n_total) {
    (void)p;
    reber_count_sequences(T, B, y, target, mask, n_correct, n_total);
}

static int reber_solved(const TaskParams *p, double loss, double accuracy) {
    (void)p;
    (void)loss;
    return accuracy >= 1;
}

const Task task_reber = {
    .name = "reber",
    .desc = "next-symbol prediction, embedded Reber grammar (Hochreiter & Schmidhuber 1997, exp. 1)",
    .params = "delay T (inner string length >= 5)",
    .check = reber_check,
    .shape = reber_shape,
    .generate = reber_generate,
    .baseline = reber_baseline,
    .count = reber_count,
    .solved = reber_solved,
};
