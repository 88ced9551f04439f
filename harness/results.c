/* results.c: see results.h for the layout and why it is crash-safe. */
#include "results.h"
#include "h5io.h"
#include "util.h"
#include "../cells/gemm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../build/git_commit.h" /* RNNBENCH_GIT, written by the Makefile */

#define FORMAT_NAME "rnnbench-results"
#define FORMAT_VERSION 1

/* ------------------------------------------------------------------------- */
/* the compound type of /summary */

static hid_t str_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static hid_t summary_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(SummaryRow));
#define STR(f) do { hid_t s = str_type(sizeof(((SummaryRow *)0)->f)); \
        H5Tinsert(t, #f, HOFFSET(SummaryRow, f), s); H5Tclose(s); } while (0)
#define NUM(f, ty) H5Tinsert(t, #f, HOFFSET(SummaryRow, f), ty)
    STR(id); STR(section); STR(task); NUM(delay, H5T_NATIVE_INT32); STR(cell);
    NUM(hidden, H5T_NATIVE_INT32); NUM(batch, H5T_NATIVE_INT32); NUM(steps, H5T_NATIVE_INT64);
    STR(optimizer); NUM(lr, H5T_NATIVE_DOUBLE); NUM(momentum, H5T_NATIVE_DOUBLE);
    NUM(clip, H5T_NATIVE_DOUBLE); NUM(forget_bias, H5T_NATIVE_DOUBLE);
    NUM(init_scale, H5T_NATIVE_DOUBLE); NUM(input_noise, H5T_NATIVE_DOUBLE);
    NUM(seed_index, H5T_NATIVE_INT32); NUM(trial, H5T_NATIVE_INT32); NUM(seed, H5T_NATIVE_UINT64);
    STR(loss_kind); NUM(n_params, H5T_NATIVE_INT64); STR(status); NUM(baseline, H5T_NATIVE_DOUBLE);
    NUM(final_loss, H5T_NATIVE_DOUBLE); NUM(loss_over_baseline, H5T_NATIVE_DOUBLE);
    NUM(best_eval_loss, H5T_NATIVE_DOUBLE); NUM(final_accuracy, H5T_NATIVE_DOUBLE);
    NUM(solved, H5T_NATIVE_INT32); NUM(steps_to_solve, H5T_NATIVE_INT64);
    NUM(steps_done, H5T_NATIVE_INT64); NUM(wall_s, H5T_NATIVE_DOUBLE);
    NUM(run_index, H5T_NATIVE_INT32);
#undef STR
#undef NUM
    return t;
}

static void row_from_result(SummaryRow *row, const RunResult *r, int run_index) {
    const RunConfig *c = &r->cfg;
    memset(row, 0, sizeof *row);
    snprintf(row->id, sizeof row->id, "%s", c->id);
    snprintf(row->section, sizeof row->section, "%s", c->section);
    snprintf(row->task, sizeof row->task, "%s", c->task);
    row->delay = c->task_params.delay;
    snprintf(row->cell, sizeof row->cell, "%s", r->cell_name[0] ? r->cell_name : c->cell);
    row->hidden = c->hidden;
    row->batch = c->batch;
    row->steps = c->steps;
    snprintf(row->optimizer, sizeof row->optimizer, "%s", optimizer_name(c->optimizer));
    row->lr = c->lr;
    row->momentum = c->momentum;
    row->clip = c->clip;
    row->forget_bias = c->forget_chrono ? NAN : c->forget_bias;
    row->init_scale = c->init_scale;
    row->input_noise = c->input_noise;
    row->seed_index = c->seed_index;
    row->trial = c->trial;
    row->seed = c->seed;
    snprintf(row->loss_kind, sizeof row->loss_kind, "%s", r->loss_kind);
    row->n_params = r->n_params;
    snprintf(row->status, sizeof row->status, "%s", r->status);
    row->baseline = r->baseline;
    row->final_loss = r->final_loss;
    row->loss_over_baseline = r->final_loss / r->baseline;
    row->best_eval_loss = r->best_eval_loss;
    row->final_accuracy = r->final_accuracy;
    row->solved = r->solved;
    row->steps_to_solve = r->steps_to_solve;
    row->steps_done = r->steps_done;
    row->wall_s = r->wall_s;
    row->run_index = run_index;
}

