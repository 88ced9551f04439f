/* grid_values.c: the value of a [grid] key: one item, a comma list (an axis
   of the product) or a distribution loguniform(a, b), 1 - loguniform(a, b),
   uniform(a, b), choice(a, b, ...), and the draws of a distribution. What one item of a
   setting may be is the setting's (setting_parse); here is what the file
   adds around it. */
#include "grid_private.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the largest integer a loguniform/uniform bound may be for a long key: a
   double still holds every integer up to it */
#define LONG_DRAW_MAX (1L << 53)

const char *grid_skip_space(const char *s) {
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
static int parse_item(Parser *p, int k, const char *text, SettingValue *v) {
    char why[512];
    if (setting_parse(k, FROM_FILE, text, v, why, sizeof why)) return 1;
    return fail(p, "%s: %s", SETTINGS[k].key, why);
}

/* the items of a comma list text[0..n) into st->values */
static int parse_items(Parser *p, Assignment *st, const char *text, size_t n, const char *whole) {
    int count = 1;
    for (size_t i = 0; i < n; i++) count += text[i] == ',';
    st->values = calloc((size_t)count, sizeof(SettingValue));
    if (!st->values) return fail(p, "out of memory");
    const char *item = text, *end = text + n;
    for (int j = 0; j < count; j++) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        size_t len = (size_t)((comma ? comma : end) - item);
        char buf[256];
        if (!copy_trimmed(item, len, buf, sizeof buf))
            return fail(p, "%s: a value longer than %zu characters", SETTINGS[st->key].key, sizeof buf - 1);
        if (!*buf && count > 1)
            return fail(p, "%s: empty item in the list '%s'", SETTINGS[st->key].key, whole);
        if (!parse_item(p, st->key, buf, &st->values[j])) return 0;
        st->n_values++;
        item = comma ? comma + 1 : end;
    }
    return 1;
}

/* "key: bad distribution 'value': reason" */
static int bad_distribution(Parser *p, const Assignment *st, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad_distribution(Parser *p, const Assignment *st, const char *value, const char *fmt, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return fail(p, "%s: bad distribution '%s': %s", SETTINGS[st->key].key, value, reason);
}

/* `name(args)`: loguniform(a, b), uniform(a, b) or choice(v1, v2, ...);
   one_minus: the text was `1 - loguniform(a, b)` */
static int parse_distribution(Parser *p, Assignment *st, const char *word, const char *open,
                              const char *value, int one_minus) {
    const char *close = strchr(open, ')');
    if (!close) return bad_distribution(p, st, value, "missing ')'");
    const char *args = open + 1;
    size_t n = (size_t)(close - args);
    int empty = *grid_skip_space(args) == ')';
    if (memchr(args, '(', n)) return bad_distribution(p, st, value, "'(' inside");
    if (*grid_skip_space(close + 1)) return bad_distribution(p, st, value, "text after ')'");
    if (one_minus && strcmp(word, "loguniform"))
        return bad_distribution(p, st, value, "only loguniform can follow '1 -'");
    if (!strcmp(word, "choice")) {
        st->kind = V_CHOICE;
        if (empty) return bad_distribution(p, st, value, "choice needs at least one value");
        return parse_items(p, st, args, n, value);
    }
    st->kind = one_minus ? V_ONE_MINUS_LOGUNIFORM : !strcmp(word, "loguniform") ? V_LOGUNIFORM : V_UNIFORM;
    if (!setting_is_numeric(st->key))
        return bad_distribution(p, st, value, "%s is not a number key, use choice(...)",
                                SETTINGS[st->key].key);
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
    if (st->kind != V_UNIFORM && !(st->lo > 0 && st->hi > st->lo))
        return bad_distribution(p, st, value, "needs 0 < a < b");
    if (st->kind == V_UNIFORM && !(st->hi > st->lo))
        return bad_distribution(p, st, value, "needs a < b");
    if (one_minus && setting_is_integer(st->key))
        return bad_distribution(p, st, value, "1 - loguniform draws fractions, %s is an integer key",
                                SETTINGS[st->key].key);
    if (setting_is_integer(st->key)) {
        /* draws are rounded to the nearest integer, so bounds inside the
           key's range keep every draw inside it */
        long min, max;
        setting_int_range(st->key, FROM_FILE, &min, &max);
        long hi = max > LONG_DRAW_MAX ? LONG_DRAW_MAX : max;
        double lo = min < -LONG_DRAW_MAX ? -(double)LONG_DRAW_MAX : (double)min;
        if (st->lo < lo) return bad_distribution(p, st, value, "needs a >= %.0f", lo);
        if (st->hi > (double)hi) return bad_distribution(p, st, value, "needs b <= %ld", hi);
    }
    return 1;
}

int grid_parse_assignment(Parser *p, Assignment *st, const char *value) {
    /* `1 - loguniform(a, b)`: a value near 1 whose distance from 1 is
       log-uniform (a momentum) */
    int one_minus = 0;
    const char *const given = value, *after_one = value;
    if (*after_one == '1') {
        after_one = grid_skip_space(after_one + 1);
        if (*after_one == '-' && isalpha((unsigned char)*grid_skip_space(after_one + 1))) {
            one_minus = 1;
            value = grid_skip_space(after_one + 1);
        }
    }
    const char *s = value;
    while (isalnum((unsigned char)*s) || *s == '_') s++;
    const char *open = grid_skip_space(s);
    if (s > value && *open == '(' && !isdigit((unsigned char)*value)) {
        char word[32];
        if (!copy_trimmed(value, (size_t)(s - value), word, sizeof word) ||
            (strcmp(word, "loguniform") && strcmp(word, "uniform") && strcmp(word, "choice")))
            return fail(p, "%s: unknown distribution '%.*s' (expected loguniform, uniform or choice)",
                        SETTINGS[st->key].key, (int)(s - value), value);
        return parse_distribution(p, st, word, open, given, one_minus);
    }
    if (one_minus)
        return fail(p, "%s: '1 -' must be followed by loguniform(a, b), got '%s'", SETTINGS[st->key].key,
                    given);
    st->kind = V_LIST;
    return parse_items(p, st, value, strlen(value), value);
}

/* trial t of a distribution: its own stream, from (experiment seed, section,
   key, t) only, so that every point of the product gets the same draws and
   adding a key or a section changes no other draw; with draws = per_point
   the point's list values join them, so each point has its own search and
   adding a value to a list changes no other point's draws */
SettingValue grid_draw(const Section *sec, const Assignment *st, uint64_t experiment_seed, int t,
                       const char *point) {
    char text[1024];
    int n = snprintf(text, sizeof text, "%s\n%s\n%d%s%s", sec->name, SETTINGS[st->key].key, t,
                     *point ? "\n" : "", point);
    if (n >= (int)sizeof text) n = (int)sizeof text - 1;
    Rng rng;
    rng_seed(&rng, hash_bytes(text, (uint64_t)n, experiment_seed));
    SettingValue v;
    if (st->kind == V_CHOICE) return st->values[rng_int(&rng, st->n_values)];
    memset(&v, 0, sizeof v);
    if (st->kind == V_LOGUNIFORM) v.x = exp(rng_range(&rng, log(st->lo), log(st->hi)));
    else if (st->kind == V_ONE_MINUS_LOGUNIFORM) v.x = 1 - exp(rng_range(&rng, log(st->lo), log(st->hi)));
    else v.x = rng_range(&rng, st->lo, st->hi);
    if (setting_is_integer(st->key)) v.i = lround(v.x);
    return v;
}
