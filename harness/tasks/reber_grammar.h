/* reber_grammar.h: the Reber grammar that reber (one embedded string per
   sequence) and reber-continual (embedded strings back to back) share: the
   seven symbols, the graph of the inner string, the multi-hot of a state's
   legal successors, and the count of sequences predicted without an error.
   The sampling of strings is each task's own: reber draws one string of an
   exact length, reber-continual a stream of an exact length. */
#ifndef RNNBENCH_REBER_GRAMMAR_H
#define RNNBENCH_REBER_GRAMMAR_H

#include "../task.h"

enum { SYM_B, SYM_T, SYM_P, SYM_S, SYM_X, SYM_V, SYM_E, REBER_SYMBOLS };
#define REBER_STATES 7
#define REBER_END REBER_STATES /* past the inner E */
/* BTXSE and BPVVE, the shortest inner strings */
#define REBER_MIN_LEN 5

/* the Reber graph: a state emits one of its symbols and moves to its next */
typedef struct { int n_edges, symbol[2], next[2]; } ReberState;
extern const ReberState reber_grammar[REBER_STATES];

/* sets row[k] = 1 for every symbol k that state (< REBER_STATES) may emit */
void reber_mark_successors(real *row, int state);

/* One item per sequence: correct when, at every masked step, y > 0 (sigmoid
   above 0.5) exactly on the components whose target is 1. */
void reber_count_sequences(int T, int B, const real *y, const real *target, const real *mask,
                           long *n_correct, long *n_total);

#endif
