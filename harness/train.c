/* train.c: one training run. Data: fresh training batches from the run's
   "train" stream; a held-out evaluation set drawn once from an "eval" stream
   that depends only on the task's parameters, so every run on the same task
   and delay is scored on the same sequences. A data-set task (task.h,
   held_out) is scored instead on its valid split at each evaluation and on
   its test split at each new best validation loss. Each step: forward, loss,
   backward through time, global-norm clipping, update. A non-finite loss or
   gradient norm ends the run as "diverged". Every buffer is allocated before
   the first step. */
#include "train.h"
#include "metrics.h"
#include "optim.h"
#include "util.h"
#include "../cells/gemm.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVAL_CHUNK 32 /* sequences per evaluation batch, fixed so the eval set never depends on `batch` */

typedef struct {
    int n_chunks;
    int *T, *B;             /* per chunk */
    real **x, **target, **mask;
} EvalSet;

static void eval_free(EvalSet *e) {
    for (int c = 0; c < e->n_chunks; c++) {
        if (e->x) free(e->x[c]);
        if (e->target) free(e->target[c]);
        if (e->mask) free(e->mask[c]);
    }
    free(e->x); free(e->target); free(e->mask); free(e->T); free(e->B);
    memset(e, 0, sizeof *e);
}

static uint64_t eval_seed(const RunConfig *cfg) {
    const TaskParams *p = &cfg->task_params;
    char text[256];
    snprintf(text, sizeof text, "eval task=%s delay=%d n_classes=%d form=%d n_symbols=%d alphabet=%d",
             cfg->task, p->delay, p->n_classes, p->form, p->n_symbols, p->alphabet);
    return hash_bytes(text, strlen(text), 0);
}

/* room for n_seqs sequences in chunks of EVAL_CHUNK: chunk c gets B[c]
   sequences of up to max_len steps; -1 when out of memory */
static int eval_alloc(EvalSet *e, int n_seqs, const TaskShape *s) {
    memset(e, 0, sizeof *e);
    int n = (n_seqs + EVAL_CHUNK - 1) / EVAL_CHUNK;
    e->n_chunks = n;
    e->T = calloc(n, sizeof(int));
    e->B = calloc(n, sizeof(int));
    e->x = calloc(n, sizeof(real *));
    e->target = calloc(n, sizeof(real *));
    e->mask = calloc(n, sizeof(real *));
    if (!e->T || !e->B || !e->x || !e->target || !e->mask) return -1;
    for (int c = 0; c < n; c++) {
        int B = n_seqs - c * EVAL_CHUNK;
        if (B > EVAL_CHUNK) B = EVAL_CHUNK;
        size_t TB = (size_t)s->max_len * B;
        e->B[c] = B;
        e->x[c] = malloc(TB * s->X * sizeof(real));
        e->target[c] = malloc(TB * s->Y * sizeof(real));
        e->mask[c] = malloc(TB * sizeof(real));
        if (!e->x[c] || !e->target[c] || !e->mask[c]) return -1;
    }
    return 0;
}

static int eval_make(const Task *task, const RunConfig *cfg, const TaskShape *s, EvalSet *e) {
    if (eval_alloc(e, cfg->eval_size, s) != 0) return -1;
    Rng rng;
    rng_seed(&rng, eval_seed(cfg));
    for (int c = 0; c < e->n_chunks; c++)
        e->T[c] = task->generate(&cfg->task_params, &rng, e->B[c], e->x[c], e->target[c], e->mask[c]);
    return 0;
}

/* split `which` of a data-set task, in chunks of EVAL_CHUNK sequences in
   the file's order */
static int held_out_make(const Task *task, const RunConfig *cfg, const TaskShape *s, HeldOutSplit which,
                         EvalSet *e) {
    if (eval_alloc(e, task->held_out->n_sequences(&cfg->task_params, which), s) != 0) return -1;
    for (int c = 0; c < e->n_chunks; c++)
        e->T[c] = task->held_out->batch(&cfg->task_params, which, c * EVAL_CHUNK, e->B[c], e->x[c],
                                         e->target[c], e->mask[c]);
    return 0;
}

