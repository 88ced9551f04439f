/* dataset.c: finding a data file, reading it whole and checking its
   SHA-256 (nettle), and freeing a SeqData. Parsing is pianoroll.c's. */
#include "dataset.h"

#include <errno.h>
#include <libgen.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const SPLIT_NAMES[N_SPLITS] = {"train", "valid", "test"};

void seqdata_free(SeqData *d) {
    for (int s = 0; s < N_SPLITS; s++) {
        free(d->split[s].start);
        free(d->split[s].len);
        free(d->split[s].frames);
    }
    memset(d, 0, sizeof *d);
}

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

int data_path(const char *relative, char *path, size_t path_len, char *err, size_t err_len) {
    const char *env = getenv("RNNBENCH_DATA_DIR");
    if (env && *env) {
        /* an explicit folder is the only place looked at */
        snprintf(path, path_len, "%s/%s", env, relative);
        if (file_exists(path)) return 0;
        snprintf(err, err_len, "%s: %s (RNNBENCH_DATA_DIR=%s)", path, strerror(errno), env);
        return -1;
    }
    char exe[4096] = "", exe_dir[4096] = ".";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(exe_dir, sizeof exe_dir, "%s", dirname(exe));
    }
    char candidates[3][4200];
    snprintf(candidates[0], sizeof candidates[0], "%s/../experiments/data/%s", exe_dir, relative);
    snprintf(candidates[1], sizeof candidates[1], "%s/../../experiments/data/%s", exe_dir, relative);
    snprintf(candidates[2], sizeof candidates[2], "experiments/data/%s", relative);
    for (int i = 0; i < 3; i++)
        if (file_exists(candidates[i])) {
            snprintf(path, path_len, "%s", candidates[i]);
            return 0;
        }
    snprintf(err, err_len,
             "experiments/data/%s: not found beside the binary (%s/..) nor in the current folder; "
             "run from the project or set RNNBENCH_DATA_DIR to its experiments/data",
             relative, exe_dir);
    return -1;
}

static void sha256_hex_of(const char *bytes, size_t len, char hex[2 * SHA256_DIGEST_SIZE + 1]) {
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)bytes);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) sprintf(hex + 2 * i, "%02x", digest[i]);
}

int data_read_checked(const char *path, const char *sha256_hex, char **bytes, size_t *len, char *err,
                      size_t err_len) {
    *bytes = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (used + 65536 + 1 > cap) {
            size_t new_cap = cap ? 2 * cap : 1 << 20;
            char *grown = realloc(buf, new_cap);
            if (!grown) {
                free(buf);
                fclose(f);
                snprintf(err, err_len, "%s: out of memory reading it", path);
                return -1;
            }
            buf = grown;
            cap = new_cap;
        }
        size_t got = fread(buf + used, 1, cap - used - 1, f);
        used += got;
        if (got == 0) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(buf);
        snprintf(err, err_len, "%s: read error", path);
        return -1;
    }
    buf[used] = '\0';
    char got_hex[2 * SHA256_DIGEST_SIZE + 1];
    sha256_hex_of(buf, used, got_hex);
    if (strcmp(got_hex, sha256_hex) != 0) {
        free(buf);
        /* short: the message travels in 256-byte buffers behind a prefix */
        snprintf(err, err_len, "%s: wrong SHA-256 (%.12s.. of %zu bytes, expected %.12s..): damaged or replaced; "
                 "restore it from git", path, got_hex, used, sha256_hex);
        return -1;
    }
    *bytes = buf;
    *len = used;
    return 0;
}
