/* results_history.c: what a study that grew carries from its earlier
   versions: the runs no longer in its grid (kept under /dropped, never
   deleted) and every version of the experiment's text (attributes
   experiment_versions and experiment_text_1 ... _N, the last being this
   one's, as experiment_text is). See results_private.h. */
#include "results_private.h"
#include "h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* an experiment's text is at most this long: the limit of a string
   attribute h5_read_attr_str reads */
#define MAX_TEXT (16u << 20)

int shares_runs(hid_t f, const Experiment *ex) {
    SummaryRow *rows = NULL;
    int n_rows = 0, shared = 0;
    if (summary_read(f, GRID_MAX_RUNS, &rows, &n_rows) != 0) return 0;
    for (int k = 0; k < n_rows && !shared; k++)
        shared = summary_row_finished(&rows[k]) && run_index_of(ex, rows[k].id) >= 0;
    free(rows);
    return shared;
}

static int is_dropped(const Results *rs, const char *id) {
    for (int k = 0; k < rs->n_dropped; k++)
        if (!strcmp(rs->dropped[k].id, id)) return 1;
    return 0;
}

static void add_dropped(Results *rs, const SummaryRow *row, int in_dropped) {
    if (is_dropped(rs, row->id)) return;
    if (rs->n_dropped == rs->cap_dropped) {
        int cap = rs->cap_dropped ? 2 * rs->cap_dropped : 16;
        SummaryRow *p = realloc(rs->dropped, (size_t)cap * sizeof *p);
        char *q = p ? realloc(rs->dropped_in_dropped, (size_t)cap) : NULL;
        if (p) rs->dropped = p;
        if (!q) return; /* out of memory: the run is not carried over (as a failed copy would not be) */
        rs->dropped_in_dropped = q;
        rs->cap_dropped = cap;
    }
    rs->dropped[rs->n_dropped] = *row;
    rs->dropped[rs->n_dropped].run_index = rs->n_dropped; /* /dropped/summary keeps their order */
    rs->dropped_in_dropped[rs->n_dropped++] = (char)in_dropped;
}

/* the rows of f's table at `table` whose run is in f at `runs`/<id> */
static void rows_of(hid_t f, const char *table, const char *runs, SummaryRow **rows, int *n_rows) {
    *rows = NULL;
    *n_rows = 0;
    int root = !strcmp(table, "/");
    hid_t g = root || H5Lexists(f, table, H5P_DEFAULT) > 0 ? H5Gopen2(f, table, H5P_DEFAULT) : -1;
    if (g < 0) return;
    if (summary_read(g, GRID_MAX_RUNS, rows, n_rows) != 0) *n_rows = 0;
    H5Gclose(g);
    int kept = 0;
    for (int k = 0; k < *n_rows; k++) {
        char obj[96];
        snprintf(obj, sizeof obj, "%s/%s", runs, (*rows)[k].id);
        if (H5Lexists(f, runs, H5P_DEFAULT) > 0 && H5Lexists(f, obj, H5P_DEFAULT) > 0) (*rows)[kept++] = (*rows)[k];
    }
    *n_rows = kept;
}

void dropped_from_complete(Results *rs, hid_t f) {
    SummaryRow *rows;
    int n_rows;
    rows_of(f, "/", "runs", &rows, &n_rows);
    for (int k = 0; k < n_rows; k++)
        if (run_index_of(rs->ex, rows[k].id) < 0) add_dropped(rs, &rows[k], 0);
    free(rows);
    rows_of(f, "dropped", "dropped/runs", &rows, &n_rows);
    for (int k = 0; k < n_rows; k++) {
        int idx = run_index_of(rs->ex, rows[k].id);
        if (idx < 0) add_dropped(rs, &rows[k], 1);
        else if (rs->row_of[idx] < 0 && summary_row_finished(&rows[k]))
            put_row(rs, &rows[k], idx, SRC_BASE_DROPPED); /* back in the grid */
    }
    free(rows);
}

