/* settings.h: the run settings, one table.

   Every field of a RunConfig that an experiment file or `rnnbench train` sets
   is one line of RUN_SETTINGS below. From that line come: its default
   (config_default), its range check and message (config_check), its key in a
   [grid] section (grid_read.c), its place and format in the canonical run-id
   text (config_canonical), its `train` option --key ('-' for '_') and help
   line, and its HDF5 attribute per run (settings_attrs.c). Adding a setting
   is one line here, the RunConfig field, and the code that uses it.

   The order of the lines is the order of the canonical text, which holds
   every setting of RUN_SETTINGS: moving a line, or adding one there,
   changes every run id and seed (tests/test_settings.c pins them). A new
   setting therefore goes in ADDED_SETTINGS (same columns): at its default
   it is left out of the canonical text and of the run's attributes, so
   every run id, seed and file that existed before it stays as it was.

   Not here: the identity of a run (experiment_seed, seed_index, trial, id,
   section: config.h) and the grid-only keys seeds and trials (grid_read.c). */
#ifndef RNNBENCH_SETTINGS_H
#define RNNBENCH_SETTINGS_H

#include <stddef.h>
#include "config.h"
#include "../cells/model.h" /* MODEL_MAX_LAYERS */

/* how a setting's text is read, written and stored */
typedef enum {
    ST_INT,          /* int: an integer (any in a file, >= 1 on the command line) */
    ST_INT_POSITIVE, /* int: an integer >= 1 as soon as it is read */
    ST_LONG,         /* long: as ST_INT */
    ST_NUM,          /* double */
    ST_BOOL,         /* int 0/1: 0, 1, true, false; a flag on the command line */
    ST_NAME,         /* char array: a name (task, cell) */
    ST_OPTIMIZER,    /* OptimizerKind: sgd | adam */
    ST_FORGET,       /* forget_bias, or `chrono` (sets forget_chrono instead) */
    ST_FORM,         /* int: modern | 1997 | 6a | 6b | an integer (a word belongs to one task) */
} SettingType;

/* what config_check requires of a value, each with its own message */
typedef enum {
    CK_NONE,         /* nothing (a task parameter: the task's own check judges it) */
    CK_TASK,         /* a known task, whose check accepts the task parameters */
    CK_CELL,         /* a cell model_make builds (checked after every range) */
    CK_RANGE,        /* integer: "must be between LO and HI" */
    CK_AT_LEAST,     /* integer: "must be >= LO" */
    CK_POSITIVE,     /* "must be > 0" */
    CK_NONNEGATIVE,  /* "must be >= 0" */
    CK_CLIP,         /* "must be >= 0 (0 = off)" */
    CK_UNIT,         /* "must be in [0, 1)" */
    CK_FINITE,       /* "must be finite" */
    CK_DIVERGE,      /* "must be 0 (off) or > 1" */
} CheckKind;

typedef struct {
    CheckKind kind;
    long lo, hi;
} SettingCheck;

#define NO_CHECK {CK_NONE, 0, 0}
#define TASK_CHECK {CK_TASK, 0, 0}
#define CELL_CHECK {CK_CELL, 0, 0}
#define RANGE(lo, hi) {CK_RANGE, (lo), (hi)}
#define AT_LEAST(lo) {CK_AT_LEAST, (lo), 0}
#define POSITIVE {CK_POSITIVE, 0, 0}
#define NONNEGATIVE {CK_NONNEGATIVE, 0, 0}
#define CLIP_CHECK {CK_CLIP, 0, 0}
#define UNIT {CK_UNIT, 0, 0}
#define FINITE {CK_FINITE, 0, 0}
#define DIVERGE_CHECK {CK_DIVERGE, 0, 0}

/* one value of any setting */
typedef struct {
    long i;      /* integers, booleans, the optimizer, the form; 1 for forget_bias = chrono */
    double x;    /* numbers and forget_bias */
    char s[64];  /* names; for a form, the word it was given as ("" for a number) */
} SettingValue;

