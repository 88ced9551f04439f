/* bench_workloads.h: the workloads of `rnnbench bench` (W1 to W4), the
   one place their shapes are written. The peers of `make bench`
   (scripts/bench_torch.py, scripts/bench_onednn.c, scripts/bench_compare.py)
   read them from `rnnbench bench --list-workloads`, so a shape changed here
   changes in every program. */
#ifndef RNNBENCH_BENCH_WORKLOADS_H
#define RNNBENCH_BENCH_WORKLOADS_H

#include <stdio.h>

/* the loss of a workload, as the listing names it */
typedef enum {
    BENCH_MSE_LAST, /* "mse-last": Y regression outputs scored at the last step only */
    BENCH_XENT_ALL, /* "xent-all": Y-way cross-entropy at every step */
    BENCH_BCE_ALL,  /* "bce-all": Y independent sigmoid outputs, binary cross-entropy at every step */
} BenchLoss;

typedef struct {
    const char *name;
    int T, X, H, B, Y;  /* length, input, hidden, batch, readout width */
    BenchLoss loss;
    const char *cells;  /* default cells, comma-separated */
    const char *about;  /* what the workload stands for, for --help */
} BenchWorkload;

const BenchWorkload *bench_workload_all(int *count);
const char *bench_loss_name(BenchLoss loss);

/* the table --list-workloads prints: a header line, then one line per
   workload of whitespace-separated columns
       workload T X H B Y loss cells
   with loss "mse-last", "xent-all" or "bce-all" and cells comma-separated */
void bench_workloads_print(FILE *out);

#endif
