/* config.h: one fully resolved training run, the unit the grid runner
   schedules and the results file records. Every field has a default
   (config_default) so that an experiment file or `rnnbench train` only says
   what differs. Each setting's default, range, key, option, place in the
   canonical text and HDF5 attribute is its line in settings.h. Not here:
   parsing (grid_*.c, train_cli.c). */
#ifndef RNNBENCH_CONFIG_H
#define RNNBENCH_CONFIG_H

#include <stdint.h>
#include "task.h"

typedef enum { OPT_SGD, OPT_ADAM } OptimizerKind;

/* ranges config_check enforces, each the largest that tests/test_limits.py
   runs: a hidden size of 1024 holds 14 M weights in lstm-peep+fgr (13 H^2),
   0.6 GB with gradients and Adam's state in double (2048: 2.3 GB a run,
   16384: 150 GB); a step budget whose per-step curves (a few floats per
   step and tensor) stay in memory */
#define CONFIG_MAX_HIDDEN 1024
#define CONFIG_MAX_STEPS 100000000L

typedef struct {
    /* what is trained on what */
    char task[32];
    TaskParams task_params;       /* delay, n_classes, form, n_symbols, alphabet */
    char cell[64];                /* as given (model_make canonicalises it) */
    int hidden;
    /* training */
    int batch;
    long steps;                   /* step budget */
    OptimizerKind optimizer;
    double lr;
    double momentum;              /* sgd only; 0 = plain SGD */
    int nesterov;                 /* sgd only */
    double beta1, beta2, adam_eps;
    double clip;                  /* global-norm clipping; 0 = off */
    double init_scale;            /* uniform(-s, s); 0 = 1/sqrt(hidden) */
    double forget_bias;           /* LSTM forget-gate bias at init */
    int forget_chrono;            /* 1: chrono initialisation instead of forget_bias */
    double input_noise;           /* std of Gaussian noise added to training inputs */
    int lr_scale_momentum;        /* sgd: the step is lr x (1 - momentum) x the update */
    /* evaluation */
    int eval_every;               /* steps between evaluations (the last step is always evaluated) */
    int eval_size;                /* sequences in the held-out set */
    int stop_when_solved;
    double diverge_factor;        /* diverged also when an evaluation loss exceeds this many
                                     times the loss before training (0 = only NaN/Inf) */
    int patience;                 /* early stopping: evaluations without a new best (0 = off) */
    int max_epochs;               /* data-set tasks: passes over the train split (0 = off) */
    int sum_over_time;            /* the training gradient of the loss summed over each sequence's
                                     steps (mean over sequences) rather than averaged over them */
    int params;                   /* a parameter budget (readout included) the grid resolves into
                                     hidden (config_resolve_params); 0 in every resolved run */
    int layers;                   /* stacked layers of the cell (1: no stack) */
    long params_target;           /* the budget a resolved run's hidden was chosen for, 0 when none:
                                     recorded, but not part of its identity (experiments/README.md) */
    /* identity */
    uint64_t experiment_seed;     /* `seed` key of the experiment file */
    int seed_index;               /* 0 .. seeds-1 */
    int trial;                    /* random-search trial, -1 when none */
    uint64_t seed;                /* derived from experiment_seed and the parameters */
    char id[17];                  /* stable id: 16 hex digits of the parameter hash */
    char section[64];             /* name of the [grid] section it came from */
} RunConfig;

void config_default(RunConfig *c);

/* The canonical text of every parameter that defines the run (not the seed,
   id or section), e.g. "task=adding delay=100 ... seed_index=0". The id and
   the seed derive from it, so they never depend on a run's position. */
void config_canonical(const RunConfig *c, char *out, size_t n);
/* fills c->seed and c->id from config_canonical and experiment_seed */
void config_finalize(RunConfig *c);

/* Checks value ranges and that task and cell exist. 0, or -1 with a reason
   "key: message" in err. */
int config_check(const RunConfig *c, char *err, size_t n);

/* The parameter count (readout included) of c's cell at hidden size H on
   c's task, or 0 when the cell does not build at H (cwrnn's modules must
   divide H). */
long config_count_params(const RunConfig *c, int H);
/* A budget c->params > 0 into c->hidden: the H in [1, CONFIG_MAX_HIDDEN]
   whose count is closest to it (ties: the smaller H); then params_target =
   the budget and params = 0. A no-op when params is 0. 0, or -1 with
   "params: reason" in err (a budget outside the counts of the smallest and
   largest hidden size the cell builds at). Task and cell must be valid. */
int config_resolve_params(RunConfig *c, char *err, size_t n);

const char *optimizer_name(OptimizerKind k);

/* Estimated relative cost of a run (for longest-first scheduling). */
double config_cost(const RunConfig *c);

#endif
