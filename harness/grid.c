/* grid.c: an experiment file (INI, read by inih) -> the list of runs.

   Reading: inih is fed one line at a time by our own reader, which counts the
   lines (Debian's inih gives the handler no line number), rejects what is not
   UTF-8 text, follows the section headers, and hands a line longer than
   inih's 200-byte buffer over as a short stand-in while keeping its key and
   value itself, so that lines up to GRID_MAX_LINE bytes are read whole and
   every message names the line at fault. Every key and value is checked as it
   is read: a typo is an error, never a default. Messages show invisible and
   control characters as <U+XXXX> (text_visible).
   Expanding: each [grid] section, in file order, becomes the Cartesian product
   of its lists (the first key listed varies slowest) x `trials` draws of its
   distributions x `seeds`; each run is config_default + the section's values,
   then config_finalize (id, seed) and config_check. A run whose id an earlier
   section already produced is the same run, and is kept once.
   Not here: what a task or a cell accepts (config_check), nor the order the
   runs are executed in (runner.c). */
#include "grid.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* the keys of a [grid] section and the RunConfig field each one sets */

typedef enum {
    T_INT,       /* int field */
    T_LONG,      /* long field */
    T_NUM,       /* double field */
    T_BOOL,      /* int field: 0, 1, true, false */
    T_NAME,      /* char array field */
    T_OPTIMIZER, /* sgd | adam */
    T_FORGET,    /* a number, or `chrono` (forget_chrono = 1) */
    T_FORM,      /* modern | 1997 | 6a | 6b | an integer */
    T_COUNT,     /* seeds, trials: one integer >= 1, not an axis */
} KeyType;

typedef struct {
    const char *name;
    KeyType type;
    size_t offset; /* of the field in RunConfig (not for T_COUNT) */
    size_t size;   /* T_NAME: size of the char array */
    long min;      /* integer keys: the smallest value the file may give */
} KeySpec;

enum {
    K_TASK, K_DELAY, K_N_CLASSES, K_FORM, K_N_SYMBOLS, K_ALPHABET, K_CELL, K_HIDDEN, K_BATCH,
    K_STEPS, K_OPTIMIZER, K_LR, K_MOMENTUM, K_NESTEROV, K_BETA1, K_BETA2, K_ADAM_EPS, K_CLIP,
    K_INIT_SCALE, K_FORGET_BIAS, K_INPUT_NOISE, K_EVAL_EVERY, K_EVAL_SIZE, K_STOP_WHEN_SOLVED,
    K_DIVERGE_FACTOR, K_SEEDS, K_TRIALS, N_KEYS
};

#define AT(f) offsetof(RunConfig, f)
#define NAME_AT(f) offsetof(RunConfig, f), sizeof(((RunConfig *)0)->f)
static const KeySpec KEYS[N_KEYS] = {
    [K_TASK] = {"task", T_NAME, NAME_AT(task), 0},
    [K_DELAY] = {"delay", T_INT, AT(task_params.delay), 0, 1},
    [K_N_CLASSES] = {"n_classes", T_INT, AT(task_params.n_classes), 0, INT_MIN},
    [K_FORM] = {"form", T_FORM, AT(task_params.form), 0, INT_MIN},
    [K_N_SYMBOLS] = {"n_symbols", T_INT, AT(task_params.n_symbols), 0, INT_MIN},
    [K_ALPHABET] = {"alphabet", T_INT, AT(task_params.alphabet), 0, INT_MIN},
    [K_CELL] = {"cell", T_NAME, NAME_AT(cell), 0},
    [K_HIDDEN] = {"hidden", T_INT, AT(hidden), 0, INT_MIN},
    [K_BATCH] = {"batch", T_INT, AT(batch), 0, INT_MIN},
    [K_STEPS] = {"steps", T_LONG, AT(steps), 0, LONG_MIN},
    [K_OPTIMIZER] = {"optimizer", T_OPTIMIZER, AT(optimizer), 0, 0},
    [K_LR] = {"lr", T_NUM, AT(lr), 0, 0},
    [K_MOMENTUM] = {"momentum", T_NUM, AT(momentum), 0, 0},
    [K_NESTEROV] = {"nesterov", T_BOOL, AT(nesterov), 0, 0},
    [K_BETA1] = {"beta1", T_NUM, AT(beta1), 0, 0},
    [K_BETA2] = {"beta2", T_NUM, AT(beta2), 0, 0},
    [K_ADAM_EPS] = {"adam_eps", T_NUM, AT(adam_eps), 0, 0},
    [K_CLIP] = {"clip", T_NUM, AT(clip), 0, 0},
    [K_INIT_SCALE] = {"init_scale", T_NUM, AT(init_scale), 0, 0},
    [K_FORGET_BIAS] = {"forget_bias", T_FORGET, AT(forget_bias), 0, 0},
    [K_INPUT_NOISE] = {"input_noise", T_NUM, AT(input_noise), 0, 0},
    [K_EVAL_EVERY] = {"eval_every", T_INT, AT(eval_every), 0, INT_MIN},
    [K_EVAL_SIZE] = {"eval_size", T_INT, AT(eval_size), 0, INT_MIN},
    [K_STOP_WHEN_SOLVED] = {"stop_when_solved", T_BOOL, AT(stop_when_solved), 0, 0},
    [K_DIVERGE_FACTOR] = {"diverge_factor", T_NUM, AT(diverge_factor), 0, 0},
    [K_SEEDS] = {"seeds", T_COUNT, 0, 0, 1},
    [K_TRIALS] = {"trials", T_COUNT, 0, 0, 1},
};
#undef AT
#undef NAME_AT

