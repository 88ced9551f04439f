/* runner.h: runs an experiment's grid with OpenMP, one run per thread,
   longest first, into a results file (results.h), then prints the table. */
#ifndef RNNBENCH_RUNNER_H
#define RNNBENCH_RUNNER_H

#include "grid.h"

typedef struct {
    const char *out;   /* results file */
    int threads;       /* 0: OMP_NUM_THREADS or all cores */
    int quiet;         /* no progress line */
    int force;         /* overwrite a file of another experiment */
} RunOptions;

/* Returns the process exit status: 0 all runs ran (diverged ones included),
   1 a run failed or results could not be written, 2 bad input. */
int run_experiment(const Experiment *ex, const RunOptions *opt);

int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
