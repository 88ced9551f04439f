/* mpi_run.h: `rnnbench run` under mpirun (make MPI=1). Rank 0 is the
   writer: it opens the results file, hands out the runs longest first, one
   at a time to whichever rank asks, writes what comes back through the same
   results code as a local run, and trains too. Every other rank trains with
   its threads and sends each finished run as the bytes of its part file
   (mpi_image.h). Built only with -DRNNBENCH_MPI.

   Messages (all to or from rank 0): a worker slot (one training thread)
   asks for a run, carrying the run it finished, if any; rank 0 answers with
   a run index, "stop", or "wait" (nothing queued now, but a run may come
   back). Workers send a heartbeat every RNNBENCH_MPI_TIMEOUT_S / 8 seconds;
   a rank silent for RNNBENCH_MPI_TIMEOUT_S (default 60) is reported lost
   and its runs go back in the queue, or are recorded as failed the second
   time a rank is lost with the same run.

   Also read from the environment: RNNBENCH_MPI_STATS (the closing line of
   rank 0's counts even with --quiet), RNNBENCH_MPI_SIMULATE (a worker plays
   -j ranks without training: the writer's load, README "Scaling out") and
   RNNBENCH_MPI_TEST_DIE=RANK:N (tests: that rank kills itself when handed
   its Nth run, and gets its first N runs before any other rank). */
#ifndef RNNBENCH_MPI_RUN_H
#define RNNBENCH_MPI_RUN_H

#include <signal.h>
#include "runner.h"

/* Starts MPI when this process was launched by an MPI launcher (mpirun,
   srun): otherwise rnnbench runs as one process. 0, or the exit status
   after a one-line message (1 MPI failed, 2 a bad RNNBENCH_MPI_* value). */
int mpi_start(void);
int mpi_rank(void);
int mpi_ranks(void);

/* rank 0: the grid loop (replaces the OpenMP loop of runner.c) */
void mpi_coordinate(GridLoop *g);
/* ranks > 0: train what rank 0 hands out until it says stop; the exit status */
int mpi_work(const Experiment *ex, const RunOptions *opt, volatile sig_atomic_t *signal);
/* releases the workers if rank 0 ended before its loop (bad input, a busy
   file), finalises MPI; returns status */
int mpi_end(int status);

#endif
