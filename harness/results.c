/* results.c: a grid's results file from open to finish; see results.h for
   the layout and why it is crash-safe. What resume trusts, in order: the
   parts (each a whole run of this experiment by this build), then the runs
   of an earlier complete file (base). The index is only a view: when it is
   unreadable it is rebuilt, never trusted. Nothing that might be a user's
   data is deleted: what does not belong is moved aside, with a message. */
#include "results.h"
#include "durable.h"
#include "h5io.h"
#include "isolate.h"
#include "run_record.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
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

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void hash_text(const Results *rs, char *out, size_t n) {
    snprintf(out, n, "%016llx", (unsigned long long)rs->experiment_hash);
}

static int run_index_of(const Experiment *ex, const char *id) {
    for (int i = 0; i < ex->n_runs; i++)
        if (!strcmp(ex->runs[i].id, id)) return i;
    return -1;
}

/* records row (run run_index, data at src), replacing an earlier row of the run */
static int put_row(Results *rs, const SummaryRow *row, int run_index, RunSource src) {
    int at = rs->row_of[run_index];
    if (at < 0) {
        if (rs->n_rows == rs->cap_rows) {
            int cap = rs->cap_rows ? 2 * rs->cap_rows : 64;
            SummaryRow *p = realloc(rs->rows, (size_t)cap * sizeof(SummaryRow));
            if (!p) return -1;
            rs->rows = p;
            rs->cap_rows = cap;
        }
        at = rs->n_rows++;
        rs->row_of[run_index] = at;
    } else {
        rs->n_finished -= summary_row_finished(&rs->rows[at]);
    }
    rs->rows[at] = *row;
    rs->rows[at].run_index = run_index;
    rs->n_finished += summary_row_finished(row);
    rs->source[run_index] = (char)src;
    return 0;
}

static void forget_rows(Results *rs) {
    rs->n_rows = rs->n_finished = 0;
    for (int i = 0; i < rs->ex->n_runs; i++) {
        rs->row_of[i] = -1;
        rs->source[i] = SRC_NONE;
    }
}

int results_done(Results *rs, int run_index) {
    int at = rs->row_of[run_index];
    return at >= 0 && summary_row_finished(&rs->rows[at]);
}

/* ------------------------------------------------------------------------- */
/* the index / final file */

static int write_file_attrs(hid_t f, const Results *rs, int complete) {
    const Experiment *ex = rs->ex;
    char host[256] = "unknown", hash_s[32];
    gethostname(host, sizeof host - 1);
    hash_text(rs, hash_s, sizeof hash_s);
    int rc = 0;
    rc |= h5_attr_str(f, "format", RESULTS_FORMAT_NAME);
    rc |= provenance_write(f);
    rc |= h5_attr_str(f, "rnnbench_version", RNNBENCH_VERSION);
    rc |= h5_attr_str(f, "experiment_name", ex->name);
    rc |= h5_attr_str(f, "experiment_path", ex->path);
    rc |= h5_attr_str(f, "experiment_text", ex->text ? ex->text : "");
    rc |= h5_attr_str(f, "experiment_hash", hash_s);
    rc |= h5_attr_u64(f, "experiment_seed", ex->seed);
    rc |= h5_attr_str(f, "start_time", rs->start_time);
    rc |= h5_attr_str(f, "host", host);
    rc |= h5_attr_int(f, "n_runs", ex->n_runs);
    rc |= h5_attr_int(f, "n_finished", rs->n_finished);
    rc |= h5_attr_int(f, "n_failed", rs->n_rows - rs->n_finished);
    rc |= h5_attr_int(f, "complete", complete);
    rc |= h5_seal(f);
    return rc;
}

