/* run_record.c: see run_record.h. */
#include "run_record.h"
#include "h5io.h"
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
    rc |= h5_attr_double(g, "baseline", r->baseline);
    rc |= h5_attr_int(g, "cache_bytes", r->cache_bytes);
    rc |= h5_attr_int(g, "peak_rss_bytes", r->peak_rss_bytes);
    rc |= h5_attr_cell(g, &r->cell);
    rc |= h5_attr_str(g, "status", r->status);
    rc |= h5_attr_str(g, "error", r->error);
    rc |= h5_attr_double(g, "wall_s", r->wall_s);
    rc |= h5_attr_int(g, "steps_done", r->steps_done);
    rc |= h5_attr_double(g, "final_loss", r->final_loss);
    rc |= h5_attr_double(g, "final_accuracy", r->final_accuracy);
    rc |= h5_attr_double(g, "best_eval_loss", r->best_eval_loss);
    rc |= h5_attr_int(g, "solved", r->solved);
    rc |= h5_attr_int(g, "steps_to_solve", r->steps_to_solve);
    rc |= h5_attr_int(g, "diverged_step", r->diverged_step);
    rc |= h5_attr_str(g, "diverged_reason", r->diverged_reason);
    char hash_s[32];
    snprintf(hash_s, sizeof hash_s, "%016llx", (unsigned long long)ex_hash);
    rc |= h5_attr_str(g, "experiment_hash", hash_s);
    return rc;
}

static int write_run_data(hid_t g, const RunResult *r) {
    int rc = 0;
    hid_t tr = h5_group(g, "train"), ev = h5_group(g, "eval");
    if (tr < 0 || ev < 0) return -1;
    hsize_t S = (hsize_t)r->steps_done, E = (hsize_t)r->n_evals;
    /* one buffer of step numbers for both curves: an evaluation at step 0
       makes E = S + 1 (eval_every = 1), so it is sized for the longer */
    hsize_t n_steps = S > E ? S : E;
    long long *steps = malloc((n_steps > 0 ? n_steps : 1) * sizeof(long long));
    double *lob = malloc((E > 0 ? E : 1) * sizeof(double));
    float *gates = malloc((E > 0 ? E : 1) * (r->n_gates > 0 ? r->n_gates : 1) * sizeof(float));
    if (!steps || !lob || !gates) rc = -1;
    if (rc == 0) {
        for (hsize_t k = 0; k < S; k++) steps[k] = (long long)k + 1;
        rc |= h5_write(tr, "step", H5T_NATIVE_LLONG, 1, &S, steps);
        rc |= h5_write(tr, "loss", H5T_NATIVE_FLOAT, 1, &S, r->train_loss);
        rc |= h5_write(tr, "grad_norm", H5T_NATIVE_FLOAT, 1, &S, r->grad_norm);
        hsize_t d2[2] = {S, (hsize_t)r->n_tensors};
        rc |= h5_write(tr, "grad_norm_by_tensor", H5T_NATIVE_FLOAT, 2, d2, r->tensor_norm);
        char cols[MODEL_MAX_TENSORS * 25] = "";
        for (int i = 0; i < r->n_tensors; i++) {
            if (i) strcat(cols, ",");
            strcat(cols, r->tensor_names[i]);
        }
        hid_t ds = H5Dopen2(tr, "grad_norm_by_tensor", H5P_DEFAULT);
        if (ds >= 0) { rc |= h5_attr_str(ds, "columns", cols); rc |= h5_seal(ds); H5Dclose(ds); } else rc = -1;

        for (hsize_t k = 0; k < E; k++) {
            steps[k] = r->eval_step[k];
            lob[k] = r->eval_loss[k] / r->baseline;
        }
        rc |= h5_write(ev, "step", H5T_NATIVE_LLONG, 1, &E, steps);
        rc |= h5_write(ev, "loss", H5T_NATIVE_DOUBLE, 1, &E, r->eval_loss);
        rc |= h5_write(ev, "accuracy", H5T_NATIVE_DOUBLE, 1, &E, r->eval_accuracy);
        rc |= h5_write(ev, "loss_over_baseline", H5T_NATIVE_DOUBLE, 1, &E, lob);
        hsize_t df[2] = {E, (hsize_t)r->flow_T};
        rc |= h5_write(ev, "grad_flow_h", H5T_NATIVE_FLOAT, 2, df, r->flow_h);
        if (r->cell.has_c) rc |= h5_write(ev, "grad_flow_c", H5T_NATIVE_FLOAT, 2, df, r->flow_c);
        if (r->n_gates > 0) {
            for (hsize_t k = 0; k < E; k++)
                for (int q = 0; q < r->n_gates; q++)
                    gates[k * r->n_gates + q] = r->gate_mean[k * RUN_MAX_GATES + q];
            hsize_t dg[2] = {E, (hsize_t)r->n_gates};
            rc |= h5_write(ev, "gate_mean", H5T_NATIVE_FLOAT, 2, dg, gates);
            char gcols[RUN_MAX_GATES * 5] = "";
            for (int q = 0; q < r->n_gates; q++) {
                if (q) strcat(gcols, ",");
                strcat(gcols, r->gate_names[q]);
            }
            hid_t ds2 = H5Dopen2(ev, "gate_mean", H5P_DEFAULT);
            if (ds2 >= 0) { rc |= h5_attr_str(ds2, "columns", gcols); rc |= h5_seal(ds2); H5Dclose(ds2); } else rc = -1;
        }
    }
    free(steps); free(lob); free(gates);
    H5Gclose(tr);
    H5Gclose(ev);
    return rc;
}

int run_record_write(hid_t g, const RunResult *r, uint64_t experiment_hash) {
    int rc = write_run_attrs(g, r, experiment_hash);
    rc |= provenance_write(g);
    rc |= write_run_data(g, r);
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
