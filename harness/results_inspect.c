/* results_inspect.c: what resume finds in FILE.h5 and parts/base.h5 (an
   earlier complete file), read first in a child process because a damaged
   file can crash or hang libhdf5. See results_private.h. */
#include "results_private.h"
#include "h5io.h"
#include "isolate.h"
#include "run_record.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

hid_t open_ro(const char *path) {
    if (H5Fis_hdf5(path) <= 0) return -1;
    hid_t fapl = h5_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

/* 1 when f is a results file (or part) of this experiment */
int is_ours(hid_t f, const char *want_hash, int *ours_format) {
    char fmt[64], hash[32];
    int fmt_ok = h5_read_attr_str(f, "format", fmt, sizeof fmt) == 0 && !strcmp(fmt, RESULTS_FORMAT_NAME);
    if (ours_format) *ours_format = fmt_ok;
    return h5_read_attr_str(f, "experiment_hash", hash, sizeof hash) == 0 && !strcmp(hash, want_hash);
}

/* rows of a complete file (or base.h5) f: from its summary, else from its
   run groups (the summary was damaged). Returns how many runs it gave. */
int rows_from_complete(Results *rs, hid_t f, int *summary_ok) {
    SummaryRow *rows = NULL;
    int n_rows = 0, got = 0;
    *summary_ok = summary_read(f, GRID_MAX_RUNS, &rows, &n_rows) == 0;
    if (*summary_ok) {
        for (int k = 0; k < n_rows; k++) {
            int idx = run_index_of(rs->ex, rows[k].id);
            if (idx < 0 || rs->row_of[idx] >= 0) continue;
            /* the row must have its run in the file */
            char obj[64];
            snprintf(obj, sizeof obj, "runs/%s", rows[k].id);
            if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0 || H5Lexists(f, obj, H5P_DEFAULT) <= 0) continue;
            if (put_row(rs, &rows[k], idx, SRC_BASE) != 0) break;
            got++;
        }
        free(rows);
        dropped_from_complete(rs, f);
        return got;
    }
    hid_t runs = H5Lexists(f, "runs", H5P_DEFAULT) > 0 ? H5Gopen2(f, "runs", H5P_DEFAULT) : -1;
    if (runs < 0) return 0;
    for (int idx = 0; idx < rs->ex->n_runs; idx++) {
        const char *id = rs->ex->runs[idx].id;
        if (rs->row_of[idx] >= 0 || H5Lexists(runs, id, H5P_DEFAULT) <= 0) continue;
        hid_t g = H5Gopen2(runs, id, H5P_DEFAULT);
        if (g < 0) continue;
        SummaryRow row;
        if (h5_check_seal(g) == 0 && summary_row_from_group(&row, g, &rs->ex->runs[idx], idx) == 0 &&
            put_row(rs, &row, idx, SRC_BASE) == 0)
            got++;
        H5Gclose(g);
    }
    H5Gclose(runs);
    dropped_from_complete(rs, f); /* its /dropped; those of /runs not in the grid are lost with the summary */
    return got;
}

static MainInfo inspect_main_direct(Results *rs, const char *want_hash);

typedef struct {
    Results *rs;
    const char *want_hash;
} Probe;

/* copies each run of f that rs took from it into a file in memory, one at
   a time (what consolidating them will read). When one fails, the ids of
   all go to fd: a bit flipped in the structure that indexes the runs
   group fails some reads and not others, depending on what the library
   read first, so a run that copied here may fail later; none of them is
   trusted and all are run again */
