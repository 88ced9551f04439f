/* util.h: small strict parsers for numbers given on the command line or in
   files (the whole string must be a number in range), and the version. */
#ifndef RNNBENCH_UTIL_H
#define RNNBENCH_UTIL_H

#define RNNBENCH_VERSION "0.1.0"

/* each returns 1 when s is entirely a valid value (in [lo, hi]), else 0 */
int parse_long(const char *s, long lo, long hi, long *out);
int parse_u64(const char *s, unsigned long long *out);
int parse_double(const char *s, double *out);

#endif