/* /runs/<id> of the new file: a copy (consolidate) or an external link */
static int put_run(Results *rs, hid_t runs, const char *id, int src, int consolidate, char *err, size_t n) {
    char file[1300], rel[1300], obj[64];
    const char *parts_base = base_name(rs->parts);
    if (src == SRC_BASE) {
        snprintf(file, sizeof file, "%s", rs->base);
        snprintf(rel, sizeof rel, "%s/base.h5", parts_base);
        snprintf(obj, sizeof obj, "/runs/%s", id);
    } else {
        snprintf(file, sizeof file, "%s/%s.h5", rs->parts, id);
        snprintf(rel, sizeof rel, "%s/%s.h5", parts_base, id);
        snprintf(obj, sizeof obj, "/");
    }
    if (!consolidate) return H5Lcreate_external(rel, obj, runs, id, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    hid_t fapl = h5_fapl();
    hid_t srcf = H5Fopen(file, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    int rc = srcf >= 0 && H5Ocopy(srcf, obj, runs, id, H5P_DEFAULT, H5P_DEFAULT) >= 0 ? 0 : -1;
    if (srcf >= 0) H5Fclose(srcf);
    if (rc) snprintf(err, n, "cannot copy run %s from '%s'", id, file);
    return rc;
}

/* Writes FILE.h5: the index (external links into the parts) or, when
   consolidate, the self-contained file with the runs copied in. */
static int write_main(Results *rs, int consolidate, char *err, size_t n) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", rs->path);
    h5_quiet(); /* per thread in a thread-safe libhdf5: the caller may be any worker */
    hid_t f = h5_create(tmp);
    if (f < 0) {
        snprintf(err, n, "cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    err[0] = '\0';
    int rc = write_file_attrs(f, rs, consolidate);
    rc |= summary_write(f, rs->rows, rs->n_rows);
    /* summary_write sorted rows by run: the map follows */
    for (int i = 0; i < rs->n_rows; i++) rs->row_of[rs->rows[i].run_index] = i;
    hid_t runs = h5_group(f, "runs");
    if (runs < 0) rc = -1;
    for (int i = 0; i < rs->n_rows && rc == 0; i++) {
        int idx = rs->rows[i].run_index;
        rc = put_run(rs, runs, rs->rows[i].id, rs->source[idx], consolidate, err, n);
    }
    if (runs >= 0) H5Gclose(runs);
    if (H5Fclose(f) < 0) rc = -1;
    if (rc != 0) {
        if (!err[0]) snprintf(err, n, "cannot write '%s' (disk full or not writable?)", tmp);
        remove(tmp);
        return -1;
    }
    if (commit_file(tmp, rs->path, err, n) != 0) return -1;
    rs->index_dirty = 0;
    rs->index_written_s = now_s();
    return 0;
}

/* ------------------------------------------------------------------------- */
/* what resume finds */

typedef enum { MAIN_ABSENT, MAIN_SAME, MAIN_OTHER_EXPERIMENT, MAIN_FOREIGN, MAIN_UNREADABLE } MainKind;

typedef struct {
    MainKind kind;
    int complete;
    int summary_ok;
    char provenance_err[512];
    const char *unreadable_why;
} MainInfo;

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static hid_t open_ro(const char *path) {
    if (H5Fis_hdf5(path) <= 0) return -1;
    hid_t fapl = h5_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

/* 1 when f is a results file (or part) of this experiment */
static int is_ours(hid_t f, const char *want_hash, int *ours_format) {
    char fmt[64], hash[32];
    int fmt_ok = h5_read_attr_str(f, "format", fmt, sizeof fmt) == 0 && !strcmp(fmt, RESULTS_FORMAT_NAME);
    if (ours_format) *ours_format = fmt_ok;
    return h5_read_attr_str(f, "experiment_hash", hash, sizeof hash) == 0 && !strcmp(hash, want_hash);
}

/* rows of a complete file (or base.h5) f: from its summary, else from its
   run groups (the summary was damaged). Returns how many runs it gave. */
static int rows_from_complete(Results *rs, hid_t f, int *summary_ok) {
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
    return got;
}

static MainInfo inspect_main_direct(Results *rs, const char *want_hash);

typedef struct {
    Results *rs;
    const char *want_hash;
} Probe;

/* copies each run of f that rs took from it into a file in memory, one at
   a time (what consolidating them will read); the ids of those that fail
   go to fd */
static void copy_runs_to_memory(Results *rs, hid_t f, int fd) {
    for (int i = 0; i < rs->n_rows; i++) {
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_fapl_core(fapl, 1 << 20, 0); /* no backing file */
        hid_t mem = H5Fcreate("probe", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        H5Pclose(fapl);
        char obj[64];
        snprintf(obj, sizeof obj, "runs/%s", rs->rows[i].id);
        int ok = mem >= 0 && H5Ocopy(f, obj, mem, "run", H5P_DEFAULT, H5P_DEFAULT) >= 0;
        if (mem >= 0) H5Fclose(mem);
        if (!ok) write_all(fd, rs->rows[i].id, 16);
    }
}

/* forgets run run_index: it is run again */
static void drop_row(Results *rs, int run_index) {
    int at = rs->row_of[run_index];
    if (at < 0) return;
    rs->n_finished -= summary_row_finished(&rs->rows[at]);
    rs->rows[at] = rs->rows[--rs->n_rows];
    rs->row_of[rs->rows[at].run_index] = at;
    rs->row_of[run_index] = -1;
    rs->source[run_index] = SRC_NONE;
}

/* in the child: everything resume will read of FILE.h5 and parts/base.h5 */
static int probe_files(void *arg, int fd) {
    Probe *p = arg;
    MainInfo mi = inspect_main_direct(p->rs, p->want_hash);
    hid_t f = -1;
    if (mi.kind == MAIN_SAME && mi.complete) {
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

static MainInfo inspect_main(Results *rs, const char *want_hash) {
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
    if (st == ISOLATED_OK && mi.kind == MAIN_SAME && mi.complete) {
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
    } else if (is_ours(f, want_hash, &ours_format)) {
        mi.kind = MAIN_SAME;
        long long c = 0;
        h5_read_attr_long(f, "complete", &c);
        mi.complete = c == 1;
        h5_read_attr_str(f, "start_time", rs->start_time, sizeof rs->start_time);
        if (provenance_check(f, mi.provenance_err, sizeof mi.provenance_err) != 0) {
            H5Fclose(f);
            return mi;
        }
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

typedef struct {
    int moved;           /* files moved to the stale folder */
    char stale_dir[1300];
    int other_build;     /* parts of this experiment written by another build */
    char provenance_err[512];
} PartsScan;

/* moves parts/name into the stale folder (made on first use) */
static void move_stale(Results *rs, PartsScan *ps, const char *name) {
    char from[1400], to[2800];
    snprintf(from, sizeof from, "%s/%s", rs->parts, name);
    if (!ps->stale_dir[0]) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
        for (int k = 0; k < 1000; k++) {
            if (k) snprintf(ps->stale_dir, sizeof ps->stale_dir, "%s.stale-%s-%d", rs->parts, stamp, k);
            else snprintf(ps->stale_dir, sizeof ps->stale_dir, "%s.stale-%s", rs->parts, stamp);
            if (mkdir(ps->stale_dir, 0777) == 0) break;
            if (errno != EEXIST) break;
        }
    }
    snprintf(to, sizeof to, "%s/%s", ps->stale_dir, name);
    if (rename(from, to) == 0) ps->moved++;
}

/* parts/name opened when it is a whole file of this experiment by this
   build; else -1, and it is moved aside (another experiment, damaged) or
   noted (another build: resuming is refused) */
static hid_t open_trusted(Results *rs, PartsScan *ps, const char *name, const char *want_hash) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", rs->parts, name);
    hid_t f = open_ro(path);
    if (f < 0 || h5_check_seal(f) != 0 || !is_ours(f, want_hash, NULL)) {
        if (f >= 0) H5Fclose(f);
        move_stale(rs, ps, name);
        return -1;
    }
    char why[512];
    if (provenance_check(f, why, sizeof why) != 0) {
        H5Fclose(f);
        if (!ps->other_build) snprintf(ps->provenance_err, sizeof ps->provenance_err, "%s", why);
        ps->other_build = 1;
        return -1;
    }
    return f;
}

/* one <id>.h5 of the parts folder: kept (its row recorded), removed (a
   failed run, retried now; or a duplicate of a run the complete file holds)
   or moved aside (torn, of another experiment, or unknown) */
static int scan_part(Results *rs, PartsScan *ps, const char *name, const char *want_hash, int main_complete) {
    char path[1400], id[17];
    snprintf(path, sizeof path, "%s/%s", rs->parts, name);
    memcpy(id, name, 16);
    id[16] = '\0';
    int idx = run_index_of(rs->ex, id);
    hid_t f = idx >= 0 ? open_trusted(rs, ps, name, want_hash) : -1;
    if (f < 0) {
        if (idx < 0) move_stale(rs, ps, name);
        return 0;
    }
    SummaryRow row;
    int ok = summary_row_from_group(&row, f, &rs->ex->runs[idx], idx) == 0;
    H5Fclose(f);
    if (!ok) { move_stale(rs, ps, name); return 0; }
    int have = rs->row_of[idx] >= 0 && summary_row_finished(&rs->rows[rs->row_of[idx]]);
    if (!summary_row_finished(&row) || (main_complete && have)) {
        remove(path); /* a failed attempt (retried now), or a copy of a run FILE.h5 holds */
        return 0;
    }
    return put_row(rs, &row, idx, SRC_PART);
}

/* base.h5 (an earlier complete FILE.h5 of this grid): its runs, unless the
   main file is itself complete (then base is a leftover link to it) */
static int scan_base(Results *rs, PartsScan *ps, const char *want_hash, int main_complete) {
    if (main_complete) { remove(rs->base); return 0; }
    if (rs->base_unreadable) { move_stale(rs, ps, "base.h5"); return 0; }
    hid_t f = open_trusted(rs, ps, "base.h5", want_hash);
    if (f < 0) return 0;
    int summary_ok;
    rows_from_complete(rs, f, &summary_ok);
    H5Fclose(f);
    return 0;
}

static int is_part_name(const char *name) {
    if (strlen(name) != 19 || strcmp(name + 16, ".h5")) return 0;
    for (int i = 0; i < 16; i++)
        if (!strchr("0123456789abcdef", name[i])) return 0;
    return 1;
}

static int scan_parts(Results *rs, PartsScan *ps, const char *want_hash, int main_complete) {
    memset(ps, 0, sizeof *ps);
    DIR *d = opendir(rs->parts);
    if (!d) return 0;
    struct stat st;
    if (access(rs->base, F_OK) == 0) scan_base(rs, ps, want_hash, main_complete);
    /* names first: moving entries while reading the folder may skip some */
    char (*names)[256] = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "base.h5")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            void *p = realloc(names, (size_t)cap * sizeof *names);
            if (!p) { free(names); closedir(d); return -1; }
            names = p;
        }
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", rs->parts, names[i]);
        if (ends_with(names[i], ".tmp") && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            remove(path); /* a run that was being written when the grid stopped */
        } else if (is_part_name(names[i])) {
            if (scan_part(rs, ps, names[i], want_hash, main_complete) != 0) { free(names); return -1; }
        } else {
            move_stale(rs, ps, names[i]);
        }
    }
    free(names);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* open / add / flush / finish */

static int fail_open(Results *rs, char *err, size_t n, int *status, int st, const char *fmt, const char *a,
                     const char *b) {
    snprintf(err, n, fmt, a, b);
    *status = st;
    results_close(rs);
    return -1;
}

/* removes every part of the folder (--force: starting over) */
static void clear_parts(Results *rs) {
    DIR *d = opendir(rs->parts);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", rs->parts, e->d_name);
        remove(p);
    }
    closedir(d);
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
    /* one writer: nothing is created or replaced before this */
    if (output_lock(path, &rs->lock_fd, err, n) != 0) { *status = 1; results_close(rs); return -1; }
    time_t now = time(NULL);
    strftime(rs->start_time, sizeof rs->start_time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    char want[32];
    hash_text(rs, want, sizeof want);
    MainInfo mi = inspect_main(rs, want);
    int parts_exist = access(rs->parts, F_OK) == 0;
    switch (mi.kind) {
    case MAIN_SAME:
        if (mi.provenance_err[0] && !force)
            return fail_open(rs, err, n, status, 2,
                             "%s was written by another build of rnnbench: %s; resuming would mix two builds' numbers "
                             "in one file (use that build, -o another file, or --force to start over)",
                             path, mi.provenance_err);
        if (mi.provenance_err[0]) { forget_rows(rs); clear_parts(rs); mi.complete = 0; }
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
    if (scan_parts(rs, &ps, want, mi.kind == MAIN_SAME && mi.complete) != 0)
        return fail_open(rs, err, n, status, 1, "out of memory reading %s%s", rs->parts, "");
    if (ps.other_build && !force)
        return fail_open(rs, err, n, status, 2,
                         "%s.parts holds runs written by another build of rnnbench: %s; resuming would mix two builds' numbers "
                         "(use that build, -o another file, or --force to start over)", path, ps.provenance_err);
    if (ps.other_build) { /* --force: start over, as the message says */
        forget_rows(rs);
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
    if (mkdir_if_missing(rs->parts) != 0)
        return fail_open(rs, err, n, status, 1, "cannot create '%s': %s", rs->parts, strerror(errno));
    if (mi.kind == MAIN_SAME && mi.complete && rs->n_rows > 0) {
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

/* writes r as parts/<id>.h5 */
static int write_part(Results *rs, const RunResult *r, char *err, size_t n) {
    char tmp[1400], final[1300];
    snprintf(final, sizeof final, "%s/%s.h5", rs->parts, r->cfg.id);
    snprintf(tmp, sizeof tmp, "%s.tmp", final);
    hid_t f = h5_create(tmp);
    if (f < 0) {
        snprintf(err, n, "cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    int rc = run_record_write(f, r, rs->experiment_hash);
    if (H5Fclose(f) < 0) rc = -1;
    if (rc != 0) {
        snprintf(err, n, "cannot write '%s' (disk full or not writable?)", tmp);
        remove(tmp);
        return -1;
    }
    return commit_file(tmp, final, err, n);
}

int results_add(Results *rs, const RunResult *r, int run_index, char *err, size_t n) {
    pthread_mutex_lock(&rs->mu);
    h5_quiet();
    int rc = write_part(rs, r, err, n);
    if (rc == 0) {
        SummaryRow row;
        summary_row_from_result(&row, r, run_index);
        rc = put_row(rs, &row, run_index, SRC_PART);
        if (rc) snprintf(err, n, "out of memory");
    }
    if (rc == 0) {
        rs->index_dirty = 1;
        if (now_s() - rs->index_written_s >= RESULTS_INDEX_INTERVAL_S) rc = write_main(rs, 0, err, n);
    }
    pthread_mutex_unlock(&rs->mu);
    return rc;
}

int results_flush(Results *rs, double min_age_s, char *err, size_t n) {
    pthread_mutex_lock(&rs->mu);
    int rc = 0;
    if (rs->index_dirty && now_s() - rs->index_written_s >= min_age_s) rc = write_main(rs, 0, err, n);
    pthread_mutex_unlock(&rs->mu);
    return rc;
}

int results_finish(Results *rs, char *err, size_t n) {
    if (rs->index_written_s < 0) return 0; /* the file was already whole */
    pthread_mutex_lock(&rs->mu);
    /* the summary, attributes and HDF5 overhead, then the runs' data */
    unsigned long long need = (64u << 10) + 2048ull * (unsigned long long)rs->n_rows;
    struct stat st;
    int uses_base = 0;
    for (int i = 0; i < rs->n_rows; i++) {
        char p[1300];
        uses_base |= rs->source[rs->rows[i].run_index] == SRC_BASE;
        snprintf(p, sizeof p, "%s/%s.h5", rs->parts, rs->rows[i].id);
        if (rs->source[rs->rows[i].run_index] == SRC_PART && stat(p, &st) == 0)
            need += (unsigned long long)st.st_size + st.st_size / 4;
    }
    if (uses_base && stat(rs->base, &st) == 0) need += (unsigned long long)st.st_size + st.st_size / 4;
    /* the index first, so that it lists every run even if combining fails */
    int rc = rs->index_dirty ? write_main(rs, 0, err, n) : 0;
    if (rc == 0) rc = room_for(rs->path, need, "combine the runs into", err, n);
    if (rc == 0) rc = write_main(rs, 1, err, n);
    if (rc == 0) {
        /* the runs now live in FILE.h5: the parts can go */
        for (int i = 0; i < rs->n_rows; i++) {
            char p[1300];
            snprintf(p, sizeof p, "%s/%s.h5", rs->parts, rs->rows[i].id);
            if (rs->source[rs->rows[i].run_index] == SRC_PART) remove(p);
        }
        remove(rs->base);
        rmdir(rs->parts);
        rs->index_written_s = -1;
    }
    pthread_mutex_unlock(&rs->mu);
    return rc;
}

void results_close(Results *rs) {
    if (rs->lock_fd >= 0) output_unlock(rs->path, rs->lock_fd);
    rs->lock_fd = -1;
    free(rs->rows);
    free(rs->row_of);
    free(rs->source);
    rs->rows = NULL;
    rs->row_of = NULL;
    rs->source = NULL;
    pthread_mutex_destroy(&rs->mu);
}
