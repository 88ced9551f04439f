/* results.h: the one writer and reader of rnnbench's HDF5 results files.

   Layout (results/README.md documents it for users):
     FILE.h5            attributes of the experiment; /summary, a compound
                        table with one row per finished run; /runs/<id>, one
                        group per run (attributes: every resolved parameter,
                        cell flags, outcome; groups train/ and eval/ of curves).
     FILE.h5.parts/     while a grid runs: one complete file per finished run,
                        <id>.h5, written to a temporary name, fsync'ed and
                        renamed into place. FILE.h5 is then an index whose
                        /runs/<id> are external links to these files, itself
                        rewritten by temporary file + rename after every run.
   So at any moment FILE.h5 is a whole file (readers never see a torn one, and
   kill -9 loses at most the runs in flight); when the grid completes, the
   runs are copied into FILE.h5 (again via rename) and the parts removed.
   Not thread-safe: the runner calls it from one thread at a time. */
#ifndef RNNBENCH_RESULTS_H
#define RNNBENCH_RESULTS_H

#include <stdint.h>
#include <stdio.h>
#include "grid.h"
#include "train.h"

/* one row of /summary (also what `show` prints from) */
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
    char status[16];
    double baseline;
    double final_loss, loss_over_baseline, best_eval_loss, final_accuracy;
    int32_t solved;
    int64_t steps_to_solve, steps_done;
    double wall_s;
    int32_t run_index;  /* position in the experiment's run list (for stable ordering) */
} SummaryRow;

typedef struct {
    char path[1024];
    char parts[1100];
    const Experiment *ex;
    uint64_t experiment_hash;
    char start_time[32];
    SummaryRow *rows;   /* finished runs */
    int n_rows, cap_rows;
    char *finished;     /* per run of ex: 1 when in rows */
} Results;

uint64_t experiment_hash(const Experiment *ex);

/* Opens or creates the results of ex at path. An existing file of the same
   experiment is resumed (its finished runs are kept); one of another
   experiment, or not a results file, is an error unless force. Returns 0, or
   -1 with a one-line reason in err (status 2 for bad input, 1 for I/O). */
int results_open(Results *rs, const char *path, const Experiment *ex, int force, char *err,
                 size_t n, int *status);
/* Writes one finished run durably, then the index. 0 or -1 (err says why). */
int results_add(Results *rs, const RunResult *r, int run_index, char *err, size_t n);
/* All runs done: copy them into one self-contained file. */
int results_finish(Results *rs, char *err, size_t n);
void results_close(Results *rs);

/* Reading, for `show`: the summary table and the file's attributes. */
typedef struct {
    SummaryRow *rows;
    int n_rows;
    long n_planned;
    int complete;
    char experiment[128];
} ResultsView;
int results_read(const char *path, ResultsView *v, char *err, size_t n);
void results_view_free(ResultsView *v);

/* Prints the grouped comparison table (median over seeds). */
void results_print_table(const ResultsView *v, FILE *out);

#endif
