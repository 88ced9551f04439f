/* results_index.c: writing FILE.h5, the index of a running grid (its runs
   external links into the parts) or, when the grid is done, the
   self-contained file (the runs copied in). See results.h for the layout. */
#include "results_private.h"
#include "durable.h"
#include "h5io.h"
#include "run_record.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void hash_text(const Results *rs, char *out, size_t n) {
    snprintf(out, n, "%016llx", (unsigned long long)rs->experiment_hash);
}

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
    rc |= versions_write_attrs(rs, f);
    rc |= h5_seal(f);
    return rc;
}

/* dest/name in the new file: a copy (consolidate) or an external link of
   obj in base.h5 (from_base) or of a part's root */
int put_object(Results *rs, hid_t dest, const char *name, int from_base, const char *obj, int consolidate,
               char *err, size_t n) {
    char file[1300], rel[1300];
    const char *parts_base = base_name(rs->parts);
    if (from_base) {
        snprintf(file, sizeof file, "%s", rs->base);
        snprintf(rel, sizeof rel, "%s/base.h5", parts_base);
    } else {
        snprintf(file, sizeof file, "%s/%s.h5", rs->parts, name);
        snprintf(rel, sizeof rel, "%s/%s.h5", parts_base, name);
    }
    if (!consolidate) return H5Lcreate_external(rel, obj, dest, name, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    hid_t fapl = h5_fapl();
    hid_t srcf = H5Fopen(file, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    int rc = srcf >= 0 && H5Ocopy(srcf, obj, dest, name, H5P_DEFAULT, H5P_DEFAULT) >= 0 ? 0 : -1;
    if (srcf >= 0) H5Fclose(srcf);
    if (rc) snprintf(err, n, "cannot copy run %s from '%s'", name, file);
    return rc;
}

/* /runs/<id> of the new file, from where the run's data is */
static int put_run(Results *rs, hid_t runs, const char *id, int src, int consolidate, char *err, size_t n) {
    char obj[80];
    if (src == SRC_PART) snprintf(obj, sizeof obj, "/");
    else snprintf(obj, sizeof obj, "%s/%s", src == SRC_BASE_DROPPED ? "/dropped/runs" : "/runs", id);
    return put_object(rs, runs, id, src != SRC_PART, obj, consolidate, err, n);
}

/* Writes FILE.h5: the index (external links into the parts) or, when
   consolidate, the self-contained file with the runs copied in. */
int write_main(Results *rs, int consolidate, char *err, size_t n) {
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
    if (rc == 0) rc = history_write(rs, f, consolidate, err, n);
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

