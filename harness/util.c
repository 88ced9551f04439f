/* util.c: see util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* numbers */

/* strtol and friends skip leading space, and strtoull takes " -1" as 2^64 - 1 */
static int starts_clean(const char *s) { return *s && !isspace((unsigned char)*s); }

int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    if (!starts_clean(s)) return 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int parse_u64(const char *s, unsigned long long *out) {
    char *end;
    errno = 0;
    if (!starts_clean(s) || *s == '-') return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *out = v;
    return 1;
}

int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    if (!starts_clean(s)) return 0;
    double v = strtod(s, &end);
    /* ERANGE: rounded to 0 or infinity, or below DBL_MIN (precision lost) */
    if (errno || end == s || *end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* an optional sign and decimal digits, in any number */
static int is_integer_text(const char *s) {
    if (*s == '+' || *s == '-') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int is_type_min(long v) { return v == LONG_MIN || v == INT_MIN; }
static int is_type_max(long v) { return v == LONG_MAX || v == INT_MAX; }

void why_not_long(const char *s, long lo, long hi, char *out, size_t n) {
    /* an integer here is out of [lo, hi]; a bound that is only the type's
       own is named only when the value is beyond it */
    int integer = is_integer_text(s), below = 0;
    if (integer) {
        errno = 0;
        long v = strtol(s, NULL, 10);
        below = v < lo || (errno == ERANGE && v == LONG_MIN);
    }
    if (integer && below && !is_type_min(lo) && is_type_max(hi))
        snprintf(out, n, "expected an integer >= %ld, got '%s'", lo, s);
    else if (integer || !is_type_max(hi))
        snprintf(out, n, "expected an integer from %ld to %ld, got '%s'", lo, hi, s);
    else if (!is_type_min(lo))
        snprintf(out, n, "expected an integer >= %ld, got '%s'", lo, s);
    else
        snprintf(out, n, "expected an integer, got '%s'", s);
}

void why_not_u64(const char *s, char *out, size_t n) {
    snprintf(out, n, "expected an integer from 0 to %llu, got '%s'", (unsigned long long)ULLONG_MAX, s);
}

void why_not_double(const char *s, const char *what, char *out, size_t n) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int whole = starts_clean(s) && end != s && !*end;
    if (whole && errno == ERANGE && fabs(v) < 1)
        snprintf(out, n, "'%s' is too small: below the smallest normal double (%.2g)", s, DBL_MIN);
    else if (whole && errno == ERANGE)
        snprintf(out, n, "'%s' is too large: above the largest double (%.2g)", s, DBL_MAX);
    else
        snprintf(out, n, "expected %s, got '%s'", what, s);
}

/* ------------------------------------------------------------------------- */
/* text in messages */

/* The character at s[0..n): its code point and byte length, or -1 (length 1)
   for a byte that does not start a valid UTF-8 character (overlong forms and
   surrogates included). */
static long utf8_next(const unsigned char *s, size_t n, size_t *len) {
    *len = 1;
    unsigned c = s[0];
    if (c < 0x80) return c;
    /* the lead byte gives the length, and the smallest code point of that
       length (anything less is an overlong form) */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    long min = need == 4 ? 0x10000 : need == 3 ? 0x800 : 0x80;
    if (c < 0xC2 || c > 0xF4) return -1;
    if (need > n) return -1;
    long cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return -1;
    *len = need;
    return cp;
}

int char_is_hidden(long cp) {
    static const long RANGES[][2] = {
        {0x0000, 0x001F}, {0x007F, 0x00A0}, /* C0, DEL, C1, no-break space */
        {0x00AD, 0x00AD}, {0x034F, 0x034F}, /* soft hyphen, combining grapheme joiner */
        {0x061C, 0x061C}, {0x115F, 0x1160}, /* Arabic letter mark, Hangul fillers */
        {0x1680, 0x1680}, {0x17B4, 0x17B5}, /* Ogham space, Khmer inherent vowels */
        {0x180B, 0x180F}, {0x2000, 0x200F}, /* Mongolian selectors; spaces, zero-width, LRM, RLM */
        {0x2028, 0x202F}, {0x205F, 0x206F}, /* separators, bidi embeddings; word joiner, isolates */
        {0x2800, 0x2800}, {0x3000, 0x3000}, /* braille blank, ideographic space */
        {0x3164, 0x3164}, {0xE000, 0xF8FF}, /* Hangul filler, private use */
        {0xFDD0, 0xFDEF}, {0xFE00, 0xFE0F}, /* non-characters, variation selectors */
        {0xFEFF, 0xFEFF}, {0xFFA0, 0xFFA0}, /* zero-width no-break space, halfwidth filler */
        {0xFFF0, 0xFFFB}, {0x1BCA0, 0x1BCA3}, /* interlinear annotation; shorthand format */
        {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF}, /* musical format; tags, variation selectors */
        {0xF0000, 0x10FFFF},                /* private use */
    };
    if ((cp & 0xFFFE) == 0xFFFE) return 1; /* U+FFFE, U+FFFF in every plane */
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++)
        if (cp >= RANGES[i][0] && cp <= RANGES[i][1]) return 1;
    return 0;
}

int text_is_utf8(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, len; i < n; i += len)
        if (utf8_next(u + i, n - i, &len) < 0) return 0;
    return 1;
}

long first_hidden_char(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, len; i < n; i += len) {
        long cp = utf8_next(u + i, n - i, &len);
        if (cp < 0) return 0xFFFD;
        if (char_is_hidden(cp)) return cp;
    }
    return 0;
}

char *text_visible(const char *s, char *out, size_t cap) {
    if (!cap) return out;
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    size_t keep = 0; /* the longest prefix of whole pieces that leaves room for "..." */
    for (size_t i = 0, len; i < n; i += len) {
        char piece[16];
        long cp = utf8_next(u + i, n - i, &len);
        size_t k = len;
        if (cp < 0) k = (size_t)snprintf(piece, sizeof piece, "<0x%02X>", u[i]);
        else if (char_is_hidden(cp)) k = (size_t)snprintf(piece, sizeof piece, "<U+%04lX>", cp);
        else memcpy(piece, s + i, len);
        if (o + k + 1 > cap) {
            o = keep;
            if (o + 4 <= cap) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(out + o, piece, k);
        o += k;
        if (o + 4 <= cap) keep = o;
    }
    out[o] = '\0';
    return out;
}

void print_error(const char *fmt, ...) {
    char raw[4096], shown[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", text_visible(raw, shown, sizeof shown));
}

void print_getopt_error(const char *cmd, int opt, char *const *argv) {
    /* the word getopt stopped at: it has moved optind past it, except inside
       a cluster of short options, where optopt names the letter */
    const char *word = argv[optind - 1];
    if (opt == ':')
        print_error("rnnbench %s: %s needs a value", cmd, word);
    else if (optopt && !strncmp(word, "--", 2) && strchr(word, '='))
        print_error("rnnbench %s: '%s': the option takes no value", cmd, word);
    else if (optopt > 0 && optopt < 128 && isprint(optopt))
        print_error("rnnbench %s: unknown option '-%c' (rnnbench %s --help lists them)", cmd, optopt, cmd);
    else
        print_error("rnnbench %s: unknown option '%s' (rnnbench %s --help lists them)", cmd, word, cmd);
}

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256], fmt[32];
    snprintf(fmt, sizeof fmt, "%s: %%lld kB", field);
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

long long peak_rss_bytes(void) { return status_kb("VmHWM"); }

long long current_rss_bytes(void) { return status_kb("VmRSS"); }

int reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}
