/* bench_workloads.c: the shapes of the benchmark workloads (see
   bench_workloads.h), and their listing for the other programs. */
#include "bench_workloads.h"

static const BenchWorkload WORKLOADS[] = {
    {"W1", 100, 2, 64, 32, 1, 1, "rnn,lstm,gru-ra,lstm-peep,lstm-cifg"},
    {"W2", 220, 10, 128, 64, 10, 0, "rnn,lstm,gru-ra"},
    {"W3", 100, 64, 512, 64, 64, 0, "lstm"},
};

const BenchWorkload *bench_workload_all(int *count) {
    *count = (int)(sizeof WORKLOADS / sizeof WORKLOADS[0]);
    return WORKLOADS;
}

void bench_workloads_print(FILE *out) {
    fprintf(out, "workload T X H B Y loss cells\n");
    for (size_t i = 0; i < sizeof WORKLOADS / sizeof WORKLOADS[0]; i++) {
        const BenchWorkload *w = &WORKLOADS[i];
        fprintf(out, "%s %d %d %d %d %d %s %s\n", w->name, w->T, w->X, w->H, w->B, w->Y,
                w->last_step_only ? "mse-last" : "xent-all", w->cells);
    }
}
