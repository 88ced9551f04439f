/* main.c: the rnnbench command line. Subcommands only; each lives in its
   own file. Exit status: 0 success, 1 a failed run, 2 bad usage or input
   (said in one line, with invisible characters shown as <U+XXXX>). */
#include "bench.h"
#include "export.h"
#include "graph_cli.h"
#include "h5io.h"
#include "runner.h"
#include "task.h"
#include "trace.h"
#include "util.h"
#include "../cells/cell.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "rnnbench %s: recurrent cells on long-dependency tasks\n"
            "usage: rnnbench COMMAND [ARGS]   (rnnbench COMMAND --help for details)\n"
            "  list cells|tasks   what can be trained\n"
            "  run EXPERIMENT.ini run a grid of experiments into one HDF5 file\n"
            "  train              one run from flags, for quick trials\n"
            "  show FILE.h5       the comparison table of a results file\n"
            "  export FILE.h5     the summary (or --curves) of a results file as CSV\n"
            "  trace              one forward/backward pass written to HDF5\n"
            "  bench              time one training step of the benchmark workloads\n"
            "  graph              check, canonicalise or mutate a cell written as equations\n",
            RNNBENCH_VERSION);
}

static int cmd_list(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout, "usage: rnnbench list cells|tasks\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "cells")) {
        printf("%-11s %-30s %s\n", "cell", "parameters (N hidden, M inputs)", "description");
        for (int k = 0; k < cell_kind_count(); k++) {
            const CellOps *kind = cell_kind_at(k);
            for (int i = 0; i < kind->n_names; i++)
                printf("%-11s %-30s %s\n", kind->names[i].name, kind->names[i].params, kind->names[i].desc);
        }
        for (int k = 0; k < cell_kind_count(); k++) {
            const CellOps *kind = cell_kind_at(k);
            if (!kind->modifier_intro) continue;
            printf("\n%s\n", kind->modifier_intro);
            for (int i = 0; i < kind->n_modifiers; i++)
                printf("  +%-6s %s\n", kind->modifiers[i].name, kind->modifiers[i].desc);
        }
        printf("Parameter counts exclude the readout (Y*N + Y).\n");
        return 0;
    }
    if (!strcmp(argv[1], "tasks")) {
        int n;
        const Task *const *tasks = task_all(&n);
        int w = 4, any_none = 0; /* the longest name sets the column */
        for (int i = 0; i < n; i++)
            if ((int)strlen(tasks[i]->name) > w) w = (int)strlen(tasks[i]->name);
        printf("%-*s %-11s %-9s %s\n", w, "task", "loss", "baseline", "description (baseline at the default delay)");
        for (int i = 0; i < n; i++) {
            TaskParams p;
            task_params_default(&p);
            TaskShape s;
            tasks[i]->shape(&p, &s);
            double b = tasks[i]->baseline(&p);
            /* a task without a trivial baseline says so rather than print nan */
            any_none |= isnan(b);
            if (isnan(b)) printf("%-*s %-11s %-9s %s\n", w, tasks[i]->name, loss_name(s.loss), "none", tasks[i]->desc);
            else printf("%-*s %-11s %-9.4g %s\n", w, tasks[i]->name, loss_name(s.loss), b, tasks[i]->desc);
            printf("%-*s parameters: %s\n", w, "", tasks[i]->params);
        }
        if (any_none)
            printf("baseline none: no output that ignores the input is a fair yardstick for the task (reber: the\n"
                   "legal next symbols depend on the string so far); judge it by its solved criterion (docs/tasks.md).\n");
        return 0;
    }
    print_error("rnnbench list: unknown list '%s' (cells or tasks)", argv[1]);
    return 2;
}

int main(int argc, char **argv) {
    /* past a file-size limit, let write() fail with EFBIG (reported like a
       full disk) instead of being killed by SIGXFSZ */
    signal(SIGXFSZ, SIG_IGN);
    /* libhdf5 1.10 crashes in its exit handler when a file failed to close
       (disk full); every file is closed explicitly, so its handler is not needed */
    H5dont_atexit();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("rnnbench %s\n", RNNBENCH_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace")) return cmd_trace(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "show")) return cmd_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "graph")) return cmd_graph(argc - 1, argv + 1);
    print_error("rnnbench: unknown command '%s' (rnnbench --help lists them)", cmd);
    return 2;
}