/* ------------------------------------------------------------------------- */
/* small file-system helpers */

static int fsync_path(const char *path, int is_dir) {
    int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void dir_of(const char *path, char *out, size_t n) {
    snprintf(out, n, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash) *(slash == out ? slash + 1 : slash) = '\0';
    else snprintf(out, n, ".");
}

/* fsync a finished temporary file, rename it into place, fsync the directory */
static int commit_file(const char *tmp, const char *final, char *err, size_t n) {
    char dir[1100];
    if (fsync_path(tmp, 0) != 0 || rename(tmp, final) != 0) {
        snprintf(err, n, "cannot write '%s': %s", final, strerror(errno));
        remove(tmp);
        return -1;
    }
    dir_of(final, dir, sizeof dir);
    fsync_path(dir, 1);
    return 0;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

uint64_t experiment_hash(const Experiment *ex) {
    uint64_t h = 0x5eed;
    for (int i = 0; i < ex->n_runs; i++) h = hash_bytes(ex->runs[i].id, 16, h);
    return h;
}

/* ------------------------------------------------------------------------- */
/* writing one run */

static int write_run_attrs(hid_t g, const RunResult *r, uint64_t ex_hash) {
    const RunConfig *c = &r->cfg;
    const TaskParams *tp = &c->task_params;
    int rc = 0;
    rc |= h5_attr_str(g, "id", c->id);
    rc |= h5_attr_str(g, "section", c->section);
    rc |= h5_attr_str(g, "task", c->task);
    rc |= h5_attr_int(g, "delay", tp->delay);
    rc |= h5_attr_int(g, "n_classes", tp->n_classes);
    rc |= h5_attr_int(g, "form", tp->form);
    rc |= h5_attr_int(g, "n_symbols", tp->n_symbols);
    rc |= h5_attr_int(g, "alphabet", tp->alphabet);
    rc |= h5_attr_str(g, "cell", r->cell_name[0] ? r->cell_name : c->cell);
    rc |= h5_attr_str(g, "cell_requested", c->cell);
    rc |= h5_attr_int(g, "hidden", c->hidden);
    rc |= h5_attr_int(g, "batch", c->batch);
    rc |= h5_attr_int(g, "steps", c->steps);
    rc |= h5_attr_str(g, "optimizer", optimizer_name(c->optimizer));
    rc |= h5_attr_double(g, "lr", c->lr);
    rc |= h5_attr_double(g, "momentum", c->momentum);
    rc |= h5_attr_int(g, "nesterov", c->nesterov);
    rc |= h5_attr_double(g, "beta1", c->beta1);
    rc |= h5_attr_double(g, "beta2", c->beta2);
    rc |= h5_attr_double(g, "adam_eps", c->adam_eps);
    rc |= h5_attr_double(g, "clip", c->clip);
    rc |= h5_attr_double(g, "init_scale", c->init_scale);
    if (c->forget_chrono) rc |= h5_attr_str(g, "forget_bias", "chrono");
    else rc |= h5_attr_double(g, "forget_bias", c->forget_bias);
    rc |= h5_attr_double(g, "input_noise", c->input_noise);
    rc |= h5_attr_int(g, "eval_every", c->eval_every);
    rc |= h5_attr_int(g, "eval_size", c->eval_size);
    rc |= h5_attr_int(g, "stop_when_solved", c->stop_when_solved);
    rc |= h5_attr_double(g, "diverge_factor", c->diverge_factor);
    rc |= h5_attr_int(g, "experiment_seed", (long long)c->experiment_seed);
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
    rc |= h5_attr_cell_flags(g, r->kind, &r->flags);
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
    long long *steps = malloc((S > 0 ? S : 1) * sizeof(long long));
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
        if (ds >= 0) { rc |= h5_attr_str(ds, "columns", cols); H5Dclose(ds); } else rc = -1;

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
        if (r->kind == CELL_LSTM) rc |= h5_write(ev, "grad_flow_c", H5T_NATIVE_FLOAT, 2, df, r->flow_c);
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
            if (ds2 >= 0) { rc |= h5_attr_str(ds2, "columns", gcols); H5Dclose(ds2); } else rc = -1;
        }
    }
    free(steps); free(lob); free(gates);
    H5Gclose(tr);
    H5Gclose(ev);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* the index / final file */

static int write_file_attrs(hid_t f, const Results *rs, int complete) {
    const Experiment *ex = rs->ex;
    char host[256] = "unknown", hash_s[32];
    gethostname(host, sizeof host - 1);
    snprintf(hash_s, sizeof hash_s, "%016llx", (unsigned long long)rs->experiment_hash);
    int rc = 0;
    rc |= h5_attr_str(f, "format", FORMAT_NAME);
    rc |= h5_attr_int(f, "format_version", FORMAT_VERSION);
    rc |= h5_attr_str(f, "rnnbench_version", RNNBENCH_VERSION);
    rc |= h5_attr_str(f, "git_commit", RNNBENCH_GIT);
    rc |= h5_attr_str(f, "experiment_name", ex->name);
    rc |= h5_attr_str(f, "experiment_path", ex->path);
    rc |= h5_attr_str(f, "experiment_text", ex->text ? ex->text : "");
    rc |= h5_attr_str(f, "experiment_hash", hash_s);
    rc |= h5_attr_int(f, "experiment_seed", (long long)ex->seed);
    rc |= h5_attr_str(f, "start_time", rs->start_time);
    rc |= h5_attr_str(f, "host", host);
    rc |= h5_attr_str(f, "precision", REAL_NAME);
    rc |= h5_attr_str(f, "gemm_backend", gemm_backend());
    rc |= h5_attr_int(f, "n_runs", ex->n_runs);
    rc |= h5_attr_int(f, "n_finished", rs->n_rows);
    rc |= h5_attr_int(f, "complete", complete);
    return rc;
}

static int cmp_rows(const void *a, const void *b) {
    return ((const SummaryRow *)a)->run_index - ((const SummaryRow *)b)->run_index;
}

static int write_summary(hid_t f, Results *rs) {
    if (rs->n_rows > 1) qsort(rs->rows, rs->n_rows, sizeof(SummaryRow), cmp_rows);
    hid_t t = summary_type();
    hsize_t n = (hsize_t)rs->n_rows;
    int rc = h5_write(f, "summary", t, 1, &n, rs->rows);
    H5Tclose(t);
    return rc;
}

/* Writes FILE.h5: the index (external links into the parts) or, when
   consolidate, the self-contained file with the runs copied in. */
static int write_main(Results *rs, int consolidate, char *err, size_t n) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", rs->path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        snprintf(err, n, "cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_file_attrs(f, rs, consolidate);
    rc |= write_summary(f, rs);
    hid_t runs = h5_group(f, "runs");
    if (runs < 0) rc = -1;
    const char *parts_base = base_name(rs->parts);
    for (int i = 0; i < rs->n_rows && rc == 0; i++) {
        const char *id = rs->rows[i].id;
        char part[1200], rel[1200];
        snprintf(part, sizeof part, "%s/%s.h5", rs->parts, id);
        snprintf(rel, sizeof rel, "%s/%s.h5", parts_base, id);
        if (consolidate) {
            hid_t src = H5Fopen(part, H5F_ACC_RDONLY, H5P_DEFAULT);
            if (src < 0 || H5Ocopy(src, "/", runs, id, H5P_DEFAULT, H5P_DEFAULT) < 0) rc = -1;
            if (src >= 0) H5Fclose(src);
            if (rc) snprintf(err, n, "cannot copy run %s from '%s'", id, part);
        } else if (H5Lcreate_external(rel, "/", runs, id, H5P_DEFAULT, H5P_DEFAULT) < 0) {
            rc = -1;
        }
    }
    if (runs >= 0) H5Gclose(runs);
    if (H5Fclose(f) < 0) rc = -1;
    if (rc != 0) {
        if (!err[0]) snprintf(err, n, "cannot write '%s' (disk full or not writable?)", tmp);
        remove(tmp);
        return -1;
    }
    return commit_file(tmp, rs->path, err, n);
}

