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

int config_check(const RunConfig *c, char *err, size_t n) { return settings_check(c, err, n); }

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
