/* util.h: small strict parsers for numbers given on the command line or in
   files (the whole string must be a number in range) and the reason when one
   is refused; text made safe to echo in a one-line message; the version; and
   the two measurements runs and benchmarks take: wall time and peak memory. */
#ifndef RNNBENCH_UTIL_H
#define RNNBENCH_UTIL_H

#include <stddef.h>

#define RNNBENCH_VERSION "0.1.0"

/* each returns 1 when s is entirely a valid value (in [lo, hi]), else 0:
   no leading or trailing space, no trailing text, no value that wraps or
   rounds to 0 or infinity (a double below DBL_MIN in magnitude, or above
   DBL_MAX), no inf or nan */
int parse_long(const char *s, long lo, long hi, long *out);
int parse_u64(const char *s, unsigned long long *out);
int parse_double(const char *s, double *out);

/* Why s was refused, as a phrase that follows "key: " or "--option: ":
     why_not_long("x", 1, INT_MAX)           expected an integer >= 1, got 'x'
     why_not_long("4294967297", 1, INT_MAX)  expected an integer from 1 to 2147483647, got '4294967297'
     why_not_u64("-1")                       expected an integer from 0 to 18446744073709551615, got '-1'
     why_not_double("1e-400", ...)           '1e-400' is too small: below the smallest normal double (2.2e-308)
     why_not_double("fast", "a number")      expected a number, got 'fast'
   s is quoted as given: pass the whole message through text_visible. */
void why_not_long(const char *s, long lo, long hi, char *out, size_t n);
void why_not_u64(const char *s, char *out, size_t n);
void why_not_double(const char *s, const char *what, char *out, size_t n);

/* Text that does not show as itself: control characters, and the characters
   that are invisible or look like a plain space, or reorder the text around
   them (NBSP, zero-width and bidirectional controls, variation selectors,
   tags, private-use and non-characters). A message shows them as <U+XXXX>. */
int char_is_hidden(long code_point);
/* 1 when s[0..n) is UTF-8: no overlong form, surrogate or code point past U+10FFFF */
int text_is_utf8(const char *s, size_t n);
/* the first hidden character of s[0..n), or 0 when none (a byte that is not
   UTF-8 counts, as 0xFFFD) */
long first_hidden_char(const char *s, size_t n);
/* s in out (of size cap), every hidden character written <U+XXXX> and every
   byte that is not UTF-8 <0xXX>; cut with "..." when it does not fit.
   Text already made visible passes through unchanged. Returns out. */
char *text_visible(const char *s, char *out, size_t cap);
/* one line on stderr: the formatted message through text_visible, then '\n' */
void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Command lines (getopt_long with opterr = 0 and an optstring that starts
   with ':'): the one line for what getopt refused, "rnnbench CMD: --lr needs
   a value" or "rnnbench CMD: unknown option '--bogus' (...)"; opt is what
   getopt_long returned (':' or '?'). */
void print_getopt_error(const char *cmd, int opt, char *const *argv);

/* monotonic clock in seconds */
double now_s(void);
/* the process's peak resident memory (VmHWM of /proc/self/status), -1 when unknown */
long long peak_rss_bytes(void);
/* resident memory now (VmRSS), and a reset of the high-water mark (Linux
   clear_refs; returns -1 where the kernel does not allow it) */
long long current_rss_bytes(void);
int reset_peak_rss(void);

#endif
