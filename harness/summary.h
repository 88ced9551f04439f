/* summary.h: /summary, the table of a results file with one row per
   recorded run: its type in memory and in HDF5, how a row is made from a
   run's records or from a stored run's attributes, and bounded reading. */
#ifndef RNNBENCH_SUMMARY_H
#define RNNBENCH_SUMMARY_H

#include <hdf5.h>
#include <stdint.h>
#include "grid.h"
#include "train.h"

/* one row of /summary (also what `show` prints from). The fields are the
   table's columns in this order: the run's (listed in summary.c) and the
   metrics' (metrics.c's table, filled by metrics_fill_summary). A new
   column goes at the end, so that those of existing files keep their
   offsets. */
typedef struct {
    char id[17];
    char section[64];
    char task[32];
    int32_t delay;
    char cell[64];
    int32_t hidden;
    int32_t batch;
    int64_t steps;
    char optimizer[8];
    double lr, momentum, clip, forget_bias; /* forget_bias NAN for chrono */
    double init_scale, input_noise;
    int32_t seed_index, trial;
    uint64_t seed;
    char loss_kind[8];
    int64_t n_params;
    char status[16];    /* done, diverged or failed */
    double baseline;
    double final_loss, loss_over_baseline, best_eval_loss, final_accuracy;
    int32_t solved;
    int64_t steps_to_solve, steps_done;
    double wall_s;
    int32_t run_index;  /* position in the experiment's run list (for stable ordering) */
    int64_t params_target; /* the parameter budget hidden was chosen for (`params = N`), 0 when none */
    int32_t layers;        /* stacked layers of the cell (0 in a file from before stacks: read it as 1) */
} SummaryRow;

/* a column of the table: its name, where it is in SummaryRow, its HDF5 type */
typedef struct {
    const char *name;
    size_t offset;
    hid_t type;
} SummaryColumn;
/* the table's columns in order into col (room for max); their number, or
   -1. summary_columns_free closes their types. */
int summary_columns(SummaryColumn *col, int max);
void summary_columns_free(SummaryColumn *col, int n);

/* a row counts as finished unless its run failed (failed runs are retried) */
int summary_row_finished(const SummaryRow *row);

void summary_row_from_result(SummaryRow *row, const RunResult *r, int run_index);
/* the row of a stored run (a part file's root group, or /runs/<id>) from
   its attributes and the experiment's config of it; 0, or -1 when the group
   lacks the attributes of a run */
int summary_row_from_group(SummaryRow *row, hid_t group, const RunConfig *cfg, int run_index);

/* writes rows as /summary in loc (sorted by run_index first) */
int summary_write(hid_t loc, SummaryRow *rows, int n_rows);
/* reads /summary of f; at most max_rows rows (a damaged file may claim
   millions); 0, or -1 with *rows NULL */
int summary_read(hid_t f, long max_rows, SummaryRow **rows, int *n_rows);

#endif