/* X(key, type, RunConfig field, default (a SettingValue initializer), check, help) */
#define RUN_SETTINGS(X)                                                                              \
    X(task, ST_NAME, task, .s = "adding", TASK_CHECK, "the task (rnnbench list tasks)")               \
    X(delay, ST_INT_POSITIVE, task_params.delay, .i = 100, NO_CHECK, "the task's delay or length T")  \
    X(n_classes, ST_INT, task_params.n_classes, .i = 4, NO_CHECK, "recall: the number of classes K") \
    X(form, ST_FORM, task_params.form, .i = 0, NO_CHECK,                                             \
      "adding: modern or 1997; temporal-order: 6a or 6b")                                            \
    X(n_symbols, ST_INT, task_params.n_symbols, .i = 10, NO_CHECK, "copy: symbols S; *-stream: segments") \
    X(alphabet, ST_INT, task_params.alphabet, .i = 8, NO_CHECK, "copy: alphabet size A")             \
    X(cell, ST_NAME, cell, .s = "lstm", CELL_CHECK, "the cell (rnnbench list cells), with +ablations") \
    X(hidden, ST_INT, hidden, .i = 32, RANGE(1, CONFIG_MAX_HIDDEN), "hidden units")                   \
    X(batch, ST_INT, batch, .i = 32, RANGE(1, 1000000), "sequences per batch")                       \
    X(steps, ST_LONG, steps, .i = 1000, RANGE(1, CONFIG_MAX_STEPS), "training steps")                \
    X(optimizer, ST_OPTIMIZER, optimizer, .i = OPT_ADAM, NO_CHECK, "adam or sgd")                    \
    X(lr, ST_NUM, lr, .x = 1e-2, POSITIVE, "learning rate")                                          \
    X(momentum, ST_NUM, momentum, .x = 0, UNIT, "SGD momentum (0: plain SGD)")                       \
    X(nesterov, ST_BOOL, nesterov, .i = 0, NO_CHECK, "SGD: Nesterov's momentum")                     \
    X(beta1, ST_NUM, beta1, .x = 0.9, UNIT, "Adam's beta1")                                          \
    X(beta2, ST_NUM, beta2, .x = 0.999, UNIT, "Adam's beta2")                                        \
    X(adam_eps, ST_NUM, adam_eps, .x = 1e-8, POSITIVE, "Adam's epsilon")                             \
    X(clip, ST_NUM, clip, .x = 1.0, CLIP_CHECK, "clip the gradient to this global norm (0: off)")   \
    X(init_scale, ST_NUM, init_scale, .x = 0, NONNEGATIVE, "weights uniform in (-s, s); 0: 1/sqrt(hidden)") \
    X(forget_bias, ST_FORGET, forget_bias, .x = 1.0, FINITE, "initial LSTM forget-gate bias, or chrono") \
    X(input_noise, ST_NUM, input_noise, .x = 0, NONNEGATIVE, "std of Gaussian noise on training inputs") \
    X(eval_every, ST_INT, eval_every, .i = 100, AT_LEAST(1), "steps between evaluations")           \
    X(eval_size, ST_INT, eval_size, .i = 256, RANGE(1, 1000000), "sequences in the held-out set")    \
    X(stop_when_solved, ST_BOOL, stop_when_solved, .i = 0, NO_CHECK, "stop at the first solved evaluation") \
    X(diverge_factor, ST_NUM, diverge_factor, .x = 10, DIVERGE_CHECK,                                \
      "diverged past this x the initial loss (0: NaN/Inf only)")

/* settings added after the run ids were fixed: written only when not at their default */
#define ADDED_SETTINGS(X)                                                                            \
    X(lr_scale_momentum, ST_BOOL, lr_scale_momentum, .i = 0, NO_CHECK,                               \
      "SGD: step with lr x (1 - momentum), the form of Greff et al. 2015")                          \
    X(patience, ST_INT, patience, .i = 0, AT_LEAST(0),                                               \
      "stop after this many evaluations without a better eval loss (0: off)")                        \
    X(max_epochs, ST_INT, max_epochs, .i = 0, AT_LEAST(0),                                           \
      "data-set tasks: stop after this many epochs of the train split (0: steps alone)")            \
    X(sum_over_time, ST_BOOL, sum_over_time, .i = 0, NO_CHECK,                                       \
      "train on the loss summed over each sequence's steps, as Greff et al.'s code")                \
    X(params, ST_INT, params, .i = 0, AT_LEAST(0),                                                   \
      "experiment files only: the hidden size whose parameter count is closest to N (0: off)")      \
    X(layers, ST_INT, layers, .i = 1, RANGE(1, MODEL_MAX_LAYERS),                                    \
      "stacked layers of the cell, each reading h of the one below (the readout reads the top)")

#define SETTING_INDEX(key, ...) SETTING_##key,
enum { RUN_SETTINGS(SETTING_INDEX) ADDED_SETTINGS(SETTING_INDEX) N_SETTINGS };
#undef SETTING_INDEX

typedef struct {
    const char *key;     /* in a [grid] section; `train` takes it as --key with '-' for '_' */
    SettingType type;
    size_t offset, size; /* of the field in RunConfig */
    SettingValue def;
    SettingCheck check;
    const char *help;    /* one line of `rnnbench train --help` */
    int added;           /* 1: of ADDED_SETTINGS, left out of the id and attributes at its default */
} SettingSpec;

extern const SettingSpec SETTINGS[N_SETTINGS];

/* where a value comes from: the wording and the integer ranges differ */
typedef enum { FROM_FILE, FROM_COMMAND_LINE } SettingSource;

/* the index of the setting named key[0..n), or -1 */
int setting_find(const char *key, size_t n);
/* 1 for the settings that are TaskParams fields (the task's check judges them) */
int setting_is_task_param(int k);
/* 1 for the settings whose values are integers (drawn values are rounded) */
int setting_is_integer(int k);
/* 1 for the settings a loguniform/uniform distribution can draw */
int setting_is_numeric(int k);
/* the integers setting k reads from source */
void setting_int_range(int k, SettingSource source, long *lo, long *hi);

/* one value of setting k from text (trimmed); 1, or 0 with the reason (no
   key in front) in why: "expected sgd or adam, got 'sdg'" */
int setting_parse(int k, SettingSource source, const char *text, SettingValue *v, char *why, size_t n);
/* setting k of c to v, and back */
void setting_set(RunConfig *c, int k, const SettingValue *v);
void setting_get(const RunConfig *c, int k, SettingValue *v);
/* v as the canonical text writes it (after "key=") */
void setting_format(int k, const SettingValue *v, char *out, size_t n);

/* 1 when setting k is written in c's canonical text and attributes: every
   setting of RUN_SETTINGS, and an added one when not at its default */
int setting_is_recorded(const RunConfig *c, int k);

/* every setting of c at its default */
void settings_default(RunConfig *c);
/* the ranges of every setting: 0, or -1 with "key: reason" in err */
int settings_check(const RunConfig *c, char *err, size_t n);
/* the setting a config_check error "key: reason" is about: key, or for
   "task: ..." the first task parameter the reason names among those
   given[k] != 0; -1 when key is no setting */
int settings_blamed(const char *err, const int *given);
/* a form given as a word belongs to one task: 1, or 0 with the reason in why */
int settings_form_word_fits(const char *word, const char *task, char *why, size_t n);

#endif
