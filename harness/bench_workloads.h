/* bench_workloads.h: the workloads of `rnnbench bench` (W1, W2, W3), the
   one place their shapes are written. The peers of `make bench`
   (scripts/bench_torch.py, scripts/bench_onednn.c, scripts/bench_compare.py)
   read them from `rnnbench bench --list-workloads`, so a shape changed here
   changes in every program. */
#ifndef RNNBENCH_BENCH_WORKLOADS_H
#define RNNBENCH_BENCH_WORKLOADS_H

#include <stdio.h>

typedef struct {
    const char *name;
    int T, X, H, B, Y;  /* length, input, hidden, batch, readout width */
    int last_step_only; /* 1: one MSE output at the last step; 0: cross-entropy at every step */
    const char *cells;  /* default cells, comma-separated */
} BenchWorkload;

const BenchWorkload *bench_workload_all(int *count);

/* the table --list-workloads prints: a header line, then one line per
   workload of whitespace-separated columns
       workload T X H B Y loss cells
   with loss "mse-last" or "xent-all" and cells comma-separated */
void bench_workloads_print(FILE *out);

#endif