/* the keys whose values the task's own check judges (config_check reports
   them as "task: ..."), to point such an error at the line that set them */
static const int TASK_PARAM_KEYS[] = {K_DELAY, K_N_CLASSES, K_FORM, K_N_SYMBOLS, K_ALPHABET};

/* forms given by name belong to one task: `form = modern` on temporal-order
   would silently mean 6a */
static const struct { const char *word; int form; const char *task; } FORM_WORDS[] = {
    {"modern", 0, "adding"}, {"6a", 0, "temporal-order"}, {"6b", 1, "temporal-order"},
};

/* the largest integer a loguniform/uniform bound may be for a long key: a
   double still holds every integer up to it */
#define LONG_DRAW_MAX (1L << 53)

static const char *const EXPERIMENT_KEYS[] = {"name", "description", "seed"};
enum { E_NAME, E_DESCRIPTION, E_SEED, N_EXPERIMENT_KEYS };

/* ------------------------------------------------------------------------- */
/* what a section holds once read */

typedef struct {
    long i;      /* integer keys, booleans, the optimizer, the form; 1 for forget_bias = chrono */
    double x;    /* numbers and forget_bias */
    char s[64];  /* names (task, cell); for a form, the word it was given as ("" for a number) */
} Value;

typedef enum { V_LIST, V_LOGUNIFORM, V_UNIFORM, V_CHOICE } ValueKind;

typedef struct {
    int key;         /* index in KEYS */
    int line;
    ValueKind kind;
    Value *values;   /* V_LIST: 1 or more (an axis of the product); V_CHOICE: the choices */
    int n_values;
    double lo, hi;   /* V_LOGUNIFORM, V_UNIFORM */
    Value *draws;    /* distributions: the value of each trial (filled when expanding) */
} Setting;

typedef struct {
    char name[64];
    int line;                  /* of the header */
    Setting settings[N_KEYS];  /* in file order; never seeds or trials */
    int n_settings;
    int key_line[N_KEYS];      /* where each key was set, 0 when it was not */
    int seeds, trials;         /* trials 0 when not given */
} Section;

typedef enum { IN_NOTHING, IN_EXPERIMENT, IN_GRID } Where;

typedef struct {
    /* the reader's position in the text */
    const char *text;
    size_t len, pos;
    int line;
    Where where;
    /* the current line, whole (inih's buffer holds 200 bytes), and for a
       longer key line the name and value inih was not handed (see stand_in) */
    char *line_text;
    size_t line_cap;
    const char *long_name, *long_value;
    /* [experiment] */
    int experiment_line;                 /* its header, 0 when there is none */
    int experiment_key_line[N_EXPERIMENT_KEYS];
    char name[128];
    uint64_t seed;
    /* [grid] sections in file order */
    Section *sections;
    int n_sections, cap_sections;
    /* the first error found (the reader stops at it) */
    int err_line;
    char err[768];
} Parser;

static int fail_at(Parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(Parser *p, int line, const char *fmt, ...) {
    if (!p->err_line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof p->err, fmt, ap);
        va_end(ap);
        p->err_line = line;
    }
    return 0;
}
#define fail(p, ...) fail_at((p), (p)->line, __VA_ARGS__)

static void parser_free(Parser *p) {
    for (int s = 0; s < p->n_sections; s++) {
        Section *sec = &p->sections[s];
        for (int j = 0; j < sec->n_settings; j++) {
            free(sec->settings[j].values);
            free(sec->settings[j].draws);
        }
    }
    free(p->sections);
    p->sections = NULL;
    p->n_sections = p->cap_sections = 0;
    free(p->line_text);
    p->line_text = NULL;
    p->line_cap = 0;
}

static int key_index(const char *name, size_t n) {
    for (int k = 0; k < N_KEYS; k++)
        if (strlen(KEYS[k].name) == n && !strncmp(KEYS[k].name, name, n)) return k;
    return -1;
}

static int is_numeric(KeyType t) { return t == T_INT || t == T_LONG || t == T_NUM || t == T_FORGET; }

/* ------------------------------------------------------------------------- */
/* values: one item, a comma list, a distribution */

static const char *skip_space(const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    return s;
}

/* copies s[0..n) without the surrounding whitespace into out (of size cap);
   returns 0 when it does not fit */
