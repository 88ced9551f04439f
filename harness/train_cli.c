/* train_cli.c: `rnnbench train`, one run from flags into a results file of
   the same format as a grid's (a grid of one run), for quick trials. */
#include "runner.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench train --cell NAME --task TASK [--delay T] [--hidden H] [--steps N]\n"
            "                      [--batch B] [--optimizer adam|sgd] [--lr LR] [--momentum M]\n"
            "                      [--nesterov] [--clip C] [--forget-bias F|chrono] [--init-scale S]\n"
            "                      [--eval-every N] [--eval-size N] [--stop-when-solved] [--seed S]\n"
            "                      [--quiet] [--force] -o FILE.h5\n"
            "One training run into FILE.h5 (same format as `rnnbench run`). Defaults: those of an\n"
            "experiment file (see experiments/README.md).\n");
}

int cmd_train(int argc, char **argv) {
    enum { O_CELL = 256, O_TASK, O_DELAY, O_HIDDEN, O_STEPS, O_BATCH, O_OPT, O_LR, O_MOM, O_NEST,
           O_CLIP, O_FB, O_INIT, O_EVERY, O_ESIZE, O_STOP, O_SEED, O_QUIET, O_FORCE };
    static const struct option opts[] = {
        {"cell", required_argument, 0, O_CELL}, {"task", required_argument, 0, O_TASK},
        {"delay", required_argument, 0, O_DELAY}, {"hidden", required_argument, 0, O_HIDDEN},
        {"steps", required_argument, 0, O_STEPS}, {"batch", required_argument, 0, O_BATCH},
        {"optimizer", required_argument, 0, O_OPT}, {"lr", required_argument, 0, O_LR},
        {"momentum", required_argument, 0, O_MOM}, {"nesterov", no_argument, 0, O_NEST},
        {"clip", required_argument, 0, O_CLIP}, {"forget-bias", required_argument, 0, O_FB},
        {"init-scale", required_argument, 0, O_INIT}, {"eval-every", required_argument, 0, O_EVERY},
        {"eval-size", required_argument, 0, O_ESIZE}, {"stop-when-solved", no_argument, 0, O_STOP},
        {"seed", required_argument, 0, O_SEED}, {"quiet", no_argument, 0, O_QUIET},
        {"force", no_argument, 0, O_FORCE}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    RunConfig cfg;
    config_default(&cfg);
    RunOptions ro = {0};
    ro.threads = 1;
    const char *out = NULL;
    int opt, idx = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, &idx)) != -1) {
        long v = 0;
        double d = 0;
        unsigned long long u = 0;
        int ok = 1;
        switch (opt) {
        case O_CELL: snprintf(cfg.cell, sizeof cfg.cell, "%s", optarg); break;
        case O_TASK: snprintf(cfg.task, sizeof cfg.task, "%s", optarg); break;
        case O_DELAY: ok = parse_long(optarg, 1, 100000000, &v); cfg.task_params.delay = (int)v; break;
        case O_HIDDEN: ok = parse_long(optarg, 1, INT_MAX, &v); cfg.hidden = (int)v; break;
        case O_STEPS: ok = parse_long(optarg, 1, 1L << 40, &v); cfg.steps = v; break;
        case O_BATCH: ok = parse_long(optarg, 1, 1000000, &v); cfg.batch = (int)v; break;
        case O_OPT:
            if (!strcmp(optarg, "adam")) cfg.optimizer = OPT_ADAM;
            else if (!strcmp(optarg, "sgd")) cfg.optimizer = OPT_SGD;
            else ok = 0;
            break;
        case O_LR: ok = parse_double(optarg, &d); cfg.lr = d; break;
        case O_MOM: ok = parse_double(optarg, &d); cfg.momentum = d; break;
        case O_NEST: cfg.nesterov = 1; break;
        case O_CLIP: ok = parse_double(optarg, &d); cfg.clip = d; break;
        case O_FB:
            if (!strcmp(optarg, "chrono")) cfg.forget_chrono = 1;
            else { ok = parse_double(optarg, &d); cfg.forget_bias = d; }
            break;
        case O_INIT: ok = parse_double(optarg, &d); cfg.init_scale = d; break;
        case O_EVERY: ok = parse_long(optarg, 1, 1L << 40, &v); cfg.eval_every = (int)v; break;
        case O_ESIZE: ok = parse_long(optarg, 1, 1000000, &v); cfg.eval_size = (int)v; break;
        case O_STOP: cfg.stop_when_solved = 1; break;
        case O_SEED: ok = parse_u64(optarg, &u); cfg.experiment_seed = u; break;
        case O_QUIET: ro.quiet = 1; break;
        case O_FORCE: ro.force = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "rnnbench train: --%s: invalid value '%s'\n", opts[idx].name, optarg);
            return 2;
        }
    }
    if (!out || optind != argc) {
        if (!out) fprintf(stderr, "rnnbench train: -o FILE.h5 is required\n");
        usage(stderr);
        return 2;
    }
    char err[512];
    if (config_check(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "rnnbench train: %s\n", err);
        return 2;
    }
    config_finalize(&cfg);
    /* the command line is this experiment's "file text" */
    size_t len = 16;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    Experiment ex;
    memset(&ex, 0, sizeof ex);
    ex.text = malloc(len);
    ex.runs = malloc(sizeof(RunConfig));
    if (!ex.text || !ex.runs) {
        fprintf(stderr, "rnnbench: out of memory\n");
        return 1;
    }
    snprintf(ex.text, len, "rnnbench");
    for (int i = 0; i < argc; i++) { strcat(ex.text, " "); strcat(ex.text, argv[i]); }
    snprintf(ex.path, sizeof ex.path, "(command line)");
    snprintf(ex.name, sizeof ex.name, "train %s on %s", cfg.cell, cfg.task);
    ex.seed = cfg.experiment_seed;
    ex.runs[0] = cfg;
    ex.n_runs = 1;
    ro.out = out;
    int rc = run_experiment(&ex, &ro);
    free(ex.text);
    free(ex.runs);
    return rc;
}