/* ------------------------------------------------------------------------- */
/* reading back (resume and show) */

/* 1 when the attribute holds exactly one value (a file from elsewhere may
   hold an array where rnnbench writes a scalar: reading it would overflow) */
static int attr_is_scalar(hid_t a) {
    hid_t sp = H5Aget_space(a);
    if (sp < 0) return 0;
    hssize_t npoints = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    return npoints == 1;
}

static int read_attr_str(hid_t obj, const char *name, char *out, size_t n) {
    out[0] = '\0';
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    if (!attr_is_scalar(a)) { H5Aclose(a); return -1; }
    hid_t t = H5Aget_type(a);
    int rc = -1;
    if (H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(out, n, "%s", s);
                H5free_memory(s);
                rc = 0;
            }
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(t);
            char *buf = calloc(sz + 1, 1);
            if (buf && H5Aread(a, t, buf) >= 0) {
                snprintf(out, n, "%s", buf);
                rc = 0;
            }
            free(buf);
        }
    }
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static int read_attr_long(hid_t obj, const char *name, long long *out) {
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    if (!attr_is_scalar(a)) { H5Aclose(a); return -1; }
    int rc = H5Aread(a, H5T_NATIVE_LLONG, out) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

static int read_summary(hid_t f, SummaryRow **rows, int *n_rows) {
    *rows = NULL;
    *n_rows = 0;
    if (H5Lexists(f, "summary", H5P_DEFAULT) <= 0) return -1;
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    int rc = -1;
    if (n >= 0) {
        *rows = calloc(n > 0 ? (size_t)n : 1, sizeof(SummaryRow));
        hid_t t = summary_type();
        /* reading by field name tolerates files written with fewer fields */
        if (*rows && (n == 0 || H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows) >= 0)) {
            *n_rows = (int)n;
            rc = 0;
        }
        H5Tclose(t);
    }
    H5Dclose(ds);
    if (rc) { free(*rows); *rows = NULL; }
    return rc;
}

