/* trace.h: `rnnbench trace` (see trace.c). */
#ifndef RNNBENCH_TRACE_H
#define RNNBENCH_TRACE_H
int cmd_trace(int argc, char **argv);
#endif
