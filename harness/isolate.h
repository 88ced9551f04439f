/* isolate.h: reading a file that may be damaged, in a child process. libhdf5
   can crash (SIGSEGV) or loop forever on a corrupted file before any of its
   checksums is consulted; run in a child, that becomes a one-line error and
   the parent, and the files it holds, are untouched. */
#ifndef RNNBENCH_ISOLATE_H
#define RNNBENCH_ISOLATE_H

#include <stddef.h>

typedef enum {
    ISOLATED_OK,        /* fn returned 0; *out holds what it wrote */
    ISOLATED_FAILED,    /* fn returned non-zero (its own error, in *out if it wrote one) */
    ISOLATED_CRASHED,   /* the child died by a signal (*signal_out) */
    ISOLATED_TIMED_OUT, /* no end within timeout_s: killed */
    ISOLATED_NO_CHILD,  /* fork or pipe failed */
} IsolatedStatus;

/* Runs fn(arg, fd) in a child; what it writes to fd is returned in *out
   (malloc'ed, *out_len bytes; free it). The child shares nothing back but
   those bytes: fn must not change files. RNNBENCH_READ_TIMEOUT_S, when set
   to a smaller positive number of seconds, shortens timeout_s. */
IsolatedStatus isolated_run(int (*fn)(void *arg, int fd), void *arg, double timeout_s, char **out,
                            size_t *out_len, int *signal_out);

/* write all of buf to fd (for fn); 0 or -1 */
int write_all(int fd, const void *buf, size_t n);

#endif
