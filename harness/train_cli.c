/* train_cli.c: `rnnbench train`, one run from flags into a results file of
   the same format as a grid's (a grid of one run), for quick trials.
   Every setting of settings.h is an option --key ('-' for '_'; a boolean is
   a flag). Every value is checked as exactly as in an experiment file:
   numbers whole and in range of their field (no wrap, no cut), then
   config_check's ranges, each error one line naming the option and the
   value; an unknown option names the closest known one. */
#include "runner.h"
#include "settings.h"
#include "suggest.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the options: one per setting (settings.h), then the run's own */
enum { O_SETTING = 256, O_SEED = O_SETTING + N_SETTINGS, O_QUIET, O_FORCE };

static const struct { const char *name; int has_arg, val; const char *arg, *help; } RUN_OPTIONS[] = {
    {"seed", required_argument, O_SEED, "S", "the experiment seed, an integer in [0, 2^64) [1]"},
    {"quiet", no_argument, O_QUIET, "", "no progress line"},
    {"force", no_argument, O_FORCE, "", "overwrite a results file of another experiment"},
    {"output", required_argument, 'o', "FILE.h5", "the results file (also -o)"},
    {"help", no_argument, 'h', "", "this text"},
};
#define N_RUN_OPTIONS (sizeof RUN_OPTIONS / sizeof RUN_OPTIONS[0])

/* --key of each setting: its key with '-' for '_' */
static char setting_option[N_SETTINGS][64];
static struct option options[N_SETTINGS + N_RUN_OPTIONS + 1];
static const char *option_names[N_SETTINGS + N_RUN_OPTIONS];

static void build_options(void) {
    int n = 0;
    for (int k = 0; k < N_SETTINGS; k++) {
        char *name = setting_option[k];
        snprintf(name, sizeof setting_option[k], "%s", SETTINGS[k].key);
        for (char *c = name; *c; c++)
            if (*c == '_') *c = '-';
        /* a boolean is a flag: given means 1 */
        int has_arg = SETTINGS[k].type == ST_BOOL ? no_argument : required_argument;
        option_names[n] = name;
        options[n++] = (struct option){name, has_arg, 0, O_SETTING + k};
    }
    for (size_t i = 0; i < N_RUN_OPTIONS; i++) {
        option_names[n] = RUN_OPTIONS[i].name;
        options[n++] = (struct option){RUN_OPTIONS[i].name, RUN_OPTIONS[i].has_arg, 0, RUN_OPTIONS[i].val};
    }
    options[n] = (struct option){0, 0, 0, 0};
}

/* what a setting's option takes, for --help */
static const char *setting_arg(int k) {
    switch (SETTINGS[k].type) {
    case ST_INT:
    case ST_INT_POSITIVE:
    case ST_LONG: return "N";
    case ST_NUM: return "X";
    case ST_NAME: return "NAME";
    case ST_OPTIMIZER: return "adam|sgd";
    case ST_FORGET: return "F|chrono";
    case ST_FORM: return "FORM";
    case ST_BOOL: break;
    }
    return "";
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench train --cell NAME --task TASK [--SETTING VALUE ...] [--seed S] [--quiet]\n"
            "                      [--force] -o FILE.h5\n"
            "One training run into FILE.h5 (same format as `rnnbench run`). Every key of an\n"
            "experiment file's [grid] section is an option ('-' for '_'), one value each, with the\n"
            "same default (in brackets) and range (see experiments/README.md); integers are >= 1.\n");
    char left[96];
    for (int k = 0; k < N_SETTINGS; k++) {
        snprintf(left, sizeof left, "--%.63s %s", setting_option[k], setting_arg(k));
        char def[96] = "";
        const SettingValue *d = &SETTINGS[k].def;
        if (SETTINGS[k].type == ST_NUM) snprintf(def, sizeof def, " [%g]", d->x);
        else if (SETTINGS[k].type != ST_BOOL) {
            char text[80];
            setting_format(k, d, text, sizeof text);
            snprintf(def, sizeof def, " [%s]", text);
        }
        fprintf(out, "  %-24s %s%s\n", left, SETTINGS[k].help, def);
    }
    for (size_t i = 0; i < N_RUN_OPTIONS; i++) {
        snprintf(left, sizeof left, "--%s %s", RUN_OPTIONS[i].name, RUN_OPTIONS[i].arg);
        fprintf(out, "  %-24s %s\n", left, RUN_OPTIONS[i].help);
    }
}

