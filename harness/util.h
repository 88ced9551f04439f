/* util.h: small strict parsers for numbers given on the command line or in
   files (the whole string must be a number in range), the version, and the
   two measurements runs and benchmarks take: wall time and peak memory. */
#ifndef RNNBENCH_UTIL_H
#define RNNBENCH_UTIL_H

#define RNNBENCH_VERSION "0.1.0"

/* each returns 1 when s is entirely a valid value (in [lo, hi]), else 0 */
int parse_long(const char *s, long lo, long hi, long *out);
int parse_u64(const char *s, unsigned long long *out);
int parse_double(const char *s, double *out);

/* monotonic clock in seconds */
double now_s(void);
/* the process's peak resident memory (VmHWM of /proc/self/status), -1 when unknown */
long long peak_rss_bytes(void);
/* resident memory now (VmRSS), and a reset of the high-water mark (Linux
   clear_refs; returns -1 where the kernel does not allow it) */
long long current_rss_bytes(void);
int reset_peak_rss(void);

#endif
