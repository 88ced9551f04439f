/* config.c: defaults, canonical text, derived seed/id and range checks of a
   RunConfig; each setting's part of them comes from its line in settings.h. */
#include "config.h"
#include "settings.h"
#include "../cells/model.h"

#include <stdio.h>
#include <string.h>

void config_default(RunConfig *c) {
    memset(c, 0, sizeof *c);
    settings_default(c);
    c->experiment_seed = 1;
    c->seed_index = 0;
    c->trial = -1;
    snprintf(c->section, sizeof c->section, "grid");
}

const char *optimizer_name(OptimizerKind k) { return k == OPT_ADAM ? "adam" : "sgd"; }

/* "key=value" of every setting in table order, then the run's place in its
   section: the text (hence the id and seed) of every run is pinned by
   tests/test_settings.c */
void config_canonical(const RunConfig *c, char *out, size_t n) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < N_SETTINGS && len < n; k++) {
        if (!setting_is_recorded(c, k)) continue;
        SettingValue v;
        char text[96];
        setting_get(c, k, &v);
        setting_format(k, &v, text, sizeof text);
        len += (size_t)snprintf(out + len, n - len, "%s%s=%s", k ? " " : "", SETTINGS[k].key, text);
    }
    if (len < n) snprintf(out + len, n - len, " trial=%d seed_index=%d", c->trial, c->seed_index);
}

void config_finalize(RunConfig *c) {
    char text[1024];
    config_canonical(c, text, sizeof text);
    uint64_t h = hash_bytes(text, strlen(text), c->experiment_seed);
    snprintf(c->id, sizeof c->id, "%016llx", (unsigned long long)h);
    c->seed = hash_bytes("seed", 4, h);
}

/* an unresolved budget reaches here only from `train` (the grid resolves
   it before its check): that run would have been trained at the default
   hidden size, so it is refused rather than ignored */
int config_check(const RunConfig *c, char *err, size_t n) {
    if (settings_check(c, err, n) != 0) return -1;
    if (c->params) {
        snprintf(err, n, "params: a parameter budget chooses hidden in an experiment file's [grid] only; "
                 "give the hidden size here");
        return -1;
    }
    return 0;
}

long config_count_params(const RunConfig *c, int H) {
    const Task *task = task_find(c->task);
    if (!task) return 0;
    TaskShape s = {0};
    task->shape(&c->task_params, &s);
    Model m;
    char why[256];
    if (model_make_stack(&m, c->cell, s.X, H, c->layers, s.Y, s.loss, why, sizeof why) != 0) return 0;
    return model_param_count(&m); /* cwrnn's zero blocks are no parameters */
}

int config_resolve_params(RunConfig *c, char *err, size_t n) {
    if (!c->params) return 0;
    long want = c->params, fewest = 0, most = 0;
    int best = 0, lo = 0, hi = 0;
    long best_gap = 0;
    /* the hidden sizes the cell builds at, upwards (a cell may skip sizes:
       cwrnn's modules must divide H); the counts grow with H, so once a count
       is past N and further from it than the best, every later one is too */
    int past = 0;
    for (int H = 1; H <= CONFIG_MAX_HIDDEN && !past; H++) {
        long count = config_count_params(c, H);
        if (!count) continue;
        if (!lo) lo = H, fewest = count;
        hi = H, most = count;
        long gap = count > want ? count - want : want - count;
        if (!best || gap < best_gap) best = H, best_gap = gap;
        else past = count > want;
    }
    if (!best) {
        snprintf(err, n, "params: cell '%s' builds at no hidden size from 1 to %d", c->cell, CONFIG_MAX_HIDDEN);
        return -1;
    }
    if (want < fewest || (!past && want > most)) {
        for (hi = CONFIG_MAX_HIDDEN; hi > lo && !config_count_params(c, hi); hi--) {}
        most = config_count_params(c, hi);
        snprintf(err, n, "params: %ld is outside what %s can have on %s: %ld (hidden %d) to %ld (hidden %d)",
                 want, c->cell, c->task, fewest, lo, most, hi);
        return -1;
    }
    c->hidden = best;
    c->params_target = want;
    c->params = 0;
    return 0;
}

double config_cost(const RunConfig *c) {
    const Task *task = task_find(c->task);
    TaskShape s = {0};
    if (task) task->shape(&c->task_params, &s);
    /* the products of one step of one sequence, plus its gate math; a cell
       that does not build costs nothing */
    Model m;
    char why[256];
    double per_row = 0;
    if (model_make_stack(&m, c->cell, s.X > 0 ? s.X : 1, c->hidden > 0 ? c->hidden : 1, c->layers, 1, LOSS_MSE,
                         why, sizeof why) == 0)
        per_row = model_step_madds(&m) + 8.0 * m.cell.n_blocks * m.cell.H * m.L;
    return (double)c->steps * (s.max_len > 0 ? s.max_len : 1) * c->batch * per_row;
}
