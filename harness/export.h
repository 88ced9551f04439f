/* export.h: `rnnbench export`, a results file as CSV (export.c). */
#ifndef RNNBENCH_EXPORT_H
#define RNNBENCH_EXPORT_H

int cmd_export(int argc, char **argv);

#endif
