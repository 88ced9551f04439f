/* reber_grammar.c: the Reber graph and the per-sequence count shared by
   reber.c and reber_continual.c (see reber_grammar.h). */
#include "reber_grammar.h"

const ReberState reber_grammar[REBER_STATES] = {
    {1, {SYM_B}, {1}},
    {2, {SYM_T, SYM_P}, {2, 3}},
    {2, {SYM_S, SYM_X}, {2, 4}},
    {2, {SYM_T, SYM_V}, {3, 5}},
    {2, {SYM_X, SYM_S}, {3, 6}},
    {2, {SYM_P, SYM_V}, {4, 6}},
    {1, {SYM_E}, {REBER_END}},
};

void reber_mark_successors(real *row, int state) {
    for (int e = 0; e < reber_grammar[state].n_edges; e++) row[reber_grammar[state].symbol[e]] = 1;
}

void reber_count_sequences(int T, int B, const real *y, const real *target, const real *mask,
                           long *n_correct, long *n_total) {
    const int Y = REBER_SYMBOLS;
    for (int b = 0; b < B; b++) {
        int correct = 1;
        for (int t = 0; t < T && correct; t++) {
            size_t r = (size_t)t * B + b;
            if (mask[r] == 0) continue;
            for (int k = 0; k < Y; k++)
                if ((y[r * Y + k] > 0) != (target[r * Y + k] > (real)0.5)) correct = 0;
        }
        *n_correct += correct;
        *n_total += 1;
    }
}