void run_result_free(RunResult *r) { metrics_free(r); }

TrainGradient train_gradient(const RunConfig *cfg, const Model *m, ModelWork *w, const real *params,
                             real *grads, real *x, const real *target, const real *mask, int T,
                             Rng *rng_noise) {
    if (cfg->input_noise > 0)
        for (size_t k = 0; k < (size_t)T * cfg->batch * m->cell.X; k++)
            x[k] += (real)(cfg->input_noise * rng_normal(rng_noise));
    model_work_use(w, T, cfg->batch);
    model_zero_state(m, w);
    memset(grads, 0, m->n_params * sizeof(real));
    TrainGradient g;
    g.loss = model_forward(m, params, x, target, mask, w);
    model_backward(m, params, x, w, grads, NULL, NULL);
    if (cfg->sum_over_time) {
        /* the loss is a mean over the batch's unmasked steps; summed over
           each sequence's steps and averaged over sequences it is that
           many steps per sequence larger (Greff et al.'s PyLSTM sums over
           time, so its learning rates assume gradients this size) */
        double rows = 0;
        for (size_t r = 0; r < (size_t)T * cfg->batch; r++) rows += mask[r];
        grad_scale(grads, m->n_params, rows / cfg->batch);
    }
    g.norm = grad_norm(grads, m->n_params);
    return g;
}

void train_apply(const RunConfig *cfg, Optimizer *opt, real *params, real *grads, double norm) {
    if (cfg->clip > 0 && norm > cfg->clip) grad_scale(grads, opt->n, cfg->clip / norm);
    optim_step(opt, params, grads);
}

static int fail(RunResult *r, const char *why) {
    snprintf(r->status, sizeof r->status, "failed");
    snprintf(r->error, sizeof r->error, "%s", why);
    return -1;
}

typedef struct {
    const RunConfig *cfg;
    const Task *task;
    Model *m;
    ModelWork *w;
    real *params, *scratch_grads;
    real *flow_h, *flow_c; /* (max_len) backward's gradient flow, before it is stored as floats */
    EvalSet *eval;
    EvalSet *test;         /* a data-set task's test split; NULL for a generated task */
    RunResult *r;
} Ctx;

/* the loss of a whole set (forward only), the mean over its masked rows
   as evaluate() takes it */
static double set_loss(Ctx *cx, const EvalSet *e) {
    double loss_sum = 0, rows_sum = 0;
    for (int c = 0; c < e->n_chunks; c++) {
        int T = e->T[c], B = e->B[c];
        model_work_use(cx->w, T, B);
        model_zero_state(cx->m, cx->w);
        double loss = model_forward(cx->m, cx->params, e->x[c], e->target[c], e->mask[c], cx->w);
        double rows = 0;
        for (size_t q = 0; q < (size_t)T * B; q++) rows += e->mask[c][q];
        loss_sum += loss * rows;
        rows_sum += rows;
    }
    return rows_sum > 0 ? loss_sum / rows_sum : 0;
}

/* Scores the held-out set; on chunk 0 also measures the gradient flow and
   the mean gate activations. Returns the eval loss. */
