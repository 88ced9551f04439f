/* results_write.c: a grid's finished runs into its results: each run a
   part file written durably, the index refreshed now and then, and at the
   end every run combined into one file. See results.h. */
#include "results_private.h"
#include "durable.h"
#include "h5io.h"
#include "run_record.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* the run of an image, checked as resume checks a part: a whole file
   (seal), of this experiment, of run run_index, by this build; its row */
static int image_row(Results *rs, const char *path, int run_index, SummaryRow *row, char *err, size_t n) {
    const RunConfig *cfg = &rs->ex->runs[run_index];
    char want[32], id[32] = "", why[512];
    hash_text(rs, want, sizeof want);
    hid_t f = open_ro(path);
    if (f < 0) { snprintf(err, n, "run %s arrived as something that is not an HDF5 file", cfg->id); return -1; }
    int rc = -1;
    if (h5_check_seal(f) != 0 || h5_read_attr_str(f, "id", id, sizeof id) != 0 || strcmp(id, cfg->id))
        snprintf(err, n, "run %s arrived damaged or as another run ('%s')", cfg->id, id);
    else if (!is_ours(f, want, NULL))
        snprintf(err, n, "run %s arrived from another experiment (not hash %s)", cfg->id, want);
    else if (provenance_check(f, why, sizeof why) != 0)
        snprintf(err, n, "run %s arrived from another build of rnnbench: %s", cfg->id, why);
    else if (summary_row_from_group(row, f, cfg, run_index) != 0)
        snprintf(err, n, "run %s arrived without the attributes of a run", cfg->id);
    else
        rc = 0;
    H5Fclose(f);
    return rc;
}

int results_add_image(Results *rs, const void *image, size_t len, int run_index, char *err, size_t n) {
    const char *id = rs->ex->runs[run_index].id;
    char tmp[1400], final[1300];
    snprintf(final, sizeof final, "%s/%s.h5", rs->parts, id);
    snprintf(tmp, sizeof tmp, "%s.tmp", final);
    pthread_mutex_lock(&rs->mu);
    h5_quiet();
    int rc = -1;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) snprintf(err, n, "cannot create '%s': %s", tmp, strerror(errno));
    else if (fwrite(image, 1, len, fp) != len || fclose(fp) != 0) {
        snprintf(err, n, "cannot write '%s' (disk full or not writable?)", tmp);
        remove(tmp);
    } else {
        rc = 0;
    }
    SummaryRow row;
    /* checked before it takes the name of a part: resume would trust it */
    if (rc == 0 && (rc = image_row(rs, tmp, run_index, &row, err, n)) != 0) remove(tmp);
    if (rc == 0) rc = commit_file(tmp, final, err, n);
    if (rc == 0 && (rc = put_row(rs, &row, run_index, SRC_PART)) != 0) snprintf(err, n, "out of memory");
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
    uses_base |= rs->n_dropped > 0; /* the dropped runs are copied from base.h5 */
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
