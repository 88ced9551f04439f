/* train_cli.c: `rnnbench train`, one run from flags into a results file of
   the same format as a grid's (a grid of one run), for quick trials.
   Every value is checked as exactly as in an experiment file: numbers whole
   and in range of their field (no wrap, no cut), then config_check's ranges,
   each error one line naming the option and the value. */
#include "runner.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
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
            "One training run into FILE.h5 (same format as `rnnbench run`). Defaults and ranges: those\n"
            "of an experiment file (see experiments/README.md); --seed is an integer in [0, 2^64).\n");
}

enum { O_CELL = 256, O_TASK, O_DELAY, O_HIDDEN, O_STEPS, O_BATCH, O_OPT, O_LR, O_MOM, O_NEST,
       O_CLIP, O_FB, O_INIT, O_EVERY, O_ESIZE, O_STOP, O_SEED, O_QUIET, O_FORCE };

static const struct option OPTIONS[] = {
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

/* the config_check keys that an option sets, to word its errors with the
   option the user typed */
static const struct { const char *key, *option; } KEY_OPTIONS[] = {
    {"task", "task"},   {"cell", "cell"},         {"hidden", "hidden"},
    {"batch", "batch"}, {"steps", "steps"},       {"lr", "lr"},
    {"momentum", "momentum"}, {"clip", "clip"},   {"init_scale", "init-scale"},
    {"forget_bias", "forget-bias"}, {"eval_every", "eval-every"}, {"eval_size", "eval-size"},
};

static const char *option_name(int val) {
    for (const struct option *o = OPTIONS; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

/* a name into field[cap]: a longer one is refused, as a cut name would be another */
static int set_name(char *field, size_t cap, const char *arg, char *why, size_t n) {
    if (strlen(arg) >= cap) {
        snprintf(why, n, "longer than %zu characters, got '%s'", cap - 1, arg);
        return 0;
    }
    memcpy(field, arg, strlen(arg) + 1);
    return 1;
}

/* an int field: any int >= 1 here, config_check judges the rest */
static int set_int(int *field, const char *arg, char *why, size_t n) {
    long v;
    if (!parse_long(arg, 1, INT_MAX, &v)) {
        why_not_long(arg, 1, INT_MAX, why, n);
        return 0;
    }
    *field = (int)v;
    return 1;
}

static int set_double(double *field, const char *arg, char *why, size_t n) {
    if (!parse_double(arg, field)) {
        why_not_double(arg, "a number", why, n);
        return 0;
    }
    return 1;
}

/* one option's value into cfg or ro; 1, or 0 with the reason in why */
static int apply_option(int opt, const char *arg, RunConfig *cfg, RunOptions *ro, char *why, size_t n) {
    switch (opt) {
    case O_CELL: return set_name(cfg->cell, sizeof cfg->cell, arg, why, n);
    case O_TASK: return set_name(cfg->task, sizeof cfg->task, arg, why, n);
    case O_DELAY: return set_int(&cfg->task_params.delay, arg, why, n);
    case O_HIDDEN: return set_int(&cfg->hidden, arg, why, n);
    case O_BATCH: return set_int(&cfg->batch, arg, why, n);
    case O_EVERY: return set_int(&cfg->eval_every, arg, why, n);
    case O_ESIZE: return set_int(&cfg->eval_size, arg, why, n);
    case O_STEPS:
        if (parse_long(arg, 1, LONG_MAX, &cfg->steps)) return 1;
        why_not_long(arg, 1, LONG_MAX, why, n);
        return 0;
    case O_OPT:
        if (!strcmp(arg, "adam") || !strcmp(arg, "sgd")) {
            cfg->optimizer = !strcmp(arg, "adam") ? OPT_ADAM : OPT_SGD;
            return 1;
        }
        snprintf(why, n, "expected adam or sgd, got '%s'", arg);
        return 0;
    case O_LR: return set_double(&cfg->lr, arg, why, n);
    case O_MOM: return set_double(&cfg->momentum, arg, why, n);
    case O_CLIP: return set_double(&cfg->clip, arg, why, n);
    case O_INIT: return set_double(&cfg->init_scale, arg, why, n);
    case O_FB:
        cfg->forget_chrono = !strcmp(arg, "chrono");
        if (cfg->forget_chrono || parse_double(arg, &cfg->forget_bias)) return 1;
        why_not_double(arg, "a number or chrono", why, n);
        return 0;
    case O_SEED: {
        unsigned long long seed;
        if (!parse_u64(arg, &seed)) {
            why_not_u64(arg, why, n);
            return 0;
        }
        cfg->experiment_seed = seed;
        return 1;
    }
    case O_NEST: cfg->nesterov = 1; return 1;
    case O_STOP: cfg->stop_when_solved = 1; return 1;
    case O_QUIET: ro->quiet = 1; return 1;
    case O_FORCE: ro->force = 1; return 1;
    }
    snprintf(why, n, "not an option of train");
    return 0;
}

/* config_check's "key: reason" as "--option: reason"; a task's reason that
   names the delay is --delay's when it was given */
static void print_check_error(const char *why, int delay_given) {
    size_t n = strcspn(why, ":");
    const char *option = NULL;
    for (size_t i = 0; i < sizeof KEY_OPTIONS / sizeof KEY_OPTIONS[0]; i++)
        if (strlen(KEY_OPTIONS[i].key) == n && !strncmp(why, KEY_OPTIONS[i].key, n))
            option = KEY_OPTIONS[i].option;
    if (option && !strcmp(option, "task") && delay_given && strstr(why + n, "delay")) option = "delay";
    if (option && why[n] == ':') print_error("rnnbench train: --%s:%s", option, why + n + 1);
    else print_error("rnnbench train: %s", why);
}

/* the one-run experiment, whose "file text" is the command line */
static int run_one(const RunConfig *cfg, const RunOptions *ro, int argc, char **argv) {
    size_t len = 16;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    Experiment ex;
    memset(&ex, 0, sizeof ex);
    ex.text = malloc(len);
    ex.runs = malloc(sizeof(RunConfig));
    if (!ex.text || !ex.runs) {
        free(ex.text);
        free(ex.runs);
        fprintf(stderr, "rnnbench: out of memory\n");
        return 1;
    }
    snprintf(ex.text, len, "rnnbench");
    for (int i = 0; i < argc; i++) { strcat(ex.text, " "); strcat(ex.text, argv[i]); }
    snprintf(ex.path, sizeof ex.path, "(command line)");
    snprintf(ex.name, sizeof ex.name, "train %s on %s", cfg->cell, cfg->task);
    ex.seed = cfg->experiment_seed;
    ex.runs[0] = *cfg;
    ex.n_runs = 1;
    int rc = run_experiment(&ex, ro);
    free(ex.text);
    free(ex.runs);
    return rc;
}

int cmd_train(int argc, char **argv) {
    RunConfig cfg;
    config_default(&cfg);
    RunOptions ro = {0};
    ro.threads = 1;
    const char *out = NULL;
    int opt, delay_given = 0;
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((opt = getopt_long(argc, argv, ":o:h", OPTIONS, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == '?' || opt == ':') {
            print_getopt_error("train", opt, argv);
            return 2;
        }
        if (opt == 'o') {
            out = optarg;
            continue;
        }
        char why[512];
        if (!apply_option(opt, optarg, &cfg, &ro, why, sizeof why)) {
            print_error("rnnbench train: --%s: %s", option_name(opt), why);
            return 2;
        }
        delay_given |= opt == O_DELAY;
    }
    if (optind != argc) {
        print_error("rnnbench train: unexpected argument '%s' (rnnbench train --help)", argv[optind]);
        return 2;
    }
    if (!out) {
        print_error("rnnbench train: -o FILE.h5 is required (rnnbench train --help)");
        return 2;
    }
    char err[512];
    if (config_check(&cfg, err, sizeof err) != 0) {
        print_check_error(err, delay_given);
        return 2;
    }
    config_finalize(&cfg);
    ro.out = out;
    return run_one(&cfg, &ro, argc, argv);
}
