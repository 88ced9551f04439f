/* isolate.c: see isolate.h. */
#include "isolate.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* appends what fd has to *buf; 1 at end of file, 0 for more, -1 on error */
static int read_some(int fd, char **buf, size_t *len, size_t *cap) {
    if (*cap - *len < 65536) {
        size_t cap2 = *cap ? 2 * *cap : 131072;
        char *p = realloc(*buf, cap2);
        if (!p) return -1;
        *buf = p;
        *cap = cap2;
    }
    ssize_t r = read(fd, *buf + *len, *cap - *len);
    if (r < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
    *len += (size_t)r;
    return r == 0;
}

IsolatedStatus isolated_run(int (*fn)(void *arg, int fd), void *arg, double timeout_s, char **out,
                            size_t *out_len, int *signal_out) {
    *out = NULL;
    *out_len = 0;
    *signal_out = 0;
    /* a shorter limit from the environment (tests that corrupt files on
       purpose, where libhdf5 may loop: each loop would otherwise cost the
       whole limit) */
    const char *limit_text = getenv("RNNBENCH_READ_TIMEOUT_S");
    if (limit_text) {
        char *end;
        double limit = strtod(limit_text, &end);
        if (end != limit_text && *end == '\0' && limit > 0 && limit < timeout_s) timeout_s = limit;
    }
    int fds[2];
    if (pipe(fds) != 0) return ISOLATED_NO_CHILD;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return ISOLATED_NO_CHILD;
    }
    if (pid == 0) {
        /* never outlive the parent (killed, it cannot kill a looping child),
           nor the time the parent waits */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) _exit(1);
        alarm((unsigned)timeout_s + 5);
        close(fds[0]);
        /* a crash inside libhdf5 makes glibc print its own line ("free():
           invalid pointer") on the child's stderr; the parent reports the
           crash in one line of its own, so the child's goes nowhere */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDERR_FILENO);
        int rc = fn(arg, fds[1]);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    double deadline = now_s() + timeout_s;
    int done = 0, timed_out = 0;
    while (!done) {
        double left = deadline - now_s();
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd p = {fds[0], POLLIN, 0};
        int ready = poll(&p, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
        if (ready < 0 && errno != EINTR) break;
        if (ready > 0 && (done = read_some(fds[0], &buf, &len, &cap)) < 0) break;
    }
    close(fds[0]);
    if (!done) kill(pid, SIGKILL); /* hung, or its output could not be taken */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *out = buf;
    *out_len = len;
    if (timed_out) return ISOLATED_TIMED_OUT;
    if (WIFSIGNALED(status)) {
        *signal_out = WTERMSIG(status);
        return done ? ISOLATED_CRASHED : ISOLATED_FAILED;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && done ? ISOLATED_OK : ISOLATED_FAILED;
}