static int copy_trimmed(const char *s, size_t n, char *out, size_t cap) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n >= cap) return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* one value of key k from text (already trimmed); 1, or 0 with the error set */
static int parse_item(Parser *p, int k, const char *text, Value *v) {
    const KeySpec *key = &KEYS[k];
    char why[512];
    memset(v, 0, sizeof *v);
    switch (key->type) {
    case T_INT:
    case T_LONG: {
        long hi = key->type == T_INT ? INT_MAX : LONG_MAX;
        if (parse_long(text, key->min, hi, &v->i)) return 1;
        why_not_long(text, key->min, hi, why, sizeof why);
        return fail(p, "%s: %s", key->name, why);
    }
    case T_NUM:
        if (parse_double(text, &v->x)) return 1;
        why_not_double(text, "a number or a distribution", why, sizeof why);
        return fail(p, "%s: %s", key->name, why);
    case T_BOOL:
        if (!strcmp(text, "0") || !strcmp(text, "false")) v->i = 0;
        else if (!strcmp(text, "1") || !strcmp(text, "true")) v->i = 1;
        else return fail(p, "%s: expected 0, 1, true or false, got '%s'", key->name, text);
        return 1;
    case T_NAME:
        if (!*text) return fail(p, "%s: expected a name, got ''", key->name);
        if (strlen(text) >= key->size || strlen(text) >= sizeof v->s)
            return fail(p, "%s: longer than %zu characters, got '%s'", key->name, key->size - 1, text);
        memcpy(v->s, text, strlen(text) + 1);
        return 1;
    case T_OPTIMIZER:
        if (!strcmp(text, "sgd")) v->i = OPT_SGD;
        else if (!strcmp(text, "adam")) v->i = OPT_ADAM;
        else return fail(p, "%s: expected sgd or adam, got '%s'", key->name, text);
        return 1;
    case T_FORGET:
        if (!strcmp(text, "chrono")) v->i = 1;
        else if (!parse_double(text, &v->x)) {
            why_not_double(text, "a number, chrono or a distribution", why, sizeof why);
            return fail(p, "%s: %s", key->name, why);
        }
        return 1;
    case T_FORM:
        for (size_t w = 0; w < sizeof FORM_WORDS / sizeof FORM_WORDS[0]; w++)
            if (!strcmp(text, FORM_WORDS[w].word)) {
                v->i = FORM_WORDS[w].form;
                snprintf(v->s, sizeof v->s, "%s", FORM_WORDS[w].word);
                return 1;
            }
        if (parse_long(text, INT_MIN, INT_MAX, &v->i)) return 1;
        return fail(p, "%s: expected modern, 1997, 6a, 6b or an integer, got '%s'", key->name, text);
    case T_COUNT:
        break;
    }
    return fail(p, "%s: cannot be set here", key->name);
}

/* the items of a comma list text[0..n) into st->values */
static int parse_items(Parser *p, Setting *st, const char *text, size_t n, const char *whole) {
    int count = 1;
    for (size_t i = 0; i < n; i++) count += text[i] == ',';
    st->values = calloc((size_t)count, sizeof(Value));
    if (!st->values) return fail(p, "out of memory");
    const char *item = text, *end = text + n;
    for (int j = 0; j < count; j++) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        size_t len = (size_t)((comma ? comma : end) - item);
        char buf[256];
        if (!copy_trimmed(item, len, buf, sizeof buf))
            return fail(p, "%s: a value longer than %zu characters", KEYS[st->key].name, sizeof buf - 1);
        if (!*buf && count > 1)
            return fail(p, "%s: empty item in the list '%s'", KEYS[st->key].name, whole);
        if (!parse_item(p, st->key, buf, &st->values[j])) return 0;
        st->n_values++;
        item = comma ? comma + 1 : end;
    }
    return 1;
}

