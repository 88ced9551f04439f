/* bench_workloads.c: the shapes of the benchmark workloads (see
   bench_workloads.h), and their listing for the other programs. */
#include "bench_workloads.h"

static const BenchWorkload WORKLOADS[] = {
    /* NAME*L: a stack of L layers */
    {"W1", 100, 2, 64, 32, 1, BENCH_MSE_LAST, "rnn,lstm,gru-ra,lstm-peep,lstm-cifg,mgu,mut1,cwrnn,lstm*2,dglstm*2",
     "a long-memory task, small input"},
    {"W2", 220, 10, 128, 64, 10, BENCH_XENT_ALL, "rnn,lstm,gru-ra", "a sequence classifier"},
    {"W3", 100, 64, 512, 64, 64, BENCH_XENT_ALL, "lstm", "a wide layer: GEMM-bound"},
    /* Greff et al.'s online training on JSB Chorales: one sequence per step
       (B = 1), 88 piano keys in and out, so every product is matrix-vector */
    {"W4", 60, 88, 100, 1, 88, BENCH_BCE_ALL, "lstm", "online training, JSB shape"},
};

const BenchWorkload *bench_workload_all(int *count) {
    *count = (int)(sizeof WORKLOADS / sizeof WORKLOADS[0]);
    return WORKLOADS;
}

const char *bench_loss_name(BenchLoss loss) {
    switch (loss) {
    case BENCH_MSE_LAST: return "mse-last";
    case BENCH_XENT_ALL: return "xent-all";
    case BENCH_BCE_ALL: return "bce-all";
    }
    return "?";
}

void bench_workloads_print(FILE *out) {
    fprintf(out, "workload T X H B Y loss cells\n");
    for (size_t i = 0; i < sizeof WORKLOADS / sizeof WORKLOADS[0]; i++) {
        const BenchWorkload *w = &WORKLOADS[i];
        fprintf(out, "%s %d %d %d %d %d %s %s\n", w->name, w->T, w->X, w->H, w->B, w->Y,
                bench_loss_name(w->loss), w->cells);
    }
}
