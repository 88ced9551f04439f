/* run_record.c: see run_record.h. */
#include "run_record.h"
#include "h5io.h"
#include "metrics.h"
#include "settings_attrs.h"
#include "util.h"
#include "../cells/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../build/git_commit.h" /* RNNBENCH_GIT, written by the Makefile */

/* the version of the layout: 2 added checksums, provenance in every run and
   failed runs that are retried */
#define FORMAT_VERSION 2

static int write_run_attrs(hid_t g, const RunResult *r, uint64_t ex_hash) {
    const RunConfig *c = &r->cfg;
    int rc = 0;
    rc |= h5_attr_str(g, "id", c->id);
    rc |= h5_attr_str(g, "section", c->section);
    rc |= settings_write_attrs(g, c, r->cell_name); /* task ... diverge_factor */
    rc |= h5_attr_u64(g, "experiment_seed", c->experiment_seed);
    rc |= h5_attr_int(g, "seed_index", c->seed_index);
    rc |= h5_attr_int(g, "trial", c->trial);
    char seed_s[32]; /* a u64 does not fit a signed attribute: decimal text */
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)c->seed);
    rc |= h5_attr_str(g, "seed", seed_s);
    rc |= h5_attr_str(g, "loss_kind", r->loss_kind);
    rc |= h5_attr_int(g, "input_size", r->X);
    rc |= h5_attr_int(g, "output_size", r->Y);
    rc |= h5_attr_int(g, "sequence_length", r->T);
    rc |= h5_attr_int(g, "n_params", r->n_params);
    /* a run sized by a parameter budget (`params = N`) says which */
    if (c->params_target) rc |= h5_attr_int(g, "params_target", c->params_target);
    rc |= h5_attr_double(g, "baseline", r->baseline);
    rc |= h5_attr_int(g, "cache_bytes", r->cache_bytes);
    rc |= h5_attr_int(g, "peak_rss_bytes", r->peak_rss_bytes);
    rc |= h5_attr_cell(g, &r->cell);
    rc |= h5_attr_str(g, "status", r->status);
    rc |= h5_attr_str(g, "error", r->error);
    rc |= metrics_write_outcomes(g, r);
    char hash_s[32];
    snprintf(hash_s, sizeof hash_s, "%016llx", (unsigned long long)ex_hash);
    rc |= h5_attr_str(g, "experiment_hash", hash_s);
    return rc;
}

int run_record_write(hid_t g, const RunResult *r, uint64_t experiment_hash) {
    int rc = write_run_attrs(g, r, experiment_hash);
    rc |= provenance_write(g);
    rc |= metrics_write_curves(g, r);
    rc |= h5_seal(g);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* provenance */

int provenance_write(hid_t obj) {
    int rc = 0;
    rc |= h5_attr_int(obj, "format_version", FORMAT_VERSION);
    rc |= h5_attr_str(obj, "precision", REAL_NAME);
    rc |= h5_attr_str(obj, "gemm_backend", gemm_backend());
    rc |= h5_attr_str(obj, "git_commit", RNNBENCH_GIT);
    return rc;
}

int provenance_check(hid_t obj, char *err, size_t n) {
    char version[32], theirs[3][128];
    long long v = 1;
    h5_read_attr_long(obj, "format_version", &v);
    snprintf(version, sizeof version, "%lld", v);
    const char *key[4] = {"format_version", "precision", "gemm_backend", "git_commit"};
    char ours_version[16];
    snprintf(ours_version, sizeof ours_version, "%d", FORMAT_VERSION);
    const char *ours[4] = {ours_version, REAL_NAME, gemm_backend(), RNNBENCH_GIT};
    const char *file[4] = {version, theirs[0], theirs[1], theirs[2]};
    for (int k = 1; k < 4; k++)
        if (h5_read_attr_str(obj, key[k], theirs[k - 1], sizeof theirs[k - 1]) != 0)
            snprintf(theirs[k - 1], sizeof theirs[k - 1], "(not recorded)");
    size_t len = 0;
    err[0] = '\0';
    for (int k = 0; k < 4 && len < n; k++) {
        if (!strcmp(file[k], ours[k])) continue;
        len += (size_t)snprintf(err + len, n - len, "%s%s %s (this build: %s)", len ? ", " : "", key[k],
                                file[k], ours[k]);
    }
    return len ? -1 : 0;
}
