/* runner.h: runs an experiment's grid with OpenMP, one run per thread,
   longest first, into a results file (results.h), then prints the table. */
#ifndef RNNBENCH_RUNNER_H
#define RNNBENCH_RUNNER_H

#include "grid.h"
#include "results.h"

#include <signal.h>

typedef struct {
    const char *out;   /* results file */
    int threads;       /* 0: OMP_NUM_THREADS or all cores */
    int quiet;         /* no progress line */
    int force;         /* overwrite a file of another experiment */
} RunOptions;

/* Returns the process exit status: 0 all runs ran (diverged ones included),
   1 a run failed or results could not be written, 2 bad input. */
int run_experiment(const Experiment *ex, const RunOptions *opt);

/* The grid loop's pieces, shared with the MPI loop (mpi_run.c), which
   replaces only the loop: opening, scheduling, progress and finishing stay
   here. todo[k] is the k-th run to start (longest first). */
typedef struct { int index; double cost; } Todo;
typedef struct {
    const Experiment *ex;
    const RunOptions *opt;
    Results *rs;
    const Todo *todo;
    int n_todo;
    int threads;                    /* training threads in this process */
    volatile sig_atomic_t *signal;  /* SIGINT/SIGTERM seen (0 none) */
    struct GridState *state;        /* runner.c's: progress, failures */
} GridLoop;
/* trains todo[k] in this thread, writes it and reports it; train_run's rc */
int grid_train_here(GridLoop *g, int k);
/* reports todo[k] ended: rc as train_run's (run_error when -1), wrc and
   werr what writing it gave; a write failure stops the grid */
void grid_ended(GridLoop *g, int k, int rc, const char *run_error, int wrc, const char *werr);
/* 1 when the grid is stopping: a signal, or results could not be written */
int grid_stopping(const GridLoop *g);
/* how many runs can be in flight at once (the progress line's "running") */
void grid_set_slots(GridLoop *g, int slots);

/* what the progress line says of a run in flight at time `now` (now_s()):
   "lstm adding 100: step 340/1000, loss 0.0521, ETA 01:06" (its ETA from its
   own pace), compact "lstm adding 100 340/1000 0.0521" for a terminal, or
   "...: starting" before its first step; its share of its budget done into
   *share */
void progress_flight_text(const RunConfig *cfg, const TrainWatch *w, double now, int compact, char *out,
                          size_t n, double *share);

int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
