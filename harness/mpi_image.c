/* mpi_image.c: see mpi_image.h. */
#include "mpi_image.h"
#include "h5io.h"
#include "run_record.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* libhdf5 is not thread-safe: the training threads of a worker rank take turns */
static pthread_mutex_t h5_turn = PTHREAD_MUTEX_INITIALIZER;

/* the whole of fd into a new buffer */
static int read_back(int fd, char **image, size_t *len) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) return -1;
    char *buf = malloc((size_t)st.st_size);
    if (!buf) return -1;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { free(buf); return -1; }
        got += (size_t)r;
    }
    *image = buf;
    *len = got;
    return 0;
}

/* a folder for the scratch file: TMPDIR, else memory (/dev/shm), else /tmp */
static const char *scratch_dir(void) {
    const char *t = getenv("TMPDIR");
    if (t && *t) return t;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0) return "/dev/shm";
    return "/tmp";
}

int run_image(const RunResult *r, uint64_t experiment_hash, char **image, size_t *len, char *err, size_t n) {
    *image = NULL;
    *len = 0;
    /* a scratch file, written exactly as write_part writes a part (libhdf5
       cannot create a file in memory under a path it can resolve), read back
       and removed */
    static unsigned serial;
    char path[1200];
    pthread_mutex_lock(&h5_turn);
    snprintf(path, sizeof path, "%s/rnnbench-%ld-%u.h5", scratch_dir(), (long)getpid(), serial++);
    h5_quiet();
    hid_t f = h5_create(path);
    int rc = f < 0 ? -1 : run_record_write(f, r, experiment_hash);
    if (f >= 0 && H5Fclose(f) < 0) rc = -1;
    pthread_mutex_unlock(&h5_turn);
    if (f < 0) {
        snprintf(err, n, "run %s: cannot create the scratch file '%s' for its records: %s (set TMPDIR to a writable folder)",
                 r->cfg.id, path, strerror(errno));
        return -1;
    }
    int fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 || read_back(fd, image, len) != 0) rc = -1;
    if (fd >= 0) close(fd);
    remove(path);
    if (rc != 0) snprintf(err, n, "run %s: cannot write its records to '%s' (disk full, or out of memory?)", r->cfg.id, path);
    return rc;
}
