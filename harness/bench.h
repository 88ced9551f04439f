/* bench.h: `rnnbench bench`, the timing of one training step (see bench.c). */
#ifndef RNNBENCH_BENCH_H
#define RNNBENCH_BENCH_H
int cmd_bench(int argc, char **argv);
#endif
