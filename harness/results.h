/* results.h: the one writer and reader of rnnbench's HDF5 results files.

   Layout (results/README.md documents it for users):
     FILE.h5            attributes of the experiment and of the build that
                        wrote it (precision, GEMM backend, commit, format
                        version); /summary, a table with one row per recorded
                        run; /runs/<id>, one group per run (attributes: every
                        resolved parameter, cell flags, outcome; groups train/
                        and eval/ of curves). Every dataset carries Fletcher-32
                        checksums and the metadata the 1.10 format's, so a
                        damaged file reads as an error, never as numbers.
     FILE.h5.lock       held (flock) by the one process writing FILE.h5.
     FILE.h5.parts/     while a grid runs: one complete file per finished run,
                        <id>.h5, written to a temporary name, fsync'ed and
                        renamed into place; base.h5, the earlier complete
                        FILE.h5 when a finished grid is resumed (to retry its
                        failed runs or rebuild its summary). FILE.h5 is then an
                        index whose /runs/<id> are external links into these
                        files, refreshed (again by temporary file + rename) at
                        most every RESULTS_INDEX_INTERVAL_S while runs finish.
   So at any moment FILE.h5 is a whole file (readers never see a torn one),
   kill -9 loses at most the runs in flight, and resume rebuilds the state
   from the parts, whatever the index missed. When the grid completes, the
   runs are copied into FILE.h5 (via rename) and the parts removed.
   The writer functions are safe to call from several threads (one mutex). */
#ifndef RNNBENCH_RESULTS_H
#define RNNBENCH_RESULTS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include "grid.h"
#include "summary.h"
#include "train.h"

#define RESULTS_FORMAT_VERSION 2
/* the index is rewritten at most this often (seconds): its cost no longer
   grows with the number of runs finished */
#define RESULTS_INDEX_INTERVAL_S 2.0

/* where a recorded run's data is: parts/<id>.h5, base.h5's /runs/<id>, or
   base.h5's /dropped/runs/<id> (a run an earlier version dropped, back in the grid) */
typedef enum { SRC_NONE, SRC_PART, SRC_BASE, SRC_BASE_DROPPED } RunSource;

typedef struct {
    char path[1024];
    char parts[1100];
    char base[1200];    /* parts/base.h5 */
    const Experiment *ex;
    uint64_t experiment_hash;
    char start_time[32];
    SummaryRow *rows;   /* recorded runs: finished ones and failed ones */
    int n_rows, cap_rows;
    int *row_of;        /* per run of ex: its index in rows, -1 when not recorded */
    char *source;       /* per run of ex: RunSource of its data */
    int n_finished;     /* rows whose run did not fail */
    int lock_fd;
    int base_unreadable; /* parts/base.h5 could not be read safely */
    int index_dirty;    /* rows not yet in the index */
    /* a study that grew (results_history.c): the runs of earlier versions
       of the experiment that are not in this grid, kept under /dropped
       (their data in base.h5, at runs/<id>, or dropped/runs/<id> when an
       earlier version had dropped them already); the experiment's texts,
       earliest first, this one last; the hash of the version grown from */
    SummaryRow *dropped;
    char *dropped_in_dropped;
    int n_dropped, cap_dropped;
    char **versions;
    int n_versions;
    char grown_from[32];
    int grown;          /* FILE.h5 held another version of this experiment */
    double index_written_s;
    pthread_mutex_t mu;
} Results;

uint64_t experiment_hash(const Experiment *ex);

/* Locks and opens or creates the results of ex at path (its folder made if
   missing). An existing file of the same experiment written by the same
   build is resumed (its finished runs are kept, failed ones retried). One of
   another version of the experiment, sharing finished runs with it, grows:
   those runs are kept, the others are kept under /dropped (rs->grown). One
   of another experiment or build, or not a results file, is an error unless
   force (which starts over). Returns 0, or -1 with a
   one-line reason in err (status 2 for bad input, 1 for I/O or a busy
   output). Messages about what was repaired go to stderr. */
int results_open(Results *rs, const char *path, const Experiment *ex, int force, char *err,
                 size_t n, int *status);
/* 1 when run i of the experiment has finished (failed runs have not) */
int results_done(Results *rs, int run_index);
/* Writes one run (finished or failed) durably; the index follows within
   RESULTS_INDEX_INTERVAL_S. 0 or -1 (err says why). */
int results_add(Results *rs, const RunResult *r, int run_index, char *err, size_t n);
/* The same for a run another process wrote: image holds the bytes of the
   part file run_record_write made of it (the MPI workers send them). It is
   checked as resume checks a part (whole, this experiment's run run_index,
   this build's) before it is stored. 0 or -1 (err says why). */
int results_add_image(Results *rs, const void *image, size_t len, int run_index, char *err, size_t n);
/* Rewrites the index if runs were added since it was last written and it is
   at least min_age_s old. 0 or -1. */
int results_flush(Results *rs, double min_age_s, char *err, size_t n);
/* All runs done: copy them into one self-contained file. */
int results_finish(Results *rs, char *err, size_t n);
/* frees and releases the lock */
void results_close(Results *rs);

/* Reading, for `show`: the summary table and the file's attributes. */
typedef struct {
    SummaryRow *rows;
    int n_rows;
    int n_failed;       /* rows of runs that failed */
    long n_planned;
    int complete;
    char experiment[128];
} ResultsView;
int results_read(const char *path, ResultsView *v, char *err, size_t n);
/* the same in this process: for a child that is already isolated (isolate.h) */
int results_read_here(const char *path, ResultsView *v, char *err, size_t n);
void results_view_free(ResultsView *v);

/* Prints the grouped comparison table (median over seeds). */
void results_print_table(const ResultsView *v, FILE *out);

#endif
