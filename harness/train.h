/* train.h: one training run, from a RunConfig to its records in memory.
   A run owns everything it touches (model, data streams, buffers), so any
   number run in parallel; it is single-threaded and deterministic in its
   seed. Writing the records is run_record.c's and metrics.c's job, not
   this file's. */
#ifndef RNNBENCH_TRAIN_H
#define RNNBENCH_TRAIN_H

#include "config.h"
#include "optim.h"
#include "../cells/model.h"
#include "../cells/rng.h"

#define RUN_MAX_GATES CELL_MAX_GATES

typedef struct {
    RunConfig cfg;
    char status[16];          /* "done", "diverged" or "failed" */
    char error[256];          /* why, when failed */
    /* what was built */
    char cell_name[64];       /* canonical */
    Cell cell;                /* its kind, flags and layout (ops NULL when it could not be built) */
    long n_params;
    int T, X, Y;              /* longest sequence, input and output sizes */
    char loss_kind[8];
    double baseline;          /* the task's trivial loss (NAN when none) */
    long long cache_bytes;    /* the activation cache + scratch of one forward/backward
                                 (model_work_size): the part of memory that grows with T */
    /* The metrics: each curve and outcome below is a line of the table in
       metrics.c, which allocates, writes, reads back and frees it. */
    /* per training step (steps_done entries) */
    long steps_done;
    float *train_loss;
    float *grad_norm;         /* global norm before clipping */
    int n_tensors;
    char tensor_names[MODEL_MAX_TENSORS][24];
    float *tensor_norm;       /* (steps_done, n_tensors) */
    /* per evaluation */
    int n_evals;
    long *eval_step;
    double *eval_loss, *eval_accuracy;
    int flow_T;               /* steps of the sequence the gradient flow is measured on */
    int flow_layers;          /* layers of the stack, each with its own flow */
    float *flow_h, *flow_c;   /* (n_evals, flow_layers, flow_T) mean over the batch of
                                 ||dL/dh_t||, ||dL/dc_t||, bottom layer first */
    int n_gates;
    char gate_names[RUN_MAX_GATES][4];
    float *gate_mean;         /* (n_evals, n_gates) mean activation of each gate block */
    /* outcome */
    double final_loss, final_accuracy, best_eval_loss;
    double test_loss;         /* data-set tasks: the test split's loss at the best evaluation */
    long test_step;           /* the step of that evaluation (-1 before any) */
    int solved;
    long steps_to_solve;      /* first evaluation step that met the criterion, -1 if none */
    long diverged_step;       /* -1 if not diverged */
    char diverged_reason[64]; /* why, when diverged */
    double wall_s;
    long long peak_rss_bytes; /* the process's resident high-water mark when the run ended
                                 (Linux VmHWM; with -j > 1 it covers the runs in flight too) */
} RunResult;

#include <signal.h>

/* Trains one run. Returns 0 when it ran (done or diverged), -1 when it could
   not (res->status "failed", res->error says why), 1 when *cancel became
   non-zero during it (status "cancelled"; nothing of it should be kept).
   cancel may be NULL. */
int train_run(const RunConfig *cfg, RunResult *res, const volatile sig_atomic_t *cancel);

/* A run in flight as a progress display sees it: the training thread
   stores, any other thread loads (C11 atomics, no lock, no torn value). */
typedef struct {
    _Atomic long step;      /* training steps done */
    _Atomic long last_step; /* the run's budget: steps, or fewer by max_epochs (0 before it starts) */
    _Atomic double loss;    /* the training loss of the last step */
    _Atomic double started; /* now_s() when its first step began (0 before) */
} TrainWatch;
/* train_run, publishing its progress into watch (may be NULL) */
int train_run_watched(const RunConfig *cfg, RunResult *res, const volatile sig_atomic_t *cancel,
                      TrainWatch *watch);
void run_result_free(RunResult *res);

/* The two halves of one update, as train_run makes it (and `trace
   --updates` replays it, to be checked against PyTorch's optimisers):
   train_gradient adds the Gaussian input noise of cfg (std input_noise,
   drawn from rng_noise) to x in place, then runs forward and backward from a
   zero state on the first T steps, overwriting grads (scaled to the loss
   summed over each sequence's steps with cfg->sum_over_time; the loss
   returned stays the per-step mean); train_apply clips the
   gradient to cfg->clip by its global norm and takes the optimiser's step.
   The caller checks loss and norm for NaN/Inf in between. */
typedef struct {
    double loss, norm;
} TrainGradient;
TrainGradient train_gradient(const RunConfig *cfg, const Model *m, ModelWork *w, const real *params,
                             real *grads, real *x, const real *target, const real *mask, int T,
                             Rng *rng_noise);
void train_apply(const RunConfig *cfg, Optimizer *opt, real *params, real *grads, double norm);

#endif