static void copy_runs_to_memory(Results *rs, hid_t f, int fd) {
    int any_failed = 0;
    for (int i = 0; i < rs->n_rows && !any_failed; i++) {
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_fapl_core(fapl, 1 << 20, 0); /* no backing file */
        hid_t mem = H5Fcreate("probe", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        H5Pclose(fapl);
        char obj[64];
        int in_dropped = rs->source[rs->rows[i].run_index] == SRC_BASE_DROPPED;
        snprintf(obj, sizeof obj, "%sruns/%s", in_dropped ? "dropped/" : "", rs->rows[i].id);
        int ok = mem >= 0 && H5Ocopy(f, obj, mem, "run", H5P_DEFAULT, H5P_DEFAULT) >= 0;
        if (mem >= 0) H5Fclose(mem);
        any_failed = !ok;
    }
    for (int i = 0; i < rs->n_rows && any_failed; i++) write_all(fd, rs->rows[i].id, 16);
}

/* in the child: everything resume will read of FILE.h5 and parts/base.h5 */
static int probe_files(void *arg, int fd) {
    Probe *p = arg;
    MainInfo mi = inspect_main_direct(p->rs, p->want_hash);
    hid_t f = -1;
    if (mi.kind == MAIN_GROWN && mi.complete) {
        f = open_ro(p->rs->path); /* its runs are all copied into the grown file */
    } else if (mi.kind == MAIN_SAME && mi.complete) {
        /* its runs are copied again only when some are to be run or its summary rebuilt */
        if (p->rs->n_finished < p->rs->ex->n_runs || !mi.summary_ok) f = open_ro(p->rs->path);
    } else if (access(p->rs->base, F_OK) == 0) {
        f = open_ro(p->rs->base);
        int summary_ok;
        if (f >= 0 && h5_check_seal(f) == 0) rows_from_complete(p->rs, f, &summary_ok);
    }
    if (write_all(fd, "ok", 2) != 0) return -1;
    if (f >= 0) {
        copy_runs_to_memory(p->rs, f, fd);
        H5Fclose(f);
    }
    return 0;
}

/* reading a damaged file can crash or hang libhdf5: the first reading of
   FILE.h5 and base.h5 happens in a child (isolate.h), and a file that
   fails there is unreadable, never read here */
#define PROBE_TIMEOUT_S 300

MainInfo inspect_main(Results *rs, const char *want_hash) {
    MainInfo mi = {MAIN_ABSENT, 0, 0, "", "truncated or damaged HDF5 file?"};
    if (access(rs->path, F_OK) != 0 && access(rs->base, F_OK) != 0) return mi;
    Probe probe = {rs, want_hash};
    char *out;
    size_t len;
    int sig;
    IsolatedStatus st = isolated_run(probe_files, &probe, PROBE_TIMEOUT_S, &out, &len, &sig);
    if (st == ISOLATED_CRASHED || st == ISOLATED_TIMED_OUT) {
        free(out);
        if (access(rs->path, F_OK) == 0) mi.kind = MAIN_UNREADABLE;
        rs->base_unreadable = 1;
        mi.unreadable_why = st == ISOLATED_CRASHED ? "damaged: the HDF5 library crashed reading it"
                                                   : "damaged: the HDF5 library did not finish reading it";
        return mi;
    }
    mi = inspect_main_direct(rs, want_hash);
    if (st == ISOLATED_OK && (mi.kind == MAIN_SAME || mi.kind == MAIN_GROWN) && mi.complete) {
        /* runs the child could not copy are damaged beyond their attributes: run again */
        for (size_t at = 2; at + 16 <= len; at += 16) {
            char id[17];
            memcpy(id, out + at, 16);
            id[16] = '\0';
            int idx = run_index_of(rs->ex, id);
            if (idx >= 0) drop_row(rs, idx);
        }
    }
    free(out);
    return mi;
}

static MainInfo inspect_main_direct(Results *rs, const char *want_hash) {
    MainInfo mi = {MAIN_ABSENT, 0, 0, "", "truncated or damaged HDF5 file?"};
    if (access(rs->path, F_OK) != 0) return mi;
    int is_hdf5 = H5Fis_hdf5(rs->path) > 0;
    hid_t f = is_hdf5 ? open_ro(rs->path) : -1;
    if (f < 0) {
        mi.kind = is_hdf5 || ends_with(rs->path, ".h5") ? MAIN_UNREADABLE : MAIN_FOREIGN;
        return mi;
    }
    int ours_format = 0;
    if (h5_check_seal(f) != 0) {
        mi.kind = MAIN_UNREADABLE; /* a string attribute was changed: nothing of it can be trusted */
    } else if (is_ours(f, want_hash, &ours_format) ||
               (ours_format && shares_runs(f, rs->ex) &&
                h5_read_attr_str(f, "experiment_hash", rs->grown_from, sizeof rs->grown_from) == 0)) {
        mi.kind = rs->grown_from[0] ? MAIN_GROWN : MAIN_SAME;
        long long c = 0;
        h5_read_attr_long(f, "complete", &c);
        mi.complete = c == 1;
        h5_read_attr_str(f, "start_time", rs->start_time, sizeof rs->start_time);
        if (provenance_check(f, mi.provenance_err, sizeof mi.provenance_err) != 0) {
            H5Fclose(f);
            return mi;
        }
        versions_read(rs, f);
        if (mi.complete) {
            rows_from_complete(rs, f, &mi.summary_ok);
        } else {
            /* an index: its rows are a view of the parts, which are read below */
            SummaryRow *rows = NULL;
            int n_rows = 0;
            mi.summary_ok = summary_read(f, GRID_MAX_RUNS, &rows, &n_rows) == 0;
            free(rows);
        }
    } else {
        mi.kind = ours_format ? MAIN_OTHER_EXPERIMENT : MAIN_FOREIGN;
    }
    H5Fclose(f);
    return mi;
}
