/* grid.c: an experiment file -> the list of runs (grid.h): the file's text
   is read (grid_read.c, values in grid_values.c) and its sections expanded
   into runs (grid_expand.c); here the whole is put together and the first
   error becomes the one message "path:line: ...". Messages show invisible
   and control characters as <U+XXXX> (text_visible). */
#include "grid_private.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the message for err: "path:line: msg" (or "path: msg" for line 0; for
   the line -(i + 1), override i: "--set key=value: msg"), with every
   character that would not show as itself made visible */
static void set_err(char *err, size_t err_len, const char *path, int line, const char *msg,
                    const char *const *set) {
    if (!err || !err_len) return;
    char raw[4096];
    if (line < 0) snprintf(raw, sizeof raw, "--set %s: %s", set[-line - 1], msg);
    else if (line > 0) snprintf(raw, sizeof raw, "%s:%d: %s", path, line, msg);
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
    const char *problem = grid_name_problem(name, why, sizeof why);
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

/* a pre-registration file is a page of INI; more is not one */
#define GRID_MAX_PREREG_BYTES (1L << 20)

/* reads the file `preregistration =` names (relative to the experiment
   file's directory unless absolute) into ex: path, SHA-256, text. 1, or 0
   with the error recorded at the key's line */
static int read_prereg(Parser *p, const char *path, Experiment *ex) {
    const char *slash = strrchr(path, '/');
    if (p->prereg[0] == '/' || !slash)
        snprintf(ex->prereg_path, sizeof ex->prereg_path, "%s", p->prereg);
    else
        snprintf(ex->prereg_path, sizeof ex->prereg_path, "%.*s/%s", (int)(slash - path), path, p->prereg);
    int line = p->experiment_key_line[E_PREREGISTRATION];
    FILE *f = fopen(ex->prereg_path, "rb");
    if (!f) return fail_at(p, line, "preregistration: cannot open '%s': %s", ex->prereg_path, strerror(errno));
    char *text = malloc(GRID_MAX_PREREG_BYTES + 1);
    size_t len = text ? fread(text, 1, GRID_MAX_PREREG_BYTES + 1, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (!text) return fail_at(p, line, "preregistration: out of memory");
    if (read_error || len > (size_t)GRID_MAX_PREREG_BYTES) {
        free(text);
        return fail_at(p, line, "preregistration: '%s': %s", ex->prereg_path,
                       read_error ? "cannot read it" : "larger than 1 MiB: not a pre-registration");
    }
    text[len] = '\0';
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)text);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(ex->prereg_sha256 + 2 * i, 3, "%02x", digest[i]);
    ex->prereg_text = text;
    return 1;
}

/* `--set key=value` i into every [grid] section of p; 1, or 0 with the error recorded */
static int apply_override(Parser *p, int i, const char *given) {
    char key[128];
    const char *eq = strchr(given, '=');
    const char *start = grid_skip_space(given), *end = eq;
    while (end && end > start && isspace((unsigned char)end[-1])) end--;
    size_t n = end ? (size_t)(end - start) : 0;
    if (!n || n >= sizeof key) return fail_at(p, -(i + 1), "expected KEY=VALUE (a [grid] key)");
    memcpy(key, start, n);
    key[n] = '\0';
    char *value = strdup(grid_skip_space(eq + 1));
    if (!value) return fail_at(p, -(i + 1), "out of memory");
    size_t v = strlen(value);
    while (v && isspace((unsigned char)value[v - 1])) value[--v] = '\0';
    int ok = grid_override(p, -(i + 1), key, value);
    free(value);
    return ok;
}

/* text, then what --set changed, as comment lines: the results file's
   experiment_text says how its runs were made. NULL when out of memory */
static char *with_overrides(char *text, size_t len, const char *const *set, int n_set) {
    size_t need = len + 2;
    for (int i = 0; i < n_set; i++) need += strlen(set[i]) + 64;
    char *out = realloc(text, need);
    if (!out) return NULL;
    size_t at = len;
    if (n_set && at && out[at - 1] != '\n') out[at++] = '\n';
    for (int i = 0; i < n_set; i++)
        at += (size_t)snprintf(out + at, need - at, "; rnnbench run --set %s (in every [grid] section)\n", set[i]);
    out[at] = '\0';
    return out;
}

