/* durable.c: see durable.h. */
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int fsync_path(const char *path, int is_dir) {
    int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

void dir_of(const char *path, char *out, size_t n) {
    snprintf(out, n, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash) *(slash == out ? slash + 1 : slash) = '\0';
    else snprintf(out, n, ".");
}

int commit_file(const char *tmp, const char *final, char *err, size_t n) {
    char dir[4200];
    if (fsync_path(tmp, 0) != 0 || rename(tmp, final) != 0) {
        snprintf(err, n, "cannot write '%s': %s", final, strerror(errno));
        remove(tmp);
        return -1;
    }
    dir_of(final, dir, sizeof dir);
    fsync_path(dir, 1);
    return 0;
}

int mkdir_if_missing(const char *dir) {
    if (mkdir(dir, 0777) == 0) return 0;
    struct stat st;
    return errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

int room_for(const char *path, unsigned long long need, const char *what, char *err, size_t n) {
    char dir[4200];
    dir_of(path, dir, sizeof dir);
    struct statvfs vfs;
    unsigned long long avail = ULLONG_MAX;
    if (statvfs(dir, &vfs) == 0) avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < avail)
        avail = rl.rlim_cur;
    if (avail < need) {
        snprintf(err, n, "not enough room to %s '%s' (about %.2f MB needed, %.2f MB free; disk full or not writable?)",
                 what, path, need / 1e6, avail / 1e6);
        return -1;
    }
    return 0;
}

int move_aside(const char *path, const char *suffix, char *moved_to, size_t n) {
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
    for (int k = 0; k < 1000; k++) {
        if (k == 0) snprintf(moved_to, n, "%s.%s-%s", path, suffix, stamp);
        else snprintf(moved_to, n, "%s.%s-%s-%d", path, suffix, stamp, k);
        struct stat st;
        if (lstat(moved_to, &st) == 0) continue; /* never replace an earlier one */
        return rename(path, moved_to);
    }
    errno = EEXIST;
    return -1;
}

/* ------------------------------------------------------------------------- */
/* one writer per output */

static void lock_path(const char *output, char *out, size_t n) { snprintf(out, n, "%s.lock", output); }

/* what the holder wrote into the lock file, on one line */
static void read_holder(int fd, char *out, size_t n) {
    ssize_t got = pread(fd, out, n - 1, 0);
    out[got > 0 ? got : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (!out[0]) snprintf(out, n, "a process that has not said which yet");
}

int output_lock(const char *output, int *fd_out, char *err, size_t n) {
    char lpath[4200];
    lock_path(output, lpath, sizeof lpath);
    *fd_out = -1;
    /* the lock file may be removed by its holder between our open and flock:
       then we hold a lock on a name nobody sees, and must start again */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            snprintf(err, n, "cannot create the lock file '%s': %s", lpath, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char holder[256];
            read_holder(fd, holder, sizeof holder);
            close(fd);
            if (e == EWOULDBLOCK)
                snprintf(err, n, "%s is being written by another rnnbench (%s); wait for it to finish or stop it (lock: %s)",
                         output, holder, lpath);
            else
                snprintf(err, n, "cannot lock '%s': %s", lpath, strerror(e));
            return -1;
        }
        struct stat held, named;
        if (fstat(fd, &held) != 0 || stat(lpath, &named) != 0 || held.st_ino != named.st_ino ||
            held.st_dev != named.st_dev) {
            close(fd);
            continue;
        }
        char host[128] = "unknown", when[32], line[300];
        gethostname(host, sizeof host - 1);
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        int len = snprintf(line, sizeof line, "pid %ld on %s, since %s\n", (long)getpid(), host, when);
        if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
            /* the lock holds without the note; only the message to a second writer is poorer */
        }
        *fd_out = fd;
        return 0;
    }
    snprintf(err, n, "cannot lock '%s': it keeps being replaced", lpath);
    return -1;
}

void output_unlock(const char *output, int fd) {
    if (fd < 0) return;
    char lpath[4200];
    lock_path(output, lpath, sizeof lpath);
    unlink(lpath); /* while still held: a waiter then sees a new inode and retries */
    close(fd);
}