int results_read(const char *path, ResultsView *v, char *err, size_t n) {
    memset(v, 0, sizeof *v);
    h5_quiet();
    if (access(path, R_OK) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, n, "%s: not an HDF5 file", path);
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, n, "%s: cannot open (truncated or damaged HDF5 file?)", path);
        return -1;
    }
    char fmt[64];
    long long planned = 0, complete = 0;
    if (read_attr_str(f, "format", fmt, sizeof fmt) != 0 || strcmp(fmt, FORMAT_NAME) != 0) {
        snprintf(err, n, "%s: not an rnnbench results file (no format attribute '%s')", path, FORMAT_NAME);
        H5Fclose(f);
        return -1;
    }
    read_attr_long(f, "n_runs", &planned);
    read_attr_long(f, "complete", &complete);
    read_attr_str(f, "experiment_name", v->experiment, sizeof v->experiment);
    v->n_planned = (long)planned;
    v->complete = (int)complete;
    if (read_summary(f, &v->rows, &v->n_rows) != 0) {
        snprintf(err, n, "%s: the summary table is missing or unreadable", path);
        H5Fclose(f);
        return -1;
    }
    H5Fclose(f);
    return 0;
}

void results_view_free(ResultsView *v) {
    free(v->rows);
    v->rows = NULL;
}

/* ------------------------------------------------------------------------- */
/* open / add / finish */

static int add_row(Results *rs, const SummaryRow *row) {
    if (rs->n_rows == rs->cap_rows) {
        int cap = rs->cap_rows ? 2 * rs->cap_rows : 64;
        SummaryRow *p = realloc(rs->rows, (size_t)cap * sizeof(SummaryRow));
        if (!p) return -1;
        rs->rows = p;
        rs->cap_rows = cap;
    }
    rs->rows[rs->n_rows++] = *row;
    return 0;
}

static int run_index_of(const Experiment *ex, const char *id) {
    for (int i = 0; i < ex->n_runs; i++)
        if (!strcmp(ex->runs[i].id, id)) return i;
    return -1;
}

/* Recover finished runs from the parts directory (files that open and carry
   this experiment's hash), deleting temporary files of runs that were in
   flight. The run's summary row is rebuilt from the main file's table when it
   has it, else from the part's attributes. */
