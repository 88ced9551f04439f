/* grid_expand.c: the sections of an experiment file -> the runs. Each
   [grid] section, in file order, becomes the Cartesian product of its lists
   (the first key listed varies slowest) x `trials` draws of its
   distributions x `seeds`; each run is config_default + the section's
   values, a parameter budget resolved into its hidden size
   (config_resolve_params), then config_check and config_finalize (id, seed). A run whose id
   an earlier section already produced is the same run, and is kept once.
   Not here: what a task or a cell accepts (config_check), nor the order the
   runs are executed in (runner.c). */
#include "grid_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* *n * b and *n + b that set *overflow (sticky) when the result is 2^64 or more */
static void mul_to(uint64_t *n, uint64_t b, int *overflow) {
    if (*n && b > UINT64_MAX / *n) *overflow = 1;
    *n *= b;
}

static void add_to(uint64_t *n, uint64_t b, int *overflow) {
    if (*n > UINT64_MAX - b) *overflow = 1;
    *n += b;
}

/* adds the runs of sec (before removing repeated ids) to *total */
static void count_runs(const Section *sec, uint64_t *total, int *overflow) {
    uint64_t n = (uint64_t)sec->seeds;
    mul_to(&n, (uint64_t)(sec->trials ? sec->trials : 1), overflow);
    for (int j = 0; j < sec->n_assignments; j++)
        if (sec->assignments[j].kind == V_LIST) mul_to(&n, (uint64_t)sec->assignments[j].n_values, overflow);
    add_to(total, n, overflow);
}

/* the line of a config_check error "key: reason": where the section set that
   key, or, for "task: ...", the task parameter the reason names first when
   the section set it (the task's check judges delay, form, ...); the section's
   header when the key was left at its default */
static int line_of_check_error(const Section *sec, const char *why) {
    int k = settings_blamed(why, sec->key_line);
    int line = k >= 0 ? sec->key_line[k] : 0;
    return line ? line : sec->line;
}

/* an index of the ids taken so far (open addressing on the id's bits) */
typedef struct {
    int *slot; /* 1 + index in runs, 0 when empty */
    size_t mask;
} IdSet;

/* 1 when runs[n] has the id of an earlier run, else adds it */
static int id_seen(IdSet *set, const RunConfig *runs, int n) {
    size_t i = (size_t)strtoull(runs[n].id, NULL, 16) & set->mask;
    for (; set->slot[i]; i = (i + 1) & set->mask)
        if (!strcmp(runs[set->slot[i] - 1].id, runs[n].id)) return 1;
    set->slot[i] = n + 1;
    return 0;
}

/* the distributions' draws of every trial at the point idx of the product:
   shared by every point, or (draws = per_point) the point's own, seeded by
   the canonical text of the point's list values, so that a default written
   out or a value added to a list changes no other point's draws */
static void draw_point(Parser *p, Section *sec, const int *idx, int n_trials) {
    char point[32] = "";
    if (sec->draws_per_point) {
        RunConfig c;
        config_default(&c);
        c.trial = -1;
        for (int j = 0; j < sec->n_assignments; j++)
            if (sec->assignments[j].kind == V_LIST)
                setting_set(&c, sec->assignments[j].key, &sec->assignments[j].values[idx[j]]);
        char text[1024];
        config_canonical(&c, text, sizeof text);
        snprintf(point, sizeof point, "%016llx", (unsigned long long)hash_bytes(text, strlen(text), 0));
    }
    for (int j = 0; j < sec->n_assignments; j++) {
        Assignment *st = &sec->assignments[j];
        if (st->kind == V_LIST) continue;
        for (int t = 0; t < n_trials; t++) st->draws[t] = grid_draw(sec, st, p->seed, t, point);
    }
}