static double evaluate(Ctx *cx, long step) {
    RunResult *r = cx->r;
    const Model *m = cx->m;
    ModelWork *w = cx->w;
    EvalSet *e = cx->eval;
    double loss_sum = 0, rows_sum = 0;
    long correct = 0, total = 0;
    int k = r->n_evals;
    for (int c = 0; c < e->n_chunks; c++) {
        int T = e->T[c], B = e->B[c];
        model_work_use(w, T, B);
        model_zero_state(m, w);
        double loss = model_forward(m, cx->params, e->x[c], e->target[c], e->mask[c], w);
        double rows = 0;
        for (size_t q = 0; q < (size_t)T * B; q++) rows += e->mask[c][q];
        loss_sum += loss * rows;
        rows_sum += rows;
        cx->task->count(&cx->cfg->task_params, T, B, w->y, e->target[c], e->mask[c], &correct, &total);
        if (c == 0) {
            /* gate means from this forward pass (before backward writes its
               gradients over act), over every layer of a stack: gate g is
               block g of an act row in each layer */
            if (r->n_gates > 0) {
                for (int g = 0; g < r->n_gates; g++) {
                    double s = 0;
                    for (int l = 0; l < m->L; l++) {
                        const int G = m->layer[l].n_blocks, H = m->layer[l].H;
                        for (size_t row = 0; row < (size_t)T * B; row++)
                            for (int j = 0; j < H; j++) s += w->cc[l].act[row * G * H + (size_t)g * H + j];
                    }
                    r->gate_mean[(size_t)k * RUN_MAX_GATES + g] = (float)(s / ((double)T * B * m->cell.H * m->L));
                }
            }
            memset(cx->scratch_grads, 0, m->n_params * sizeof(real));
            model_backward(m, cx->params, e->x[c], w, cx->scratch_grads, cx->flow_h, cx->flow_c);
            /* (layer, t) rows of flow_T, bottom layer first */
            const size_t per_eval = (size_t)m->L * r->flow_T;
            for (size_t q = 0; q < per_eval; q++) {
                r->flow_h[(size_t)k * per_eval + q] = (float)cx->flow_h[q];
                r->flow_c[(size_t)k * per_eval + q] = (float)cx->flow_c[q];
            }
        }
    }
    double loss = rows_sum > 0 ? loss_sum / rows_sum : 0;
    double acc = total > 0 ? (double)correct / total : 0;
    r->eval_step[k] = step;
    r->eval_loss[k] = loss;
    r->eval_accuracy[k] = acc;
    r->n_evals = k + 1;
    if (!r->solved && isfinite(loss) && cx->task->solved(&cx->cfg->task_params, loss, acc)) {
        r->solved = 1;
        r->steps_to_solve = step;
    }
    if (isfinite(loss) && (loss < r->best_eval_loss || isnan(r->best_eval_loss))) {
        r->best_eval_loss = loss;
        if (cx->test) {
            r->test_loss = set_loss(cx, cx->test);
            r->test_step = step;
        }
    }
    r->final_loss = loss;
    r->final_accuracy = acc;
    return loss;
}

/* The cells hand the T*B rows of a batch to the matrix products as an int:
   refused past INT_MAX rather than wrapped. (Such a batch needs tens of GB
   at the smallest sizes, so it is refused before anything is allocated.) */
static int rows_overflow(const TaskShape *s, int B, char *err, size_t err_len) {
    long long rows = (long long)s->max_len * B;
    if (rows <= INT_MAX) return 0;
    snprintf(err, err_len,
             "batch %d of sequences up to %d steps long is %lld rows, more than the %d the matrix "
             "products can index: lower batch or delay",
             B, s->max_len, rows, INT_MAX);
    return -1;
}

int train_run(const RunConfig *cfg, RunResult *r, const volatile sig_atomic_t *cancel) {
    return train_run_watched(cfg, r, cancel, NULL);
}