static int recover_parts(Results *rs, const SummaryRow *old_rows, int n_old) {
    DIR *d = opendir(rs->parts);
    if (!d) return 0;
    struct dirent *e;
    char want[32];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)rs->experiment_hash);
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", rs->parts, name);
        if (len > 4 && !strcmp(name + len - 4, ".tmp")) { remove(path); continue; }
        if (len != 19 || strcmp(name + 16, ".h5")) continue;
        char id[17];
        memcpy(id, name, 16);
        id[16] = '\0';
        int idx = run_index_of(rs->ex, id);
        if (idx < 0 || rs->finished[idx]) continue;
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0) { remove(path); continue; } /* torn: the run will be redone */
        char hash[32], status[16];
        int ok = read_attr_str(f, "experiment_hash", hash, sizeof hash) == 0 && !strcmp(hash, want) &&
                 read_attr_str(f, "status", status, sizeof status) == 0;
        SummaryRow row;
        int have = 0;
        for (int k = 0; k < n_old && ok; k++)
            if (!strcmp(old_rows[k].id, id)) { row = old_rows[k]; have = 1; break; }
        if (ok && !have) {
            /* rebuild the row from the part's attributes via a RunResult shell */
            RunResult r;
            memset(&r, 0, sizeof r);
            r.cfg = rs->ex->runs[idx];
            long long v;
            double dv;
            snprintf(r.status, sizeof r.status, "%s", status);
            read_attr_str(f, "cell", r.cell_name, sizeof r.cell_name);
            read_attr_str(f, "loss_kind", r.loss_kind, sizeof r.loss_kind);
            if (!read_attr_long(f, "n_params", &v)) r.n_params = (long)v;
            if (!read_attr_long(f, "steps_done", &v)) r.steps_done = (long)v;
            if (!read_attr_long(f, "solved", &v)) r.solved = (int)v;
            if (!read_attr_long(f, "steps_to_solve", &v)) r.steps_to_solve = (long)v;
#define RD(name, field) do { hid_t a_ = H5Aexists(f, name) > 0 ? H5Aopen(f, name, H5P_DEFAULT) : -1; \
        if (a_ >= 0) { if (attr_is_scalar(a_) && H5Aread(a_, H5T_NATIVE_DOUBLE, &dv) >= 0) r.field = dv; \
                       H5Aclose(a_); } } while (0)
            RD("baseline", baseline); RD("final_loss", final_loss); RD("best_eval_loss", best_eval_loss);
            RD("final_accuracy", final_accuracy); RD("wall_s", wall_s);
#undef RD
            row_from_result(&row, &r, idx);
        }
        H5Fclose(f);
        if (!ok) continue;
        row.run_index = idx;
        if (add_row(rs, &row) != 0) { closedir(d); return -1; }
        rs->finished[idx] = 1;
    }
    closedir(d);
    return 0;
}

static int mkdir_p(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}

int results_open(Results *rs, const char *path, const Experiment *ex, int force, char *err,
                 size_t n, int *status) {
    memset(rs, 0, sizeof *rs);
    h5_quiet();
    *status = 1;
    snprintf(rs->path, sizeof rs->path, "%s", path);
    snprintf(rs->parts, sizeof rs->parts, "%s.parts", path);
    rs->ex = ex;
    rs->experiment_hash = experiment_hash(ex);
    rs->finished = calloc(ex->n_runs > 0 ? ex->n_runs : 1, 1);
    if (!rs->finished) { snprintf(err, n, "out of memory"); return -1; }
    time_t now = time(NULL);
    strftime(rs->start_time, sizeof rs->start_time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    char want[32];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)rs->experiment_hash);
    SummaryRow *old_rows = NULL;
    int n_old = 0, complete = 0;
    if (access(path, F_OK) == 0) {
        int same = 0, ours = 0;
        hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
        if (f >= 0) {
            char fmt[64], hash[32];
            long long c = 0;
            ours = read_attr_str(f, "format", fmt, sizeof fmt) == 0 && !strcmp(fmt, FORMAT_NAME);
            same = ours && read_attr_str(f, "experiment_hash", hash, sizeof hash) == 0 && !strcmp(hash, want);
            if (same) {
                read_attr_long(f, "complete", &c);
                complete = (int)c;
                read_attr_str(f, "start_time", rs->start_time, sizeof rs->start_time);
                read_summary(f, &old_rows, &n_old);
            }
            H5Fclose(f);
        }
        if (!same && !force) {
            snprintf(err, n, "%s exists and holds %s; not overwriting it (use --force, or -o another file)",
                     path, ours ? "the results of a different experiment" : "something that is not an rnnbench results file");
            *status = 2;
            free(old_rows);
            return -1;
        }
        if (!same) { n_old = 0; complete = 0; }
    }
    if (complete) {
        /* a finished file: every row it holds is a finished run */
        for (int k = 0; k < n_old; k++) {
            int idx = run_index_of(ex, old_rows[k].id);
            if (idx < 0 || rs->finished[idx]) continue;
            old_rows[k].run_index = idx;
            if (add_row(rs, &old_rows[k]) != 0) { free(old_rows); snprintf(err, n, "out of memory"); return -1; }
            rs->finished[idx] = 1;
        }
    } else if (n_old > 0 || access(rs->parts, F_OK) == 0) {
        if (recover_parts(rs, old_rows, n_old) != 0) { free(old_rows); snprintf(err, n, "out of memory"); return -1; }
    }
    free(old_rows);
    if (force && access(path, F_OK) == 0 && rs->n_rows == 0) {
        /* --force on another experiment's file: its parts are not ours either */
        DIR *d = opendir(rs->parts);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                char p[1400];
                snprintf(p, sizeof p, "%s/%s", rs->parts, e->d_name);
                remove(p);
            }
            closedir(d);
        }
    }
    if (!complete || rs->n_rows < ex->n_runs) {
        if (mkdir_p(rs->parts) != 0) {
            snprintf(err, n, "cannot create '%s': %s", rs->parts, strerror(errno));
            return -1;
        }
        /* write the index now: it proves the output is writable before any run starts */
        if (write_main(rs, 0, err, n) != 0) return -1;
    }
    return 0;
}

