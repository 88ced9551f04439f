/* grid_read.c: reading an experiment file. inih is fed one line at a time
   by our own reader, which counts the lines (Debian's inih gives the handler
   no line number), rejects what is not UTF-8 text, follows the section
   headers, and hands a line longer than inih's 200-byte buffer over as a
   short stand-in while keeping its key and value itself, so that lines up to
   GRID_MAX_LINE bytes are read whole and every message names the line at
   fault. Every key is checked as it is read: a typo is an error, never a
   default, and names the key it likely meant. Values: grid_values.c. */
#include "grid_private.h"
#include "suggest.h"
#include "util.h"
#include "../cells/graph.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const EXPERIMENT_KEYS[N_EXPERIMENT_KEYS] = {"name", "description", "seed",
                                                                 "preregistration"};

const char *grid_key_name(int k) {
    if (k == GRID_SEEDS) return "seeds";
    if (k == GRID_TRIALS) return "trials";
    if (k == GRID_DRAWS) return "draws";
    return SETTINGS[k].key;
}

int fail_at(Parser *p, int line, const char *fmt, ...) {
    if (!p->err_line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof p->err, fmt, ap);
        va_end(ap);
        p->err_line = line;
    }
    return 0;
}

void grid_parser_free(Parser *p) {
    for (int s = 0; s < p->n_sections; s++) {
        Section *sec = &p->sections[s];
        for (int j = 0; j < sec->n_assignments; j++) {
            free(sec->assignments[j].values);
            free(sec->assignments[j].draws);
        }
    }
    free(p->sections);
    p->sections = NULL;
    p->n_sections = p->cap_sections = 0;
    free(p->line_text);
    p->line_text = NULL;
    p->line_cap = 0;
    graph_def_free(p->cell);
    p->cell = NULL;
}

/* The [cell] section read so far, checked, compiled and registered: at the
   next section header and at the end of the file. 1, or 0 with the error. */
static int end_cell(Parser *p) {
    GraphDef *d = p->cell;
    if (!d) return 1;
    p->cell = NULL;
    int line = d->header_line;
    char why[512];
    if (graph_def_finish(d, &line, why, sizeof why) != 0) {
        fail_at(p, line, "[cell %s]: %s", d->name, why);
        graph_def_free(d);
        return 0;
    }
    int header = d->header_line;
    if (graph_register(d, why, sizeof why) != 0) return fail_at(p, header, "%s", why);
    return 1;
}

/* a [cell NAME] header: a new definition */
static int enter_cell(Parser *p, const char *text) {
    const char *name = grid_skip_space(text + 4);
    if (!*name) return fail(p, "[%s]: expected [cell NAME]", text);
    for (const char *c = name; *c; c++)
        if (isspace((unsigned char)*c))
            return fail(p, "[%s]: a section name is one word, got '%s'", text, name);
    /* [grid] sections before it may name it too: names are checked when
       the grid is expanded, after the whole file is read */
    p->cell = graph_def_new(name);
    if (!p->cell) return fail(p, "out of memory");
    p->cell->header_line = p->line;
    p->where = IN_CELL;
    return 1;
}

/* a `key = value` line of a [cell] section, split again from the whole
   line so that a message can give the column of what it is about */
