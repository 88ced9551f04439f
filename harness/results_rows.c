/* results_rows.c: the runs a grid has recorded (Results.rows), and for each
   run of the experiment its row and where its data is. See results_private.h. */
#include "results_private.h"

#include <stdlib.h>
#include <string.h>

int run_index_of(const Experiment *ex, const char *id) {
    for (int i = 0; i < ex->n_runs; i++)
        if (!strcmp(ex->runs[i].id, id)) return i;
    return -1;
}

/* records row (run run_index, data at src), replacing an earlier row of the run */
int put_row(Results *rs, const SummaryRow *row, int run_index, RunSource src) {
    int at = rs->row_of[run_index];
    if (at < 0) {
        if (rs->n_rows == rs->cap_rows) {
            int cap = rs->cap_rows ? 2 * rs->cap_rows : 64;
            SummaryRow *p = realloc(rs->rows, (size_t)cap * sizeof(SummaryRow));
            if (!p) return -1;
            rs->rows = p;
            rs->cap_rows = cap;
        }
        at = rs->n_rows++;
        rs->row_of[run_index] = at;
    } else {
        rs->n_finished -= summary_row_finished(&rs->rows[at]);
    }
    rs->rows[at] = *row;
    rs->rows[at].run_index = run_index;
    rs->n_finished += summary_row_finished(row);
    rs->source[run_index] = (char)src;
    return 0;
}

void forget_rows(Results *rs) {
    rs->n_rows = rs->n_finished = 0;
    for (int i = 0; i < rs->ex->n_runs; i++) {
        rs->row_of[i] = -1;
        rs->source[i] = SRC_NONE;
    }
}

int results_done(Results *rs, int run_index) {
    int at = rs->row_of[run_index];
    return at >= 0 && summary_row_finished(&rs->rows[at]);
}

/* forgets run run_index: it is run again */
void drop_row(Results *rs, int run_index) {
    int at = rs->row_of[run_index];
    if (at < 0) return;
    rs->n_finished -= summary_row_finished(&rs->rows[at]);
    rs->rows[at] = rs->rows[--rs->n_rows];
    rs->row_of[rs->rows[at].run_index] = at;
    rs->row_of[run_index] = -1;
    rs->source[run_index] = SRC_NONE;
}