int train_run_watched(const RunConfig *cfg, RunResult *r, const volatile sig_atomic_t *cancel,
                      TrainWatch *watch) {
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    metrics_reset(r);
    double t_start = now_s();
    gemm_single_thread();

    char err[256];
    const Task *task = task_find(cfg->task);
    if (!task) return fail(r, "unknown task");
    if (task->check(&cfg->task_params, err, sizeof err)) return fail(r, err);
    if (cfg->max_epochs > 0 && !task->held_out) {
        snprintf(err, sizeof err, "max_epochs: %s generates its sequences and has no epochs (a data-set "
                 "task such as jsb has); use steps", task->name);
        return fail(r, err);
    }
    TaskShape s;
    task->shape(&cfg->task_params, &s);
    r->T = s.max_len;
    r->X = s.X;
    r->Y = s.Y;
    r->baseline = task->baseline(&cfg->task_params);
    snprintf(r->loss_kind, sizeof r->loss_kind, "%s", loss_name(s.loss));
    /* a batch is as wide as the largest of training's and evaluation's */
    int B_eval = task->held_out ? EVAL_CHUNK : cfg->eval_size < EVAL_CHUNK ? cfg->eval_size : EVAL_CHUNK;
    int B_alloc = cfg->batch > B_eval ? cfg->batch : B_eval;
    if (rows_overflow(&s, B_alloc, err, sizeof err)) return fail(r, err);

    Model m;
    if (model_make_stack(&m, cfg->cell, s.X, cfg->hidden, cfg->layers, s.Y, s.loss, err, sizeof err))
        return fail(r, err);
    snprintf(r->cell_name, sizeof r->cell_name, "%s", m.cell.name);
    r->cell = m.cell;
    r->flow_layers = m.L;
    r->n_params = model_param_count(&m); /* the count: cwrnn's zero blocks are none */
    r->n_tensors = m.n_tensors;
    for (int i = 0; i < m.n_tensors; i++) snprintf(r->tensor_names[i], 24, "%s", m.tensors[i].name);
    r->n_gates = m.cell.n_gates;
    memcpy(r->gate_names, m.cell.gate_names, sizeof r->gate_names);

    /* every buffer of the run, before the first step */
    size_t n = m.n_params, TBmax = (size_t)s.max_len * cfg->batch;
    const size_t n_state = optim_state_reals(cfg, n), n_flow = 2 * (size_t)m.L * s.max_len;
    /* params | grads | scratch grads | optimizer state | flow_h | flow_c: the
       flow is as long as the sequence, so it never goes on a thread's stack */
    real *arena = malloc((3 * n + n_state + n_flow) * sizeof(real));
    real *x = malloc(TBmax * s.X * sizeof(real));
    real *target = malloc(TBmax * s.Y * sizeof(real));
    real *mask = malloc(TBmax * sizeof(real));
    ModelWork w = {0};
    EvalSet eval = {0}, test = {0};
    long n_evals_max = cfg->steps / cfg->eval_every + 2;
    int ok = arena && x && target && mask && model_work_alloc(&m, s.max_len, B_alloc, &w) == 0;
    if (ok && task->held_out) {
        if (held_out_make(task, cfg, &s, HELD_OUT_VALID, &eval) != 0 ||
            held_out_make(task, cfg, &s, HELD_OUT_TEST, &test) != 0)
            ok = 0;
    } else if (ok && eval_make(task, cfg, &s, &eval) != 0) {
        ok = 0;
    }
    if (ok) {
        r->flow_T = eval.T[0];
        if (metrics_alloc(r, cfg->steps, n_evals_max) != 0) ok = 0;
    }
    if (!ok) {
        free(arena); free(x); free(target); free(mask);
        if (w.block) model_work_free(&w);
        eval_free(&eval);
        eval_free(&test);
        run_result_free(r);
        snprintf(err, sizeof err,
                 "out of memory (T=%d, batch=%d, hidden=%d, steps=%ld: activation cache %.1f MB, "
                 "parameters and optimizer %.1f MB, curves %.1f MB)",
                 s.max_len, B_alloc, cfg->hidden, cfg->steps, model_work_size(&m, s.max_len, B_alloc) / 1e6,
                 (3.0 * n + n_state) * sizeof(real) / 1e6, metrics_bytes(r, cfg->steps, n_evals_max) / 1e6);
        return fail(r, err);
    }
    r->cache_bytes = (long long)model_work_size(&m, s.max_len, B_alloc);
    w.no_dx = 1; /* nothing below the bottom layer to pass dL/dx to */
    real *params = arena, *grads = arena + n, *scratch = arena + 2 * n;
    Optimizer opt;
    optim_init(&opt, cfg, n, arena + 3 * n);

    Rng rng_init, rng_train, rng_noise;
    rng_stream(&rng_init, cfg->seed, "init");
    rng_stream(&rng_train, cfg->seed, "train");
    rng_stream(&rng_noise, cfg->seed, "noise");
    const CellInit init = {cfg->forget_chrono ? NAN : cfg->forget_bias, cfg->forget_chrono ? s.max_len : 0};
    model_init_cell(&m, params, &rng_init, cfg->init_scale, &init);

    real *flow_h = arena + 3 * n + n_state, *flow_c = flow_h + (size_t)m.L * s.max_len;
    Ctx cx = {cfg, task, &m, &w, params, scratch, flow_h, flow_c, &eval, task->held_out ? &test : NULL, r};
    snprintf(r->status, sizeof r->status, "done");
    evaluate(&cx, 0);
    /* the last step: the budget, or max_epochs passes over the train split
       (an epoch: as many sequences drawn as the split holds) */
    long last_step = cfg->steps;
    if (cfg->max_epochs > 0) {
        long per_epoch = (task->held_out->n_train(&cfg->task_params) + cfg->batch - 1) / cfg->batch;
        if ((long)cfg->max_epochs * per_epoch < last_step) last_step = (long)cfg->max_epochs * per_epoch;
    }
    int evals_since_best = 0;
    long step;
    int cancelled = 0;
    if (watch) {
        watch->step = 0;
        watch->loss = NAN;
        watch->last_step = last_step;
        watch->started = now_s();
    }
    for (step = 1; step <= last_step; step++) {
        if (cancel && *cancel) {
            cancelled = 1;
            snprintf(r->status, sizeof r->status, "cancelled");
            break;
        }
        int T = task->generate(&cfg->task_params, &rng_train, cfg->batch, x, target, mask);
        TrainGradient g = train_gradient(cfg, &m, &w, params, grads, x, target, mask, T, &rng_noise);
        double loss = g.loss, norm = g.norm;
        long k = step - 1;
        r->train_loss[k] = (float)loss;
        r->grad_norm[k] = (float)norm;
        for (int i = 0; i < m.n_tensors; i++) {
            const ParamTensor *t = &m.tensors[i];
            r->tensor_norm[k * m.n_tensors + i] =
                (float)grad_norm(grads + t->offset, (size_t)t->rows * t->cols);
        }
        r->steps_done = step;
        if (watch) {
            watch->loss = loss;
            watch->step = step;
        }
        if (!isfinite(loss) || !isfinite(norm)) {
            snprintf(r->status, sizeof r->status, "diverged");
            snprintf(r->diverged_reason, sizeof r->diverged_reason, "non-finite %s",
                     isfinite(loss) ? "gradient" : "loss");
            r->diverged_step = step;
            break;
        }
        train_apply(cfg, &opt, params, grads, norm);
        if (step % cfg->eval_every == 0 || step == last_step) {
            double best_before = r->best_eval_loss;
            double el = evaluate(&cx, step);
            /* a loss far above the untrained model's has blown up, even when
               it stays finite (a softmax's gradient is bounded) */
            int blown = cfg->diverge_factor > 0 && el > cfg->diverge_factor * r->eval_loss[0];
            if (!isfinite(el) || blown) {
                snprintf(r->status, sizeof r->status, "diverged");
                if (blown)
                    snprintf(r->diverged_reason, sizeof r->diverged_reason,
                             "eval loss above %g x its initial value", cfg->diverge_factor);
                else
                    snprintf(r->diverged_reason, sizeof r->diverged_reason, "non-finite eval loss");
                r->diverged_step = step;
                break;
            }
            if (cfg->stop_when_solved && r->solved) break;
            /* early stopping: patience evaluations in a row without a new best */
            evals_since_best = r->best_eval_loss == best_before ? evals_since_best + 1 : 0;
            if (cfg->patience > 0 && evals_since_best >= cfg->patience) break;
        }
    }
    r->wall_s = now_s() - t_start;
    r->peak_rss_bytes = peak_rss_bytes();
    free(arena); free(x); free(target); free(mask);
    model_work_free(&w);
    eval_free(&eval);
    eval_free(&test);
    return cancelled ? 1 : 0;
}