/* parses text[0..len) (which it owns: into ex->text, or freed), then applies set[0..n_set) */
static int load(const char *path, char *text, size_t len, const char *const *set, int n_set, Experiment *ex,
                char *err, size_t err_len) {
    memset(ex, 0, sizeof *ex);
    char file_msg[1536] = ""; /* what is wrong with the file as a whole (no line) */
    if (strlen(path) >= sizeof ex->path) {
        snprintf(file_msg, sizeof file_msg, "path longer than %zu characters", sizeof ex->path - 1);
        set_err(err, err_len, path, 0, file_msg, NULL);
        free(text);
        return -1;
    }
    Parser p = {0};
    p.text = text;
    p.len = len;
    p.seed = 1;
    int syntax = ini_parse_stream(grid_next_line, &p, grid_on_key, &p);
    /* inih reports its own syntax errors (by line) and goes on; ours stop the reader */
    if (syntax > 0 && (!p.err_line || syntax < p.err_line)) {
        p.err_line = syntax;
        snprintf(p.err, sizeof p.err, "syntax error");
    } else if (syntax < 0 && !p.err_line) {
        fail_at(&p, 1, "inih could not parse the file (error %d)", syntax);
    }
    if (!p.err_line && !p.n_sections)
        fail_at(&p, 1, "no [grid] section (see experiments/quickstart.ini)");
    for (int i = 0; i < n_set && !p.err_line; i++) apply_override(&p, i, set[i]);
    int failed = p.err_line != 0;
    if (!failed) failed = !experiment_name(&p, path, ex->name, sizeof ex->name, file_msg, sizeof file_msg);
    if (!failed) failed = !grid_expand(&p, ex);
    if (!failed && p.prereg[0]) failed = !read_prereg(&p, path, ex);
    grid_parser_free(&p);
    if (failed) {
        set_err(err, err_len, path, p.err_line, p.err_line ? p.err : file_msg, set);
        free(ex->runs);
        free(ex->prereg_text);
        memset(ex, 0, sizeof *ex);
        free(text);
        return -1;
    }
    snprintf(ex->path, sizeof ex->path, "%s", path);
    ex->text = n_set ? with_overrides(text, len, set, n_set) : text;
    if (!ex->text) {
        set_err(err, err_len, path, 0, "out of memory", NULL);
        free(ex->runs);
        free(ex->prereg_text);
        free(text);
        memset(ex, 0, sizeof *ex);
        return -1;
    }
    ex->seed = p.seed;
    return 0;
}

int grid_load_string(const char *path, const char *text, Experiment *ex, char *err, size_t err_len) {
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) {
        memset(ex, 0, sizeof *ex);
        set_err(err, err_len, path, 0, "out of memory", NULL);
        return -1;
    }
    memcpy(copy, text, len + 1);
    return load(path, copy, len, NULL, 0, ex, err, err_len);
}

/* an experiment file is a few kilobytes; more is not one */
#define GRID_MAX_FILE_BYTES (16L << 20)

int grid_load(const char *path, Experiment *ex, char *err, size_t err_len) {
    return grid_load_set(path, NULL, 0, ex, err, err_len);
}

int grid_load_set(const char *path, const char *const *set, int n_set, Experiment *ex, char *err,
                  size_t err_len) {
    memset(ex, 0, sizeof *ex);
    char msg[512];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        set_err(err, err_len, path, 0, msg, NULL);
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
        set_err(err, err_len, path, 0, msg, NULL);
        return -1;
    }
    text[len] = '\0';
    return load(path, text, len, set, n_set, ex, err, err_len);
}

void grid_free(Experiment *ex) {
    if (!ex) return;
    free(ex->text);
    free(ex->runs);
    free(ex->prereg_text);
    memset(ex, 0, sizeof *ex);
}