static int cell_key(Parser *p, const char *name, const char *value) {
    int value_col = 1 + p->indent;
    const char *line = p->line_text;
    const char *v = p->long_value ? p->long_value : NULL;
    if (!v) {
        v = line;
        while (*v && *v != '=' && *v != ':') v++;
        if (*v) v++;
        v = grid_skip_space(v);
    }
    for (const char *c = line; c < v; c++)
        if (((unsigned char)*c & 0xC0) != 0x80) value_col++;
    int col = 0;
    char why[512];
    if (graph_def_line(p->cell, name, value, p->line, value_col, &col, why, sizeof why) != 0)
        return fail(p, "[cell %s]: column %d: %s", p->cell->name, col, why);
    return 1;
}


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
    const char *after = grid_skip_space(end + 1);
    if (*after && *after != ';') return fail(p, "syntax error");
    *end = '\0';
    char *text = (char *)grid_skip_space(line + 1);
    trim_end(text);
    if (!end_cell(p)) return 0;
    if (!strncmp(text, "cell", 4) && (!text[4] || isspace((unsigned char)text[4]))) return enter_cell(p, text);
    if (!strcmp(text, "experiment")) {
        if (p->experiment_line)
            return fail(p, "[experiment] given twice (first on line %d)", p->experiment_line);
        p->experiment_line = p->line;
        p->where = IN_EXPERIMENT;
        return 1;
    }
    if (strncmp(text, "grid", 4) || (text[4] && !isspace((unsigned char)text[4])))
        return fail(p, "unknown section [%s] (expected [experiment] or [grid ...])", text);
    const char *name = text[4] ? grid_skip_space(text + 4) : "grid";
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
    v = (char *)grid_skip_space(v);
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
char *grid_next_line(char *buf, int num, void *stream) {
    Parser *p = stream;
    p->long_name = p->long_value = NULL;
    if (!p->err_line && p->pos >= p->len) end_cell(p);
    if (p->err_line || p->pos >= p->len) return NULL;
    const char *s = p->text + p->pos;
    size_t rest = p->len - p->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) : rest;
    p->pos += nl ? n + 1 : n;
    p->line++;
    if (!line_is_text(p, s, &n)) return NULL;
    if (p->line == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
    p->indent = 0;
    while (n && isspace((unsigned char)*s)) s++, n--, p->indent++;
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
const char *grid_name_problem(const char *name, char *why, size_t n) {
    if (!*name) return "is empty";
    if (strchr(name, '/')) return "must not contain '/' (it names the results file)";
    if (name[0] == '.') return "must not start with '.' (it names the results file)";
    long hidden = first_hidden_char(name, strlen(name));
    if (!hidden) return NULL;
    snprintf(why, n, "contains an invisible or control character (<U+%04lX>)", hidden);
    return why;
}

/* "key: unknown key", with the key of this section it likely meant; for a
   key of the other section (`seed` in [grid] is no typo of `seeds`), where
   it belongs */
static int unknown_key(Parser *p, const char *key) {
    const char *grid_keys[N_GRID_KEYS];
    for (int k = 0; k < N_GRID_KEYS; k++) grid_keys[k] = grid_key_name(k);
    int in_grid = p->where == IN_GRID;
    const char *const *here = in_grid ? grid_keys : EXPERIMENT_KEYS;
    const char *const *other = in_grid ? EXPERIMENT_KEYS : grid_keys;
    size_t n_here = in_grid ? N_GRID_KEYS : N_EXPERIMENT_KEYS;
    size_t n_other = in_grid ? N_EXPERIMENT_KEYS : N_GRID_KEYS;
    for (size_t k = 0; k < n_other; k++)
        if (!strcmp(other[k], key))
            return fail(p, "%s: unknown key in [%s] (it is a key of [%s])", key, in_grid ? "grid" : "experiment",
                        in_grid ? "experiment" : "grid");
    const char *meant = closest_name(key, here, n_here);
    if (meant) return fail(p, "%s: unknown key (did you mean '%s'?)", key, meant);
    return fail(p, "%s: unknown key", key);
}

static int experiment_key(Parser *p, const char *key, const char *value) {
    int k = 0;
    while (k < N_EXPERIMENT_KEYS && strcmp(EXPERIMENT_KEYS[k], key)) k++;
    if (k == N_EXPERIMENT_KEYS) return unknown_key(p, key);
    if (p->experiment_key_line[k])
        return fail(p, "%s: given twice (first on line %d)", key, p->experiment_key_line[k]);
    p->experiment_key_line[k] = p->line;
    switch (k) {
    case E_NAME: {
        if (!*value) return fail(p, "name: expected a name, got ''");
        if (strlen(value) >= sizeof p->name)
            return fail(p, "name: longer than %zu characters", sizeof p->name - 1);
        char why[128];
        const char *problem = grid_name_problem(value, why, sizeof why);
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
    case E_PREREGISTRATION: /* read and hashed once the file's path is known (grid.c) */
        if (!*value) return fail(p, "preregistration: expected a file name, got ''");
        if (strlen(value) >= sizeof p->prereg)
            return fail(p, "preregistration: longer than %zu characters", sizeof p->prereg - 1);
        snprintf(p->prereg, sizeof p->prereg, "%s", value);
        return 1;
    default: /* description: for the reader of the file */
        return 1;
    }
}

/* the index of a [grid] key, or -1 */
static int grid_key_index(const char *name) {
    int k = setting_find(name, strlen(name));
    if (k < 0 && !strcmp(name, "seeds")) k = GRID_SEEDS;
    if (k < 0 && !strcmp(name, "trials")) k = GRID_TRIALS;
    if (k < 0 && !strcmp(name, "draws")) k = GRID_DRAWS;
    return k;
}

static int section_key(Parser *p, Section *sec, const char *name, const char *value);

static int grid_key(Parser *p, const char *name, const char *value) {
    return section_key(p, &p->sections[p->n_sections - 1], name, value);
}

/* `run --set key=value` (at line, negative: see grid.c): the key's line in
   every [grid] section replaced, or added at the end, as if written there */
int grid_override(Parser *p, int line, const char *name, const char *value) {
    int k = grid_key_index(name);
    p->where = IN_GRID;
    p->line = line;
    if (k < 0) return unknown_key(p, name);
    for (int s = 0; s < p->n_sections && !p->err_line; s++) {
        Section *sec = &p->sections[s];
        /* --set params replaces a section's hidden too, and --set hidden its params */
        int also = k == SETTING_params ? SETTING_hidden : k == SETTING_hidden ? SETTING_params : -1;
        for (int pass = 0; pass < 2; pass++) {
            int key = pass ? also : k;
            if (key < 0) continue;
            if (sec->key_line[key] && key < N_SETTINGS) {
                int j = 0;
                while (sec->assignments[j].key != key) j++;
                free(sec->assignments[j].values);
                memmove(&sec->assignments[j], &sec->assignments[j + 1],
                        (size_t)(sec->n_assignments - j - 1) * sizeof sec->assignments[0]);
                sec->n_assignments--;
            }
            sec->key_line[key] = 0;
        }
        section_key(p, sec, name, value);
    }
    return !p->err_line;
}

/* the section's line of setting k, or NULL */
static const Assignment *assignment_of(const Section *sec, int k) {
    for (int j = 0; j < sec->n_assignments; j++)
        if (sec->assignments[j].key == k) return &sec->assignments[j];
    return NULL;
}

/* a budget chooses the hidden size: a section giving both would say it
   twice. `params = 0` (off, its default) goes with anything. 1, or 0 with
   the error at the later of the two lines */
static int budget_alone(Parser *p, const Section *sec, int k) {
    if (k != SETTING_params && k != SETTING_hidden) return 1;
    const Assignment *budget = assignment_of(sec, SETTING_params);
    if (!budget || !assignment_of(sec, SETTING_hidden)) return 1;
    if (budget->kind == V_LIST && budget->n_values == 1 && budget->values[0].i == 0) return 1;
    int other = k == SETTING_params ? SETTING_hidden : SETTING_params;
    return fail(p, "%s: not with %s (line %d) in one section: give a hidden size or a parameter budget",
                SETTINGS[k].key, SETTINGS[other].key, sec->key_line[other]);
}

static int section_key(Parser *p, Section *sec, const char *name, const char *value) {
    int k = grid_key_index(name);
    if (k < 0) return unknown_key(p, name);
    if (sec->key_line[k]) return fail(p, "%s: given twice (first on line %d)", name, sec->key_line[k]);
    sec->key_line[k] = p->line;
    if (k == GRID_DRAWS) {
        if (!strcmp(value, "shared") || !strcmp(value, "per_point")) {
            sec->draws_per_point = !strcmp(value, "per_point");
            return 1;
        }
        return fail(p, "draws: expected shared or per_point, got '%s'", value);
    }
    if (k == GRID_SEEDS || k == GRID_TRIALS) {
        long n;
        if (!parse_long(value, 1, INT_MAX, &n)) {
            char why[512];
            why_not_long(value, 1, INT_MAX, why, sizeof why);
            return fail(p, "%s: %s", name, why);
        }
        if (k == GRID_SEEDS) sec->seeds = (int)n;
        else sec->trials = (int)n;
        return 1;
    }
    Assignment *a = &sec->assignments[sec->n_assignments++];
    memset(a, 0, sizeof *a);
    a->key = k;
    a->line = p->line;
    if (!grid_parse_assignment(p, a, value)) return 0;
    return budget_alone(p, sec, k);
}

/* inih's handler: one `key = value` line */
int grid_on_key(void *user, const char *section, const char *name, const char *value) {
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
    case IN_CELL: return cell_key(p, name, value);
    default: return fail(p, "%s: key outside a section", name);
    }
}

