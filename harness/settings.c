/* settings.c: the table of settings.h, and reading, writing, defaults and
   range checks of a setting, each done once for every setting. */
#include "settings.h"
#include "util.h"
#include "../cells/model.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SETTING_ROW(key, type, field, def, check, help) \
    {#key, type, offsetof(RunConfig, field), sizeof(((RunConfig *)0)->field), {def}, check, help, 0},
#define ADDED_ROW(key, type, field, def, check, help) \
    {#key, type, offsetof(RunConfig, field), sizeof(((RunConfig *)0)->field), {def}, check, help, 1},
const SettingSpec SETTINGS[N_SETTINGS] = {RUN_SETTINGS(SETTING_ROW) ADDED_SETTINGS(ADDED_ROW)};
#undef SETTING_ROW
#undef ADDED_ROW

/* forms given by name belong to one task: `form = modern` on temporal-order
   would silently mean 6a */
static const struct { const char *word; int form; const char *task; } FORM_WORDS[] = {
    {"modern", 0, "adding"}, {"6a", 0, "temporal-order"}, {"6b", 1, "temporal-order"},
};
#define N_FORM_WORDS (sizeof FORM_WORDS / sizeof FORM_WORDS[0])

int setting_find(const char *key, size_t n) {
    for (int k = 0; k < N_SETTINGS; k++)
        if (strlen(SETTINGS[k].key) == n && !strncmp(SETTINGS[k].key, key, n)) return k;
    return -1;
}

int setting_is_task_param(int k) {
    size_t at = offsetof(RunConfig, task_params);
    return SETTINGS[k].offset >= at && SETTINGS[k].offset < at + sizeof(TaskParams);
}

int setting_is_integer(int k) {
    SettingType t = SETTINGS[k].type;
    return t == ST_INT || t == ST_INT_POSITIVE || t == ST_LONG;
}

int setting_is_numeric(int k) {
    return setting_is_integer(k) || SETTINGS[k].type == ST_NUM || SETTINGS[k].type == ST_FORGET;
}

/* a file may give any integer of the field (config_check judges it, with its
   own message), except where the type says >= 1; the command line takes
   only integers >= 1, as every integer setting is */
void setting_int_range(int k, SettingSource source, long *lo, long *hi) {
    SettingType t = SETTINGS[k].type;
    *hi = t == ST_LONG ? LONG_MAX : INT_MAX;
    if (source == FROM_COMMAND_LINE || t == ST_INT_POSITIVE) *lo = 1;
    else *lo = t == ST_LONG ? LONG_MIN : INT_MIN;
}

int setting_parse(int k, SettingSource source, const char *text, SettingValue *v, char *why, size_t n) {
    const SettingSpec *spec = &SETTINGS[k];
    int file = source == FROM_FILE;
    memset(v, 0, sizeof *v);
    switch (spec->type) {
    case ST_INT:
    case ST_INT_POSITIVE:
    case ST_LONG: {
        long lo, hi;
        setting_int_range(k, source, &lo, &hi);
        if (parse_long(text, lo, hi, &v->i)) return 1;
        why_not_long(text, lo, hi, why, n);
        return 0;
    }
    case ST_NUM:
        if (parse_double(text, &v->x)) return 1;
        why_not_double(text, file ? "a number or a distribution" : "a number", why, n);
        return 0;
    case ST_BOOL:
        if (!strcmp(text, "0") || !strcmp(text, "false")) v->i = 0;
        else if (!strcmp(text, "1") || !strcmp(text, "true")) v->i = 1;
        else {
            snprintf(why, n, "expected 0, 1, true or false, got '%s'", text);
            return 0;
        }
        return 1;
    case ST_NAME:
        if (!*text) {
            snprintf(why, n, "expected a name, got ''");
            return 0;
        }
        /* a longer name is refused: cut, it would name another task or cell */
        if (strlen(text) >= spec->size || strlen(text) >= sizeof v->s) {
            snprintf(why, n, "longer than %zu characters, got '%s'", spec->size - 1, text);
            return 0;
        }
        memcpy(v->s, text, strlen(text) + 1);
        return 1;
    case ST_OPTIMIZER:
        if (!strcmp(text, "sgd")) v->i = OPT_SGD;
        else if (!strcmp(text, "adam")) v->i = OPT_ADAM;
        else {
            snprintf(why, n, "expected sgd or adam, got '%s'", text);
            return 0;
        }
        return 1;
    case ST_FORGET:
        if (!strcmp(text, "chrono")) v->i = 1;
        else if (!parse_double(text, &v->x)) {
            why_not_double(text, file ? "a number, chrono or a distribution" : "a number or chrono", why, n);
            return 0;
        }
        return 1;
    case ST_FORM:
        for (size_t w = 0; w < N_FORM_WORDS; w++)
            if (!strcmp(text, FORM_WORDS[w].word)) {
                v->i = FORM_WORDS[w].form;
                snprintf(v->s, sizeof v->s, "%s", FORM_WORDS[w].word);
                return 1;
            }
        if (parse_long(text, INT_MIN, INT_MAX, &v->i)) return 1;
        snprintf(why, n, "expected modern, 1997, 6a, 6b or an integer, got '%s'", text);
        return 0;
    }
    snprintf(why, n, "cannot be set");
    return 0;
}

void setting_set(RunConfig *c, int k, const SettingValue *v) {
    const SettingSpec *spec = &SETTINGS[k];
    char *field = (char *)c + spec->offset;
    switch (spec->type) {
    case ST_INT:
    case ST_INT_POSITIVE:
    case ST_BOOL:
    case ST_FORM: *(int *)field = (int)v->i; break;
    case ST_LONG: *(long *)field = v->i; break;
    case ST_NUM: *(double *)field = v->x; break;
    case ST_NAME: snprintf(field, spec->size, "%s", v->s); break;
    case ST_OPTIMIZER: *(OptimizerKind *)field = (OptimizerKind)v->i; break;
    case ST_FORGET:
        /* chrono keeps the bias as it was: it is not used, but checked */
        c->forget_chrono = (int)v->i;
        if (!v->i) *(double *)field = v->x;
        break;
    }
}

void setting_get(const RunConfig *c, int k, SettingValue *v) {
    const SettingSpec *spec = &SETTINGS[k];
    const char *field = (const char *)c + spec->offset;
    memset(v, 0, sizeof *v);
    switch (spec->type) {
    case ST_INT:
    case ST_INT_POSITIVE:
    case ST_BOOL:
    case ST_FORM: v->i = *(const int *)field; break;
    case ST_LONG: v->i = *(const long *)field; break;
    case ST_NUM: v->x = *(const double *)field; break;
    case ST_NAME: snprintf(v->s, sizeof v->s, "%s", field); break;
    case ST_OPTIMIZER: v->i = *(const OptimizerKind *)field; break;
    case ST_FORGET:
        v->i = c->forget_chrono;
        v->x = *(const double *)field;
        break;
    }
}

void setting_format(int k, const SettingValue *v, char *out, size_t n) {
    /* %.17g round-trips a double exactly, so equal text means equal runs */
    switch (SETTINGS[k].type) {
    case ST_INT:
    case ST_INT_POSITIVE:
    case ST_LONG:
    case ST_BOOL:
    case ST_FORM: snprintf(out, n, "%ld", v->i); break;
    case ST_NUM: snprintf(out, n, "%.17g", v->x); break;
    case ST_NAME: snprintf(out, n, "%s", v->s); break;
    case ST_OPTIMIZER: snprintf(out, n, "%s", optimizer_name((OptimizerKind)v->i)); break;
    case ST_FORGET:
        if (v->i) snprintf(out, n, "chrono");
        else snprintf(out, n, "%.17g", v->x);
        break;
    }
}

int setting_is_recorded(const RunConfig *c, int k) {
    if (!SETTINGS[k].added) return 1;
    /* compared as the canonical text writes them: equal text, equal run */
    SettingValue v;
    char have[96], def[96];
    setting_get(c, k, &v);
    setting_format(k, &v, have, sizeof have);
    setting_format(k, &SETTINGS[k].def, def, sizeof def);
    return strcmp(have, def) != 0;
}

void settings_default(RunConfig *c) {
    for (int k = 0; k < N_SETTINGS; k++) setting_set(c, k, &SETTINGS[k].def);
}

/* the range check of setting k (not a task or a cell): 1, or 0 with the reason in why */
static int in_range(int k, const SettingValue *v, char *why, size_t n) {
    const SettingCheck *ck = &SETTINGS[k].check;
    double x = v->x;
    switch (ck->kind) {
    case CK_NONE:
    case CK_TASK:
    case CK_CELL: return 1;
    case CK_RANGE:
        if (v->i >= ck->lo && v->i <= ck->hi) return 1;
        snprintf(why, n, "must be between %ld and %ld, got %ld", ck->lo, ck->hi, v->i);
        return 0;
    case CK_AT_LEAST:
        if (v->i >= ck->lo) return 1;
        snprintf(why, n, "must be >= %ld, got %ld", ck->lo, v->i);
        return 0;
    case CK_POSITIVE:
        if (x > 0 && isfinite(x)) return 1;
        snprintf(why, n, "must be > 0, got %g", x);
        return 0;
    case CK_NONNEGATIVE:
        if (x >= 0 && isfinite(x)) return 1;
        snprintf(why, n, "must be >= 0, got %g", x);
        return 0;
    case CK_CLIP:
        if (x >= 0 && isfinite(x)) return 1;
        snprintf(why, n, "must be >= 0 (0 = off), got %g", x);
        return 0;
    case CK_UNIT:
        if (x >= 0 && x < 1) return 1;
        snprintf(why, n, "must be in [0, 1), got %g", x);
        return 0;
    case CK_FINITE:
        if (isfinite(x)) return 1;
        snprintf(why, n, "must be finite, got %g", x);
        return 0;
    case CK_DIVERGE:
        if (x == 0 || (x > 1 && isfinite(x))) return 1;
        snprintf(why, n, "must be 0 (off) or > 1, got %g", x);
        return 0;
    }
    return 1;
}

/* the task, then every range in table order, then the cell: building a cell
   needs a hidden size in range */
int settings_check(const RunConfig *c, char *err, size_t n) {
    char why[256];
    for (int k = 0; k < N_SETTINGS; k++) {
        if (SETTINGS[k].check.kind != CK_TASK) continue;
        const char *name = (const char *)c + SETTINGS[k].offset;
        const Task *task = task_find(name);
        if (!task) {
            snprintf(err, n, "%s: unknown task '%s' (try: rnnbench list tasks)", SETTINGS[k].key, name);
            return -1;
        }
        if (task->check(&c->task_params, why, sizeof why) != 0) {
            snprintf(err, n, "%s: %s", SETTINGS[k].key, why);
            return -1;
        }
    }
    for (int k = 0; k < N_SETTINGS; k++) {
        SettingValue v;
        setting_get(c, k, &v);
        if (!in_range(k, &v, why, sizeof why)) {
            snprintf(err, n, "%s: %s", SETTINGS[k].key, why);
            return -1;
        }
    }
    for (int k = 0; k < N_SETTINGS; k++) {
        if (SETTINGS[k].check.kind != CK_CELL) continue;
        /* the whole stack: a kind may refuse a number of layers (dglstm needs 2) */
        Model m;
        if (model_make_stack(&m, (const char *)c + SETTINGS[k].offset, 1, c->hidden, c->layers, 1, LOSS_MSE,
                             why, sizeof why) != 0) {
            snprintf(err, n, "%s: %s", SETTINGS[k].key, why);
            return -1;
        }
    }
    return 0;
}

/* where word first stands as a whole word in text, or NULL */
static const char *find_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *s = strstr(text, word); s; s = strstr(s + 1, word)) {
        int before = s == text || !(isalnum((unsigned char)s[-1]) || s[-1] == '_');
        int after = !(isalnum((unsigned char)s[n]) || s[n] == '_');
        if (before && after) return s;
    }
    return NULL;
}

int settings_blamed(const char *err, const int *given) {
    size_t n = strcspn(err, ":");
    int k = setting_find(err, n);
    if (k < 0 || SETTINGS[k].check.kind != CK_TASK) return k;
    /* the task's check judges its parameters: the one its reason names first */
    const char *first = NULL;
    int blamed = k;
    for (int p = 0; p < N_SETTINGS; p++) {
        if (!setting_is_task_param(p) || !given[p]) continue;
        const char *at = find_word(err + n, SETTINGS[p].key);
        if (at && (!first || at < first)) {
            first = at;
            blamed = p;
        }
    }
    return blamed;
}

int settings_form_word_fits(const char *word, const char *task, char *why, size_t n) {
    for (size_t w = 0; w < N_FORM_WORDS; w++)
        if (!strcmp(word, FORM_WORDS[w].word) && strcmp(task, FORM_WORDS[w].task)) {
            snprintf(why, n, "'%s' is a form of the %s task, not of %s", word, FORM_WORDS[w].task, task);
            return 0;
        }
    return 1;
}
