/* results.c: opening a grid's results (new, or resumed) and closing them;
   see results.h for the layout and why it is crash-safe. What resume trusts,
   in order: the parts (each a whole run of this experiment by this build),
   then the runs of an earlier complete file (base). The index is only a
   view: when it is unreadable it is rebuilt, never trusted. Nothing that
   might be a user's data is deleted: what does not belong is moved aside,
   with a message. The other jobs are in results_*.c (results_private.h). */
#include "results_private.h"
#include "durable.h"
#include "h5io.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t experiment_hash(const Experiment *ex) {
    uint64_t h = 0x5eed;
    for (int i = 0; i < ex->n_runs; i++) h = hash_bytes(ex->runs[i].id, 16, h);
    return h;
}

static int fail_open(Results *rs, char *err, size_t n, int *status, int st, const char *fmt, const char *a,
                     const char *b) {
    snprintf(err, n, fmt, a, b);
    *status = st;
    results_close(rs);
    return -1;
}

int results_open(Results *rs, const char *path, const Experiment *ex, int force, char *err,
                 size_t n, int *status) {
    memset(rs, 0, sizeof *rs);
    pthread_mutex_init(&rs->mu, NULL);
    rs->lock_fd = -1;
    h5_quiet();
    *status = 2;
    if (strlen(path) >= 1000) {
        snprintf(err, n, "output path of %zu bytes is too long (at most 999)", strlen(path));
        return -1;
    }
    snprintf(rs->path, sizeof rs->path, "%s", path);
    snprintf(rs->parts, sizeof rs->parts, "%s.parts", path);
    snprintf(rs->base, sizeof rs->base, "%s/base.h5", rs->parts);
    rs->ex = ex;
    rs->experiment_hash = experiment_hash(ex);
    rs->row_of = malloc((size_t)(ex->n_runs > 0 ? ex->n_runs : 1) * sizeof(int));
    rs->source = calloc(ex->n_runs > 0 ? ex->n_runs : 1, 1);
    if (!rs->row_of || !rs->source) return fail_open(rs, err, n, status, 1, "out of memory%s%s", "", "");
    forget_rows(rs);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail_open(rs, err, n, status, 2, "%s is a directory, not a results file%s", path, "");
    if (stat(ex->path, &st) == 0) {
        struct stat out_st;
        if (stat(path, &out_st) == 0 && out_st.st_ino == st.st_ino && out_st.st_dev == st.st_dev)
            return fail_open(rs, err, n, status, 2, "%s is the experiment file itself; give another -o%s", path, "");
    }
    /* the output's folder (results/ by default) is made when missing; only
       its last component, so that a mistyped path is an error, not a tree */
    char dir[1024];
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 && mkdir_if_missing(dir) != 0)
        return fail_open(rs, err, n, status, 1, "cannot create the folder '%s' for the results: %s", dir, strerror(errno));
    /* one writer: nothing is created or replaced before this */
    if (output_lock(path, &rs->lock_fd, err, n) != 0) { *status = 1; results_close(rs); return -1; }
    time_t now = time(NULL);
    strftime(rs->start_time, sizeof rs->start_time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    char want[32];
    hash_text(rs, want, sizeof want);
    MainInfo mi = inspect_main(rs, want);
    int parts_exist = access(rs->parts, F_OK) == 0;
    switch (mi.kind) {
    case MAIN_GROWN:
        if (force) { /* --force starts over, whatever the file holds */
            forget_rows(rs);
            history_forget(rs);
            clear_parts(rs);
            mi.complete = 0;
            rs->grown_from[0] = '\0';
            break;
        }
        /* the same build's checks as for the same experiment */
        /* fall through */
    case MAIN_SAME:
        if (mi.provenance_err[0] && !force)
            return fail_open(rs, err, n, status, 2,
                             "%s was written by another build of rnnbench: %s; resuming would mix two builds' numbers "
                             "in one file (use that build, -o another file, or --force to start over)",
                             path, mi.provenance_err);
        if (mi.provenance_err[0]) { forget_rows(rs); history_forget(rs); clear_parts(rs); mi.complete = 0; }
        rs->grown = mi.kind == MAIN_GROWN;
        break;
    case MAIN_OTHER_EXPERIMENT:
    case MAIN_FOREIGN:
        if (!force)
            return fail_open(rs, err, n, status, 2, "%s exists and holds %s; not overwriting it (use --force, or -o another file)",
                             path, mi.kind == MAIN_FOREIGN ? "something that is not an rnnbench results file"
                                                           : "the results of a different experiment");
        if (mi.kind == MAIN_FOREIGN && !ends_with(path, ".h5"))
            return fail_open(rs, err, n, status, 2, "%s is not an HDF5 file; rnnbench replaces only .h5 files, even with --force%s",
                             path, "");
        clear_parts(rs);
        break;
    case MAIN_UNREADABLE:
        if (!parts_exist && !force)
            return fail_open(rs, err, n, status, 2,
                             "%s cannot be read (%s) and no runs of it are left in its .parts folder; "
                             "not overwriting it (move it away, or --force)", path, mi.unreadable_why);
        if (parts_exist) {
            char moved[1300];
            if (move_aside(path, "damaged", moved, sizeof moved) != 0)
                return fail_open(rs, err, n, status, 1, "cannot move the damaged %s aside: %s", path, strerror(errno));
            fprintf(stderr, "rnnbench: %s could not be read (%s); moved it to %s and rebuilding the results from %s.parts\n",
                    path, mi.unreadable_why, moved, path);
        }
        break;
    case MAIN_ABSENT:
        break;
    }
    if (mi.kind == MAIN_SAME && mi.complete && !mi.summary_ok)
        fprintf(stderr, "rnnbench: %s: the summary table was unreadable; rebuilt it from the %d runs the file still holds\n",
                path, rs->n_rows);
    PartsScan ps;
    int main_complete = (mi.kind == MAIN_SAME || rs->grown) && mi.complete;
    if (scan_parts(rs, &ps, want, main_complete) != 0)
        return fail_open(rs, err, n, status, 1, "out of memory reading %s%s", rs->parts, "");
    if (ps.other_build && !force)
        return fail_open(rs, err, n, status, 2,
                         "%s.parts holds runs written by another build of rnnbench: %s; resuming would mix two builds' numbers "
                         "(use that build, -o another file, or --force to start over)", path, ps.provenance_err);
    if (ps.other_build) { /* --force: start over, as the message says */
        forget_rows(rs);
        history_forget(rs);
        clear_parts(rs);
        mi.complete = 0;
    }
    if (ps.moved)
        fprintf(stderr, "rnnbench: moved %d file%s that do not belong to this experiment from %s to %s\n", ps.moved,
                ps.moved == 1 ? "" : "s", rs->parts, ps.stale_dir);

    int all_done = rs->n_finished == ex->n_runs;
    int main_whole = mi.kind == MAIN_SAME && mi.complete && mi.summary_ok && !mi.provenance_err[0];
    int parts_used = 0;
    for (int i = 0; i < ex->n_runs; i++) parts_used |= rs->source[i] == SRC_PART;
    if (all_done && main_whole && !parts_used) {
        rmdir(rs->parts); /* empty after the scan, or left as it is */
        rs->index_written_s = -1; /* nothing to write: results_finish knows */
        return 0;
    }
    if (versions_add_current(rs) != 0)
        return fail_open(rs, err, n, status, 1, "out of memory%s%s", "", "");
    if (mkdir_if_missing(rs->parts) != 0)
        return fail_open(rs, err, n, status, 1, "cannot create '%s': %s", rs->parts, strerror(errno));
    if (main_complete && (rs->n_rows > 0 || rs->n_dropped > 0)) {
        /* FILE.h5 is about to become an index: its runs stay reachable as
           parts/base.h5 (a second name for the same file, so nothing is copied) */
        int linked = link(path, rs->base) == 0;
        if (!linked && rename(path, rs->base) != 0)
            return fail_open(rs, err, n, status, 1, "cannot keep the finished runs of %s in %s", path, rs->base);
    }
    /* write the index now: it proves the output is writable before any run starts */
    *status = 1;
    if (write_main(rs, 0, err, n) != 0) { results_close(rs); return -1; }
    return 0;
}

void results_close(Results *rs) {
    if (rs->lock_fd >= 0) output_unlock(rs->path, rs->lock_fd);
    rs->lock_fd = -1;
    free(rs->rows);
    free(rs->row_of);
    free(rs->source);
    history_forget(rs);
    rs->rows = NULL;
    rs->row_of = NULL;
    rs->source = NULL;
    pthread_mutex_destroy(&rs->mu);
}