static int expand_section(Parser *p, Section *sec, RunConfig *runs, int *n_runs, IdSet *ids) {
    int n_trials = sec->trials ? sec->trials : 1;
    for (int j = 0; j < sec->n_assignments; j++) {
        Assignment *st = &sec->assignments[j];
        if (st->kind == V_LIST) continue;
        st->draws = malloc((size_t)n_trials * sizeof(SettingValue));
        if (!st->draws) return fail_at(p, sec->line, "out of memory");
    }
    /* the point of the product: idx[j] is the value of list setting j; the
       last setting varies fastest, so the first listed varies slowest */
    int idx[N_SETTINGS] = {0};
    for (int first = 1;; first = 0) {
        if (first || sec->draws_per_point) draw_point(p, sec, idx, n_trials);
        for (int t = 0; t < n_trials; t++) {
            RunConfig c;
            config_default(&c);
            c.experiment_seed = p->seed;
            snprintf(c.section, sizeof c.section, "%s", sec->name);
            c.trial = sec->trials ? t : -1;
            const SettingValue *form = NULL; /* as given, to check a form's word against the task */
            for (int j = 0; j < sec->n_assignments; j++) {
                const Assignment *st = &sec->assignments[j];
                const SettingValue *v = st->kind == V_LIST ? &st->values[idx[j]] : &st->draws[t];
                setting_set(&c, st->key, v);
                if (st->key == SETTING_form) form = v;
            }
            char why[512];
            if (form && !settings_form_word_fits(form->s, c.task, why, sizeof why))
                return fail_at(p, sec->key_line[SETTING_form], "form: %s", why);
            /* the ranges, task and cell first: a budget is counted on them */
            if (settings_check(&c, why, sizeof why) != 0)
                return fail_at(p, line_of_check_error(sec, why), "%s", why);
            if (config_resolve_params(&c, why, sizeof why) != 0)
                return fail_at(p, sec->key_line[SETTING_params], "%s", why);
            if (config_check(&c, why, sizeof why) != 0)
                return fail_at(p, line_of_check_error(sec, why), "%s", why);
            for (int s = 0; s < sec->seeds; s++) {
                c.seed_index = s;
                config_finalize(&c);
                runs[*n_runs] = c;
                if (!id_seen(ids, runs, *n_runs)) (*n_runs)++;
            }
        }
        int j = sec->n_assignments - 1;
        for (; j >= 0; j--) {
            const Assignment *st = &sec->assignments[j];
            if (st->kind != V_LIST) continue;
            if (++idx[j] < st->n_values) break;
            idx[j] = 0;
        }
        if (j < 0) return 1;
    }
}

int grid_expand(Parser *p, Experiment *ex) {
    for (int s = 0; s < p->n_sections; s++) {
        const Section *sec = &p->sections[s];
        const Assignment *first_distribution = NULL;
        for (int j = 0; j < sec->n_assignments && !first_distribution; j++)
            if (sec->assignments[j].kind != V_LIST) first_distribution = &sec->assignments[j];
        if (first_distribution && !sec->trials)
            return fail_at(p, first_distribution->line,
                           "%s: a distribution needs `trials = N` in the section",
                           SETTINGS[first_distribution->key].key);
        if (!first_distribution && sec->trials)
            return fail_at(p, sec->key_line[GRID_TRIALS],
                           "trials: no key of the section is a distribution");
    }
    /* counted before anything is expanded: the runs of the sections so far */
    uint64_t total = 0;
    int overflow = 0;
    for (int s = 0; s < p->n_sections; s++) {
        count_runs(&p->sections[s], &total, &overflow);
        if (overflow)
            return fail_at(p, p->sections[s].line, "grid of more than %llu runs exceeds the limit of %d",
                           (unsigned long long)UINT64_MAX, GRID_MAX_RUNS);
        if (total > GRID_MAX_RUNS)
            return fail_at(p, p->sections[s].line, "grid of %llu runs exceeds the limit of %d",
                           (unsigned long long)total, GRID_MAX_RUNS);
    }
    size_t cap = 2;
    while (cap < 2 * total) cap *= 2;
    IdSet ids = {calloc(cap, sizeof(int)), cap - 1};
    ex->runs = malloc((size_t)total * sizeof(RunConfig));
    if (!ids.slot || !ex->runs) {
        free(ids.slot);
        return fail_at(p, 1, "out of memory");
    }
    int ok = 1;
    for (int s = 0; s < p->n_sections && ok; s++)
        ok = expand_section(p, &p->sections[s], ex->runs, &ex->n_runs, &ids);
    free(ids.slot);
    return ok;
}