/* "key: bad distribution 'value': reason" */
static int bad_distribution(Parser *p, const Setting *st, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad_distribution(Parser *p, const Setting *st, const char *value, const char *fmt, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return fail(p, "%s: bad distribution '%s': %s", KEYS[st->key].name, value, reason);
}

/* `name(args)`: loguniform(a, b), uniform(a, b) or choice(v1, v2, ...) */
static int parse_distribution(Parser *p, Setting *st, const char *word, const char *open,
                              const char *value) {
    const KeySpec *key = &KEYS[st->key];
    const char *close = strchr(open, ')');
    if (!close) return bad_distribution(p, st, value, "missing ')'");
    const char *args = open + 1;
    size_t n = (size_t)(close - args);
    int empty = *skip_space(args) == ')';
    if (memchr(args, '(', n)) return bad_distribution(p, st, value, "'(' inside");
    if (*skip_space(close + 1)) return bad_distribution(p, st, value, "text after ')'");
    if (!strcmp(word, "choice")) {
        st->kind = V_CHOICE;
        if (empty) return bad_distribution(p, st, value, "choice needs at least one value");
        return parse_items(p, st, args, n, value);
    }
    st->kind = !strcmp(word, "loguniform") ? V_LOGUNIFORM : V_UNIFORM;
    if (!is_numeric(key->type))
        return bad_distribution(p, st, value, "%s is not a number key, use choice(...)", key->name);
    int n_args = 1;
    for (size_t i = 0; i < n; i++) n_args += args[i] == ',';
    if (empty || n_args != 2)
        return bad_distribution(p, st, value, "%s takes 2 arguments (a, b), got %d", word,
                                empty ? 0 : n_args);
    const char *comma = memchr(args, ',', n);
    char a[128], b[128];
    if (!copy_trimmed(args, (size_t)(comma - args), a, sizeof a) ||
        !copy_trimmed(comma + 1, (size_t)(close - comma - 1), b, sizeof b))
        return bad_distribution(p, st, value, "bound too long");
    const char *bound[2] = {a, b};
    double *bound_value[2] = {&st->lo, &st->hi};
    for (int i = 0; i < 2; i++)
        if (!parse_double(bound[i], bound_value[i])) {
            char why[256];
            why_not_double(bound[i], "a number", why, sizeof why);
            return bad_distribution(p, st, value, "%s", why);
        }
    if (st->kind == V_LOGUNIFORM && !(st->lo > 0 && st->hi > st->lo))
        return bad_distribution(p, st, value, "needs 0 < a < b");
    if (st->kind == V_UNIFORM && !(st->hi > st->lo))
        return bad_distribution(p, st, value, "needs a < b");
    if (key->type == T_INT || key->type == T_LONG) {
        /* draws are rounded to the nearest integer, so bounds inside the
           key's range keep every draw inside it */
        long hi = key->type == T_INT ? INT_MAX : LONG_DRAW_MAX;
        double lo = key->min < -LONG_DRAW_MAX ? -(double)LONG_DRAW_MAX : (double)key->min;
        if (st->lo < lo) return bad_distribution(p, st, value, "needs a >= %.0f", lo);
        if (st->hi > (double)hi) return bad_distribution(p, st, value, "needs b <= %ld", hi);
    }
    return 1;
}

/* a value of a [grid] key: a distribution, else one item or a comma list */
static int parse_setting(Parser *p, Setting *st, const char *value) {
    const char *s = value;
    while (isalnum((unsigned char)*s) || *s == '_') s++;
    const char *open = skip_space(s);
    if (s > value && *open == '(' && !isdigit((unsigned char)*value)) {
        char word[32];
        if (!copy_trimmed(value, (size_t)(s - value), word, sizeof word) ||
            (strcmp(word, "loguniform") && strcmp(word, "uniform") && strcmp(word, "choice")))
            return fail(p, "%s: unknown distribution '%.*s' (expected loguniform, uniform or choice)",
                        KEYS[st->key].name, (int)(s - value), value);
        return parse_distribution(p, st, word, open, value);
    }
    st->kind = V_LIST;
    return parse_items(p, st, value, strlen(value), value);
}

/* ------------------------------------------------------------------------- */
/* reading: the line reader, section headers and the key handler */

/* where inih ends a name, a value or a header: at one of `stops`, at an
   inline comment (a ';' after whitespace), or at the end of s */
static char *find_stop(char *s, const char *stops) {
    int was_space = 0;
    while (*s && !strchr(stops, *s) && !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

static void trim_end(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
}

/* a "[...]" line (ours, cut in place): the same header inih sees (up to the
   first ']' not after an inline comment), then ours to judge */
static int enter_section(Parser *p, char *line) {
    char *end = find_stop(line + 1, "]");
    if (*end != ']') return fail(p, "syntax error");
    const char *after = skip_space(end + 1);
    if (*after && *after != ';') return fail(p, "syntax error");
    *end = '\0';
    char *text = (char *)skip_space(line + 1);
    trim_end(text);
    if (!strcmp(text, "experiment")) {
        if (p->experiment_line)
            return fail(p, "[experiment] given twice (first on line %d)", p->experiment_line);
        p->experiment_line = p->line;
        p->where = IN_EXPERIMENT;
        return 1;
    }
    if (strncmp(text, "grid", 4) || (text[4] && !isspace((unsigned char)text[4])))
        return fail(p, "unknown section [%s] (expected [experiment] or [grid ...])", text);
    const char *name = text[4] ? skip_space(text + 4) : "grid";
    for (const char *c = name; *c; c++)
        if (isspace((unsigned char)*c))
            return fail(p, "[%s]: a section name is one word, got '%s'", text, name);
    if (strlen(name) >= sizeof p->sections[0].name)
        return fail(p, "[%s]: section name longer than %zu characters", text,
                    sizeof p->sections[0].name - 1);
    /* the name is recorded with every run of the section */
    long hidden = first_hidden_char(name, strlen(name));
    if (hidden)
        return fail(p, "[%s]: the section name contains an invisible or control character (<U+%04lX>)",
                    text, hidden);
    if (p->n_sections == p->cap_sections) {
        int cap = p->cap_sections ? 2 * p->cap_sections : 4;
        Section *more = realloc(p->sections, (size_t)cap * sizeof *more);
        if (!more) return fail(p, "out of memory");
        p->sections = more;
        p->cap_sections = cap;
    }
    Section *sec = &p->sections[p->n_sections++];
    memset(sec, 0, sizeof *sec);
    snprintf(sec->name, sizeof sec->name, "%s", name);
    sec->line = p->line;
    sec->seeds = 1;
    p->where = IN_GRID;
    return 1;
}

/* the checks every line passes before anything reads it; n loses a "\r" ending */
static int line_is_text(Parser *p, const char *s, size_t *n) {
    if (memchr(s, '\0', *n)) return fail(p, "contains a NUL byte (not a text file)");
    if (!text_is_utf8(s, *n)) return fail(p, "not valid UTF-8 text");
    if (*n && s[*n - 1] == '\r') (*n)--;
    for (size_t q = 0; q < *n; q++) {
        unsigned char ch = (unsigned char)s[q];
        /* a control byte would be echoed into an error message and garble the terminal */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return fail(p, "control character 0x%02X in the line (not a text file?)", ch);
    }
    if (*n > GRID_MAX_LINE) return fail(p, "line longer than %d bytes", GRID_MAX_LINE);
    return 1;
}

/* s[0..n) into p->line_text, NUL-terminated */
static int keep_line(Parser *p, const char *s, size_t n) {
    if (n + 1 > p->line_cap) {
        char *more = realloc(p->line_text, n + 1);
        if (!more) return fail(p, "out of memory");
        p->line_text = more;
        p->line_cap = n + 1;
    }
    memcpy(p->line_text, s, n);
    p->line_text[n] = '\0';
    return 1;
}

/* a "name = value" (or "name: value") line as inih splits a short one: the
   name ends at the first '=' or ':', the value at an inline comment, both
   trimmed. 1 with name and value pointing into line (cut in place), or 0
   when no '=' or ':' comes before an inline comment */
static int split_key_line(char *line, const char **name, const char **value) {
    char *sep = find_stop(line, "=:");
    if (*sep != '=' && *sep != ':') return 0;
    *sep = '\0';
    trim_end(line);
    char *v = sep + 1;
    *find_stop(v, "") = '\0';
    v = (char *)skip_space(v);
    trim_end(v);
    *name = line;
    *value = v;
    return 1;
}

/* A line longer than inih's buffer (p->line_text, whole): inih gets a short
   line of the same kind, and what inih would have taken from the whole line
   is kept in p->long_name and p->long_value for on_key. A header was already
   entered from the whole line, and inih's own idea of the section is not used. */
static char *stand_in(Parser *p, char *buf, int num) {
    char *line = p->line_text;
    const char *short_line;
    if (line[0] == ';' || line[0] == '#') short_line = ";\n";
    else if (line[0] == '[') short_line = "[]\n";
    else if (split_key_line(line, &p->long_name, &p->long_value)) short_line = "k=\n";
    else {
        fail(p, "syntax error");
        return NULL;
    }
    if (strlen(short_line) + 1 > (size_t)num) {
        fail(p, "inih's line buffer holds only %d bytes", num);
        return NULL;
    }
    memcpy(buf, short_line, strlen(short_line) + 1);
    return buf;
}

/* inih's ini_reader: hands it the next line, checked, ending in '\n'.
   inih reads into a buffer of `num` bytes (200 in Debian's build) and would
   cut a longer line into two, so a line that does not fit in it is handed
   over as a stand-in (see stand_in): lines up to GRID_MAX_LINE bytes are read
   whole. Leading whitespace is dropped: inih would take an indented line as
   the continuation of the previous value, which experiment files do not have
   (a lone value on a line is then a syntax error). */
static char *next_line(char *buf, int num, void *stream) {
    Parser *p = stream;
    p->long_name = p->long_value = NULL;
    if (p->err_line || p->pos >= p->len) return NULL;
    const char *s = p->text + p->pos;
    size_t rest = p->len - p->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) : rest;
    p->pos += nl ? n + 1 : n;
    p->line++;
    if (!line_is_text(p, s, &n)) return NULL;
    if (p->line == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
    while (n && isspace((unsigned char)*s)) s++, n--;
    if (!keep_line(p, s, n)) return NULL;
    if (p->line_text[0] == '[' && !enter_section(p, p->line_text)) return NULL;
    if (n + 2 > (size_t)num) return stand_in(p, buf, num);
    memcpy(buf, s, n);
    buf[n] = '\n';
    buf[n + 1] = '\0';
    return buf;
}

/* why name cannot name an experiment, whose results go to results/<name>.h5
   (a phrase that follows "name: "), or NULL when it can: a name starting with
   '.' would be a hidden file (or "..h5"), and an invisible character would
   make two names that look the same */
static const char *name_problem(const char *name, char *why, size_t n) {
    if (!*name) return "is empty";
    if (strchr(name, '/')) return "must not contain '/' (it names the results file)";
    if (name[0] == '.') return "must not start with '.' (it names the results file)";
    long hidden = first_hidden_char(name, strlen(name));
    if (!hidden) return NULL;
    snprintf(why, n, "contains an invisible or control character (<U+%04lX>)", hidden);
    return why;
}

static int experiment_key(Parser *p, const char *key, const char *value) {
    int k = 0;
    while (k < N_EXPERIMENT_KEYS && strcmp(EXPERIMENT_KEYS[k], key)) k++;
    if (k == N_EXPERIMENT_KEYS) return fail(p, "%s: unknown key", key);
    if (p->experiment_key_line[k])
        return fail(p, "%s: given twice (first on line %d)", key, p->experiment_key_line[k]);
    p->experiment_key_line[k] = p->line;
    switch (k) {
    case E_NAME: {
        if (!*value) return fail(p, "name: expected a name, got ''");
        if (strlen(value) >= sizeof p->name)
            return fail(p, "name: longer than %zu characters", sizeof p->name - 1);
        char why[128];
        const char *problem = name_problem(value, why, sizeof why);
        if (problem) return fail(p, "name: %s, got '%s'", problem, value);
        snprintf(p->name, sizeof p->name, "%s", value);
        return 1;
    }
    case E_SEED: {
        unsigned long long seed;
        if (!parse_u64(value, &seed)) {
            char why[512];
            why_not_u64(value, why, sizeof why);
            return fail(p, "seed: %s", why);
        }
        p->seed = seed;
        return 1;
    }
    default: /* description: for the reader of the file */
        return 1;
    }
}

static int grid_key(Parser *p, const char *name, const char *value) {
    Section *sec = &p->sections[p->n_sections - 1];
    int k = key_index(name, strlen(name));
    if (k < 0) return fail(p, "%s: unknown key", name);
    if (sec->key_line[k]) return fail(p, "%s: given twice (first on line %d)", name, sec->key_line[k]);
    sec->key_line[k] = p->line;
    if (KEYS[k].type == T_COUNT) {
        long n;
        if (!parse_long(value, 1, INT_MAX, &n)) {
            char why[512];
            why_not_long(value, 1, INT_MAX, why, sizeof why);
            return fail(p, "%s: %s", name, why);
        }
        if (k == K_SEEDS) sec->seeds = (int)n;
        else sec->trials = (int)n;
        return 1;
    }
    Setting *st = &sec->settings[sec->n_settings++];
    memset(st, 0, sizeof *st);
    st->key = k;
    st->line = p->line;
    return parse_setting(p, st, value);
}

/* inih's handler: one `key = value` line */
static int on_key(void *user, const char *section, const char *name, const char *value) {
    Parser *p = user;
    (void)section; /* ours, from the reader, is not cut at inih's 50 characters */
    if (p->err_line) return 0;
    if (p->long_name) {
        name = p->long_name;
        value = p->long_value;
    }
    if (!*name) return fail(p, "syntax error");
    switch (p->where) {
    case IN_EXPERIMENT: return experiment_key(p, name, value);
    case IN_GRID: return grid_key(p, name, value);
    default: return fail(p, "%s: key outside a section", name);
    }
}

/* ------------------------------------------------------------------------- */
/* expanding the sections into runs */

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
    for (int j = 0; j < sec->n_settings; j++)
        if (sec->settings[j].kind == V_LIST) mul_to(&n, (uint64_t)sec->settings[j].n_values, overflow);
    add_to(total, n, overflow);
}

/* trial t of a distribution: its own stream, from (experiment seed, section,
   key, t) only, so that every point of the product gets the same draws and
   adding a key or a section changes no other draw */
static Value draw(const Section *sec, const Setting *st, uint64_t experiment_seed, int t) {
    char text[160];
    int n = snprintf(text, sizeof text, "%s\n%s\n%d", sec->name, KEYS[st->key].name, t);
    Rng rng;
    rng_seed(&rng, hash_bytes(text, (uint64_t)n, experiment_seed));
    Value v;
    if (st->kind == V_CHOICE) return st->values[rng_int(&rng, st->n_values)];
    memset(&v, 0, sizeof v);
    if (st->kind == V_LOGUNIFORM) v.x = exp(rng_range(&rng, log(st->lo), log(st->hi)));
    else v.x = rng_range(&rng, st->lo, st->hi);
    KeyType type = KEYS[st->key].type;
    if (type == T_INT || type == T_LONG) v.i = lround(v.x);
    return v;
}

static void apply(RunConfig *c, int k, const Value *v) {
    const KeySpec *key = &KEYS[k];
    char *field = (char *)c + key->offset;
    switch (key->type) {
    case T_INT:
    case T_BOOL:
    case T_FORM: *(int *)field = (int)v->i; break;
    case T_LONG: *(long *)field = v->i; break;
    case T_NUM: *(double *)field = v->x; break;
    case T_NAME: snprintf(field, key->size, "%s", v->s); break;
    case T_OPTIMIZER: *(OptimizerKind *)field = (OptimizerKind)v->i; break;
    case T_FORGET:
        c->forget_chrono = (int)v->i;
        if (!v->i) c->forget_bias = v->x;
        break;
    case T_COUNT: break;
    }
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

/* the line of a config_check error "key: reason": where the section set that
   key, or, for "task: ...", the task parameter the reason names first when
   the section set it (the task's check judges delay, form, ...); the section's
   header when the key was left at its default */
static int line_of_check_error(const Section *sec, const char *why) {
    size_t n = strcspn(why, ":");
    int k = key_index(why, n);
    int line = k >= 0 ? sec->key_line[k] : 0;
    if (k == K_TASK) {
        const char *first = NULL;
        for (size_t j = 0; j < sizeof TASK_PARAM_KEYS / sizeof TASK_PARAM_KEYS[0]; j++) {
            int pk = TASK_PARAM_KEYS[j];
            const char *at = sec->key_line[pk] ? find_word(why + n, KEYS[pk].name) : NULL;
            if (at && (!first || at < first)) {
                first = at;
                line = sec->key_line[pk];
            }
        }
    }
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

static int expand_section(Parser *p, Section *sec, RunConfig *runs, int *n_runs, IdSet *ids) {
    int n_trials = sec->trials ? sec->trials : 1;
    for (int j = 0; j < sec->n_settings; j++) {
        Setting *st = &sec->settings[j];
        if (st->kind == V_LIST) continue;
        st->draws = malloc((size_t)n_trials * sizeof(Value));
        if (!st->draws) return fail_at(p, sec->line, "out of memory");
        for (int t = 0; t < n_trials; t++) st->draws[t] = draw(sec, st, p->seed, t);
    }
    /* the point of the product: idx[j] is the value of list setting j; the
       last setting varies fastest, so the first listed varies slowest */
    int idx[N_KEYS] = {0};
    for (;;) {
        for (int t = 0; t < n_trials; t++) {
            RunConfig c;
            config_default(&c);
            c.experiment_seed = p->seed;
            snprintf(c.section, sizeof c.section, "%s", sec->name);
            c.trial = sec->trials ? t : -1;
            const Value *form = NULL; /* as given, to check a form's word against the task */
            for (int j = 0; j < sec->n_settings; j++) {
                const Setting *st = &sec->settings[j];
                const Value *v = st->kind == V_LIST ? &st->values[idx[j]] : &st->draws[t];
                apply(&c, st->key, v);
                if (st->key == K_FORM) form = v;
            }
            for (size_t w = 0; form && w < sizeof FORM_WORDS / sizeof FORM_WORDS[0]; w++)
                if (!strcmp(form->s, FORM_WORDS[w].word) && strcmp(c.task, FORM_WORDS[w].task))
                    return fail_at(p, sec->key_line[K_FORM],
                                   "form: '%s' is a form of the %s task, not of %s", form->s,
                                   FORM_WORDS[w].task, c.task);
            char why[512];
            if (config_check(&c, why, sizeof why) != 0)
                return fail_at(p, line_of_check_error(sec, why), "%s", why);
            for (int s = 0; s < sec->seeds; s++) {
                c.seed_index = s;
                config_finalize(&c);
                runs[*n_runs] = c;
                if (!id_seen(ids, runs, *n_runs)) (*n_runs)++;
            }
        }
        int j = sec->n_settings - 1;
        for (; j >= 0; j--) {
            const Setting *st = &sec->settings[j];
            if (st->kind != V_LIST) continue;
            if (++idx[j] < st->n_values) break;
            idx[j] = 0;
        }
        if (j < 0) return 1;
    }
}

/* the checks that need a whole section, the size of the grid, then the runs */
static int expand(Parser *p, Experiment *ex) {
    for (int s = 0; s < p->n_sections; s++) {
        const Section *sec = &p->sections[s];
        const Setting *first_distribution = NULL;
        for (int j = 0; j < sec->n_settings && !first_distribution; j++)
            if (sec->settings[j].kind != V_LIST) first_distribution = &sec->settings[j];
        if (first_distribution && !sec->trials)
            return fail_at(p, first_distribution->line,
                           "%s: a distribution needs `trials = N` in the section",
                           KEYS[first_distribution->key].name);
        if (!first_distribution && sec->trials)
            return fail_at(p, sec->key_line[K_TRIALS],
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

/* ------------------------------------------------------------------------- */
/* the interface */

/* the message for err: "path:line: msg" (or "path: msg" for line 0), with
   every character that would not show as itself made visible */
static void set_err(char *err, size_t err_len, const char *path, int line, const char *msg) {
    if (!err || !err_len) return;
    char raw[4096];
    if (line > 0) snprintf(raw, sizeof raw, "%s:%d: %s", path, line, msg);
    else snprintf(raw, sizeof raw, "%s: %s", path, msg);
    text_visible(raw, err, err_len);
}

/* the experiment's name: `name =`, else the file's base name without .ini,
   held to the same rules. 1, or 0 with the reason in msg */
static int experiment_name(const Parser *p, const char *path, char *out, size_t cap, char *msg,
                           size_t msg_len) {
    if (p->experiment_key_line[E_NAME]) {
        snprintf(out, cap, "%s", p->name); /* experiment_key checked it */
        return 1;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".ini")) n -= 4;
    char name[1024], why[128];
    snprintf(name, sizeof name, "%.*s", (int)n, base);
    const char *problem = name_problem(name, why, sizeof why);
    if (!problem && strlen(name) >= cap) {
        snprintf(why, sizeof why, "is longer than %zu characters", cap - 1);
        problem = why;
    }
    if (problem) {
        snprintf(msg, msg_len, "the experiment name '%s' (from the file name) %s; set one with `name =` in "
                 "[experiment]", name, problem);
        return 0;
    }
    memcpy(out, name, strlen(name) + 1);
    return 1;
}

/* parses text[0..len) (which it owns: into ex->text, or freed) */
static int load(const char *path, char *text, size_t len, Experiment *ex, char *err, size_t err_len) {
    memset(ex, 0, sizeof *ex);
    char file_msg[1536] = ""; /* what is wrong with the file as a whole (no line) */
    if (strlen(path) >= sizeof ex->path) {
        snprintf(file_msg, sizeof file_msg, "path longer than %zu characters", sizeof ex->path - 1);
        set_err(err, err_len, path, 0, file_msg);
        free(text);
        return -1;
    }
    Parser p = {0};
    p.text = text;
    p.len = len;
    p.seed = 1;
    int syntax = ini_parse_stream(next_line, &p, on_key, &p);
    /* inih reports its own syntax errors (by line) and goes on; ours stop the reader */
    if (syntax > 0 && (!p.err_line || syntax < p.err_line)) {
        p.err_line = syntax;
        snprintf(p.err, sizeof p.err, "syntax error");
    } else if (syntax < 0 && !p.err_line) {
        fail_at(&p, 1, "inih could not parse the file (error %d)", syntax);
    }
    if (!p.err_line && !p.n_sections)
        fail_at(&p, 1, "no [grid] section (see experiments/quickstart.ini)");
    int failed = p.err_line != 0;
    if (!failed) failed = !experiment_name(&p, path, ex->name, sizeof ex->name, file_msg, sizeof file_msg);
    if (!failed) failed = !expand(&p, ex);
    parser_free(&p);
    if (failed) {
        set_err(err, err_len, path, p.err_line, p.err_line ? p.err : file_msg);
        free(ex->runs);
        memset(ex, 0, sizeof *ex);
        free(text);
        return -1;
    }
    snprintf(ex->path, sizeof ex->path, "%s", path);
    ex->text = text;
    ex->seed = p.seed;
    return 0;
}

int grid_load_string(const char *path, const char *text, Experiment *ex, char *err, size_t err_len) {
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) {
        memset(ex, 0, sizeof *ex);
        set_err(err, err_len, path, 0, "out of memory");
        return -1;
    }
    memcpy(copy, text, len + 1);
    return load(path, copy, len, ex, err, err_len);
}

/* an experiment file is a few kilobytes; more is not one */
#define GRID_MAX_FILE_BYTES (16L << 20)

int grid_load(const char *path, Experiment *ex, char *err, size_t err_len) {
    memset(ex, 0, sizeof *ex);
    char msg[512];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        set_err(err, err_len, path, 0, msg);
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *text = malloc(cap + 1);
    while (text) {
        len += fread(text + len, 1, cap - len, f);
        if (len < cap || (long)cap >= GRID_MAX_FILE_BYTES) break;
        char *more = realloc(text, 2 * cap + 1);
        if (!more) {
            free(text);
            text = NULL;
            break;
        }
        text = more;
        cap *= 2;
    }
    int read_error = ferror(f);
    int errnum = errno;
    fclose(f);
    if (!text || read_error || len >= (size_t)GRID_MAX_FILE_BYTES) {
        if (!text) snprintf(msg, sizeof msg, "out of memory");
        else if (read_error) snprintf(msg, sizeof msg, "cannot read: %s", strerror(errnum));
        else snprintf(msg, sizeof msg, "larger than %ld MiB: not an experiment file",
                      GRID_MAX_FILE_BYTES >> 20);
        free(text);
        set_err(err, err_len, path, 0, msg);
        return -1;
    }
    text[len] = '\0';
    return load(path, text, len, ex, err, err_len);
}

void grid_free(Experiment *ex) {
    if (!ex) return;
    free(ex->text);
    free(ex->runs);
    memset(ex, 0, sizeof *ex);
}