static const char *option_name(int val) {
    for (const struct option *o = options; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

/* one option's value into cfg or ro; 1, or 0 with the reason in why */
static int apply_option(int opt, const char *arg, RunConfig *cfg, RunOptions *ro, char *form_word,
                        char *why, size_t n) {
    if (opt >= O_SETTING && opt < O_SETTING + N_SETTINGS) {
        int k = opt - O_SETTING;
        SettingValue v = {.i = 1};
        if (SETTINGS[k].type != ST_BOOL && !setting_parse(k, FROM_COMMAND_LINE, arg, &v, why, n))
            return 0;
        setting_set(cfg, k, &v);
        if (k == SETTING_form) snprintf(form_word, sizeof v.s, "%s", v.s);
        return 1;
    }
    switch (opt) {
    case O_SEED: {
        unsigned long long seed;
        if (!parse_u64(arg, &seed)) {
            why_not_u64(arg, why, n);
            return 0;
        }
        cfg->experiment_seed = seed;
        return 1;
    }
    case O_QUIET: ro->quiet = 1; return 1;
    case O_FORCE: ro->force = 1; return 1;
    }
    snprintf(why, n, "not an option of train");
    return 0;
}

/* an unknown --word: the option it likely meant, else getopt's own message */
static void print_unknown_option(int opt, char *const *argv) {
    const char *word = argv[optind - 1];
    if (opt == '?' && !optopt && !strncmp(word, "--", 2)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(word + 2, "="), word + 2);
        const char *meant = closest_name(name, option_names, N_SETTINGS + N_RUN_OPTIONS);
        if (meant) {
            print_error("rnnbench train: unknown option '%s' (did you mean '--%s'?)", word, meant);
            return;
        }
    }
    print_getopt_error("train", opt, argv);
}

/* config_check's "key: reason" as "--option: reason": the option of the
   setting it is about (for a task's reason, the task parameter it names
   when that was given) */
static void print_check_error(const char *why, const int *given) {
    size_t n = strcspn(why, ":");
    int k = settings_blamed(why, given);
    if (k >= 0 && why[n] == ':') print_error("rnnbench train: --%s:%s", setting_option[k], why + n + 1);
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
    build_options();
    RunConfig cfg;
    config_default(&cfg);
    RunOptions ro = {0};
    ro.threads = 1;
    const char *out = NULL;
    int opt, given[N_SETTINGS] = {0};
    char form_word[64] = "";
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((opt = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == '?' || opt == ':') {
            print_unknown_option(opt, argv);
            return 2;
        }
        if (opt == 'o') {
            out = optarg;
            continue;
        }
        char why[512];
        if (!apply_option(opt, optarg, &cfg, &ro, form_word, why, sizeof why)) {
            print_error("rnnbench train: --%s: %s", option_name(opt), why);
            return 2;
        }
        if (opt >= O_SETTING && opt < O_SETTING + N_SETTINGS) given[opt - O_SETTING] = 1;
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
    if (!settings_form_word_fits(form_word, cfg.task, err, sizeof err)) {
        print_error("rnnbench train: --form: %s", err);
        return 2;
    }
    if (config_check(&cfg, err, sizeof err) != 0) {
        print_check_error(err, given);
        return 2;
    }
    config_finalize(&cfg);
    ro.out = out;
    return run_one(&cfg, &ro, argc, argv);
}
