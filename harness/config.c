/* config.c: defaults, canonical text, derived seed/id and range checks of a
   RunConfig. */
#include "config.h"
#include "../cells/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void config_default(RunConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->task, sizeof c->task, "adding");
    task_params_default(&c->task_params);
    snprintf(c->cell, sizeof c->cell, "lstm");
    c->hidden = 32;
    c->batch = 32;
    c->steps = 1000;
    c->optimizer = OPT_ADAM;
    c->lr = 1e-2;
    c->momentum = 0;
    c->nesterov = 0;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->clip = 1.0;
    c->init_scale = 0;
    c->forget_bias = 1.0;
    c->forget_chrono = 0;
    c->input_noise = 0;
    c->eval_every = 100;
    c->eval_size = 256;
    c->stop_when_solved = 0;
    c->diverge_factor = 10;
    c->experiment_seed = 1;
    c->seed_index = 0;
    c->trial = -1;
    snprintf(c->section, sizeof c->section, "grid");
}

const char *optimizer_name(OptimizerKind k) { return k == OPT_ADAM ? "adam" : "sgd"; }

void config_canonical(const RunConfig *c, char *out, size_t n) {
    const TaskParams *tp = &c->task_params;
    char fb[32];
    if (c->forget_chrono) snprintf(fb, sizeof fb, "chrono");
    else snprintf(fb, sizeof fb, "%.17g", c->forget_bias);
    /* %.17g round-trips a double exactly, so equal text means equal runs */
    snprintf(out, n,
             "task=%s delay=%d n_classes=%d form=%d n_symbols=%d alphabet=%d cell=%s hidden=%d "
             "batch=%d steps=%ld optimizer=%s lr=%.17g momentum=%.17g nesterov=%d beta1=%.17g "
             "beta2=%.17g adam_eps=%.17g clip=%.17g init_scale=%.17g forget_bias=%s "
             "input_noise=%.17g eval_every=%d eval_size=%d stop_when_solved=%d diverge_factor=%.17g "
             "trial=%d seed_index=%d",
             c->task, tp->delay, tp->n_classes, tp->form, tp->n_symbols, tp->alphabet, c->cell,
             c->hidden, c->batch, c->steps, optimizer_name(c->optimizer), c->lr, c->momentum,
             c->nesterov, c->beta1, c->beta2, c->adam_eps, c->clip, c->init_scale, fb,
             c->input_noise, c->eval_every, c->eval_size, c->stop_when_solved, c->diverge_factor,
             c->trial, c->seed_index);
}

void config_finalize(RunConfig *c) {
    char text[1024];
    config_canonical(c, text, sizeof text);
    uint64_t h = hash_bytes(text, strlen(text), c->experiment_seed);
    snprintf(c->id, sizeof c->id, "%016llx", (unsigned long long)h);
    c->seed = hash_bytes("seed", 4, h);
}

int config_check(const RunConfig *c, char *err, size_t n) {
    const Task *task = task_find(c->task);
    if (!task) {
        snprintf(err, n, "task: unknown task '%s' (try: rnnbench list tasks)", c->task);
        return -1;
    }
    char why[256];
    if (task->check(&c->task_params, why, sizeof why) != 0) {
        snprintf(err, n, "task: %s", why);
        return -1;
    }
#define REQUIRE(cond, ...) do { if (!(cond)) { snprintf(err, n, __VA_ARGS__); return -1; } } while (0)
    REQUIRE(c->hidden >= 1 && c->hidden <= CONFIG_MAX_HIDDEN, "hidden: must be between 1 and %d, got %d",
            CONFIG_MAX_HIDDEN, c->hidden);
    Cell cell;
    if (cell_make(&cell, c->cell, 1, c->hidden, why, sizeof why) != 0) {
        snprintf(err, n, "cell: %s", why);
        return -1;
    }
    REQUIRE(c->batch >= 1 && c->batch <= 1000000, "batch: must be between 1 and 1000000, got %d", c->batch);
    REQUIRE(c->steps >= 1 && c->steps <= CONFIG_MAX_STEPS, "steps: must be between 1 and %ld, got %ld",
            (long)CONFIG_MAX_STEPS, c->steps);
    REQUIRE(c->lr > 0 && isfinite(c->lr), "lr: must be > 0, got %g", c->lr);
    REQUIRE(c->momentum >= 0 && c->momentum < 1, "momentum: must be in [0, 1), got %g", c->momentum);
    REQUIRE(c->beta1 >= 0 && c->beta1 < 1, "beta1: must be in [0, 1), got %g", c->beta1);
    REQUIRE(c->beta2 >= 0 && c->beta2 < 1, "beta2: must be in [0, 1), got %g", c->beta2);
    REQUIRE(c->adam_eps > 0, "adam_eps: must be > 0, got %g", c->adam_eps);
    REQUIRE(c->clip >= 0 && isfinite(c->clip), "clip: must be >= 0 (0 = off), got %g", c->clip);
    REQUIRE(c->init_scale >= 0 && isfinite(c->init_scale), "init_scale: must be >= 0, got %g", c->init_scale);
    REQUIRE(isfinite(c->forget_bias), "forget_bias: must be finite, got %g", c->forget_bias);
    REQUIRE(c->input_noise >= 0 && isfinite(c->input_noise), "input_noise: must be >= 0, got %g", c->input_noise);
    REQUIRE(c->diverge_factor == 0 || (c->diverge_factor > 1 && isfinite(c->diverge_factor)),
            "diverge_factor: must be 0 (off) or > 1, got %g", c->diverge_factor);
    REQUIRE(c->eval_every >= 1, "eval_every: must be >= 1, got %d", c->eval_every);
    REQUIRE(c->eval_size >= 1 && c->eval_size <= 1000000, "eval_size: must be between 1 and 1000000, got %d", c->eval_size);
#undef REQUIRE
    return 0;
}

double config_cost(const RunConfig *c) {
    const Task *task = task_find(c->task);
    TaskShape s = {0};
    if (task) task->shape(&c->task_params, &s);
    /* the products of one step of one sequence, plus its gate math; a cell
       that does not build costs nothing */
    Cell cell;
    char why[256];
    double per_row = 0;
    if (cell_make(&cell, c->cell, s.X > 0 ? s.X : 1, c->hidden > 0 ? c->hidden : 1, why, sizeof why) == 0)
        per_row = cell_step_madds(&cell) + 8.0 * cell.n_blocks * cell.H;
    return (double)c->steps * (s.max_len > 0 ? s.max_len : 1) * c->batch * per_row;
}
