/* results_parts.c: the parts folder on resume: each file kept (its run
   recorded), removed (a failed run, retried) or moved aside (torn, of
   another experiment, unknown); and clearing it to start over. */
#include "results_private.h"
#include "h5io.h"
#include "run_record.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    /* A part is a run of this grid when its id is (a run's id is its
       parameters and the experiment seed), whichever version of the
       experiment wrote it: a grown study keeps the parts of the version it
       grew from. base.h5 is only ever an earlier FILE.h5, of this version or
       an earlier one; only its runs of this grid are used. */
    int ours_format = 0, ours = 0;
    if (f >= 0 && !is_ours(f, want_hash, &ours_format)) {
        char id[32] = "";
        if (!strcmp(name, "base.h5")) ours = ours_format;
        else ours = h5_read_attr_str(f, "id", id, sizeof id) == 0 && !strncmp(id, name, 16) && strlen(id) == 16 &&
                    h5_read_attr_str(f, "experiment_hash", id, sizeof id) == 0;
    } else {
        ours = f >= 0;
    }
    if (f < 0 || h5_check_seal(f) != 0 || !ours) {
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

int scan_parts(Results *rs, PartsScan *ps, const char *want_hash, int main_complete) {
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

/* removes every part of the folder (--force: starting over) */
void clear_parts(Results *rs) {
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