void versions_read(Results *rs, hid_t f) {
    long long n = 0;
    h5_read_attr_long(f, "experiment_versions", &n);
    char *text = malloc(MAX_TEXT + 1);
    if (!text) return;
    for (long long k = 1; k <= (n > 0 ? n : 1); k++) {
        char name[48];
        /* a file from before versions has its one text as experiment_text */
        snprintf(name, sizeof name, n > 0 ? "experiment_text_%lld" : "experiment_text", k);
        if (h5_read_attr_str(f, name, text, MAX_TEXT + 1) != 0) continue;
        char **p = realloc(rs->versions, (size_t)(rs->n_versions + 1) * sizeof *p);
        if (!p) break;
        rs->versions = p;
        if ((rs->versions[rs->n_versions] = strdup(text))) rs->n_versions++;
    }
    free(text);
}

int versions_add_current(Results *rs) {
    const char *now = rs->ex->text ? rs->ex->text : "";
    if (rs->n_versions > 0 && !strcmp(rs->versions[rs->n_versions - 1], now)) return 0;
    char **p = realloc(rs->versions, (size_t)(rs->n_versions + 1) * sizeof *p);
    if (!p) return -1;
    rs->versions = p;
    if (!(rs->versions[rs->n_versions] = strdup(now))) return -1;
    rs->n_versions++;
    return 0;
}

void history_forget(Results *rs) {
    for (int k = 0; k < rs->n_versions; k++) free(rs->versions[k]);
    free(rs->versions);
    free(rs->dropped);
    free(rs->dropped_in_dropped);
    rs->versions = NULL;
    rs->dropped = NULL;
    rs->dropped_in_dropped = NULL;
    rs->n_versions = rs->n_dropped = rs->cap_dropped = 0;
}

/* the pre-registration the runs were made under (grid.h): the current
   version's, as root attributes preregistration (path), preregistration_sha256
   and preregistration_text, and preregistration_sha256_N for version N; a
   file's earlier versions' hashes are not carried over when it is rewritten */
static int prereg_write_attrs(const Results *rs, hid_t f) {
    const Experiment *ex = rs->ex;
    if (!ex->prereg_path[0]) return 0;
    char name[64];
    snprintf(name, sizeof name, "preregistration_sha256_%d", rs->n_versions);
    int rc = h5_attr_str(f, "preregistration", ex->prereg_path);
    rc |= h5_attr_str(f, "preregistration_sha256", ex->prereg_sha256);
    rc |= h5_attr_str(f, "preregistration_text", ex->prereg_text ? ex->prereg_text : "");
    rc |= h5_attr_str(f, name, ex->prereg_sha256);
    return rc;
}

int versions_write_attrs(const Results *rs, hid_t f) {
    int rc = h5_attr_int(f, "experiment_versions", rs->n_versions);
    rc |= prereg_write_attrs(rs, f);
    for (int k = 0; k < rs->n_versions; k++) {
        char name[48];
        snprintf(name, sizeof name, "experiment_text_%d", k + 1);
        rc |= h5_attr_str(f, name, rs->versions[k]);
    }
    return rc;
}

int history_write(Results *rs, hid_t f, int consolidate, char *err, size_t n) {
    if (rs->n_dropped == 0) return 0;
    hid_t g = h5_group(f, "dropped");
    hid_t runs = g >= 0 ? h5_group(g, "runs") : -1;
    int rc = runs >= 0 ? summary_write(g, rs->dropped, rs->n_dropped) : -1;
    /* summary_write sorted them by run_index, their own order: dropped_in_dropped still matches */
    for (int k = 0; k < rs->n_dropped && rc == 0; k++) {
        char obj[80];
        snprintf(obj, sizeof obj, "%s/%s", rs->dropped_in_dropped[k] ? "/dropped/runs" : "/runs", rs->dropped[k].id);
        rc = put_object(rs, runs, rs->dropped[k].id, 1, obj, consolidate, err, n);
    }
    if (runs >= 0) H5Gclose(runs);
    if (g >= 0) H5Gclose(g);
    return rc;
}