int results_add(Results *rs, const RunResult *r, int run_index, char *err, size_t n) {
    char tmp[1400], final[1300];
    snprintf(final, sizeof final, "%s/%s.h5", rs->parts, r->cfg.id);
    snprintf(tmp, sizeof tmp, "%s.tmp", final);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, n, "cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_run_attrs(f, r, rs->experiment_hash);
    rc |= write_run_data(f, r);
    if (H5Fclose(f) < 0) rc = -1;
    if (rc != 0) {
        snprintf(err, n, "cannot write '%s' (disk full or not writable?)", tmp);
        remove(tmp);
        return -1;
    }
    if (commit_file(tmp, final, err, n) != 0) return -1;
    SummaryRow row;
    row_from_result(&row, r, run_index);
    if (add_row(rs, &row) != 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    rs->finished[run_index] = 1;
    return write_main(rs, 0, err, n);
}

/* Room to write `need` bytes into the folder of path: free space and the
   process's file-size limit. libhdf5 1.10 can crash inside H5Ocopy when a
   write fails, so the final copy is only attempted when it will fit. */
static int room_for(const char *path, unsigned long long need, char *err, size_t n) {
    char dir[1100];
    dir_of(path, dir, sizeof dir);
    struct statvfs vfs;
    unsigned long long avail = ULLONG_MAX;
    if (statvfs(dir, &vfs) == 0) avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < avail)
        avail = rl.rlim_cur;
    if (avail < need) {
        snprintf(err, n, "not enough room to combine the runs into '%s' (about %.1f MB needed, %.1f MB free; disk full or not writable?)",
                 path, need / 1e6, avail / 1e6);
        return -1;
    }
    return 0;
}

int results_finish(Results *rs, char *err, size_t n) {
    if (access(rs->parts, F_OK) != 0) return 0; /* already self-contained */
    unsigned long long need = 1 << 20; /* the summary, attributes and HDF5 overhead */
    for (int i = 0; i < rs->n_rows; i++) {
        char p[1300];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s.h5", rs->parts, rs->rows[i].id);
        if (stat(p, &st) == 0) need += (unsigned long long)st.st_size + st.st_size / 4;
    }
    if (room_for(rs->path, need, err, n) != 0) return -1;
    if (write_main(rs, 1, err, n) != 0) return -1;
    /* the runs now live in FILE.h5: the parts can go */
    for (int i = 0; i < rs->n_rows; i++) {
        char p[1300];
        snprintf(p, sizeof p, "%s/%s.h5", rs->parts, rs->rows[i].id);
        remove(p);
    }
    rmdir(rs->parts);
    return 0;
}

void results_close(Results *rs) {
    free(rs->rows);
    free(rs->finished);
    rs->rows = NULL;
    rs->finished = NULL;
}
