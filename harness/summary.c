/* summary.c: see summary.h. */
#include "summary.h"
#include "h5io.h"
#include "metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static hid_t str_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static int cmp_columns(const void *a, const void *b) {
    size_t x = ((const SummaryColumn *)a)->offset, y = ((const SummaryColumn *)b)->offset;
    return (x > y) - (x < y);
}

/* The columns of /summary: the run's own listed here and the metrics'
   (metrics.c), in the order of SummaryRow's fields, so that their names,
   order and offsets follow the struct. */
int summary_columns(SummaryColumn *col, int max) {
    int n = 0;
    if (max < 32) return -1;
#define STR(f) col[n++] = (SummaryColumn){#f, offsetof(SummaryRow, f), str_type(sizeof(((SummaryRow *)0)->f))}
#define NUM(f, ty) col[n++] = (SummaryColumn){#f, offsetof(SummaryRow, f), H5Tcopy(ty)}
    STR(id); STR(section); STR(task); NUM(delay, H5T_NATIVE_INT32); STR(cell);
    NUM(hidden, H5T_NATIVE_INT32); NUM(batch, H5T_NATIVE_INT32); NUM(steps, H5T_NATIVE_INT64);
    STR(optimizer); NUM(lr, H5T_NATIVE_DOUBLE); NUM(momentum, H5T_NATIVE_DOUBLE);
    NUM(clip, H5T_NATIVE_DOUBLE); NUM(forget_bias, H5T_NATIVE_DOUBLE);
    NUM(init_scale, H5T_NATIVE_DOUBLE); NUM(input_noise, H5T_NATIVE_DOUBLE);
    NUM(seed_index, H5T_NATIVE_INT32); NUM(trial, H5T_NATIVE_INT32); NUM(seed, H5T_NATIVE_UINT64);
    STR(loss_kind); NUM(n_params, H5T_NATIVE_INT64); STR(status); NUM(baseline, H5T_NATIVE_DOUBLE);
    NUM(run_index, H5T_NATIVE_INT32); NUM(params_target, H5T_NATIVE_INT64); NUM(layers, H5T_NATIVE_INT32);
#undef STR
#undef NUM
    int too_many = 0;
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (!(m->where & METRIC_IN_SUMMARY)) continue;
        if (n == max) { too_many = 1; break; } /* no table short of a column */
        col[n++] = (SummaryColumn){m->name, m->column, metric_column_h5type(m->column_type, m->column_size)};
    }
    qsort(col, (size_t)n, sizeof col[0], cmp_columns);
    if (too_many) {
        summary_columns_free(col, n);
        return -1;
    }
    return n;
}

void summary_columns_free(SummaryColumn *col, int n) {
    for (int i = 0; i < n; i++)
        if (col[i].type >= 0) H5Tclose(col[i].type);
}

/* The compound type of /summary, from its columns */
static hid_t summary_type(void) {
    SummaryColumn col[64];
    int n = summary_columns(col, 64);
    if (n < 0) return -1;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(SummaryRow));
    int ok = t >= 0;
    for (int i = 0; i < n; i++)
        if (col[i].type < 0 || (ok && H5Tinsert(t, col[i].name, col[i].offset, col[i].type) < 0)) ok = 0;
    summary_columns_free(col, n);
    if (!ok && t >= 0) {
        H5Tclose(t);
        t = -1;
    }
    return t;
}

void summary_row_from_result(SummaryRow *row, const RunResult *r, int run_index) {
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
    row->params_target = c->params_target;
    row->layers = c->layers;
    snprintf(row->status, sizeof row->status, "%s", r->status);
    row->baseline = r->baseline;
    metrics_fill_summary(row, r);
    row->run_index = run_index;
}


int summary_row_finished(const SummaryRow *row) { return strcmp(row->status, "failed") != 0; }

int summary_row_from_group(SummaryRow *row, hid_t g, const RunConfig *cfg, int run_index) {
    /* through a RunResult shell, so that the row is made by one function */
    RunResult r;
    memset(&r, 0, sizeof r);
    r.cfg = *cfg;
    metrics_reset(&r);
    long long v;
    if (h5_read_attr_str(g, "status", r.status, sizeof r.status) != 0) return -1;
    h5_read_attr_str(g, "cell", r.cell_name, sizeof r.cell_name);
    h5_read_attr_str(g, "loss_kind", r.loss_kind, sizeof r.loss_kind);
    if (!h5_read_attr_long(g, "n_params", &v)) r.n_params = (long)v;
    r.baseline = NAN;
    h5_read_attr_double(g, "baseline", &r.baseline);
    metrics_read_outcomes(g, &r);
    summary_row_from_result(row, &r, run_index);
    return 0;
}

static int cmp_rows(const void *a, const void *b) {
    return ((const SummaryRow *)a)->run_index - ((const SummaryRow *)b)->run_index;
}

int summary_write(hid_t loc, SummaryRow *rows, int n_rows) {
    if (n_rows > 1) qsort(rows, n_rows, sizeof(SummaryRow), cmp_rows);
    hid_t t = summary_type();
    if (t < 0) return -1;
    hsize_t n = (hsize_t)n_rows;
    int rc = h5_write(loc, "summary", t, 1, &n, rows);
    H5Tclose(t);
    return rc;
}

int summary_read(hid_t f, long max_rows, SummaryRow **rows, int *n_rows) {
    *rows = NULL;
    *n_rows = 0;
    if (H5Lexists(f, "summary", H5P_DEFAULT) <= 0) return -1;
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    int rc = -1;
    /* bounded before allocating: a sparse dataset may claim millions of rows */
    if (rank == 1 && n >= 0 && n <= max_rows) {
        *rows = calloc(n > 0 ? (size_t)n : 1, sizeof(SummaryRow));
        hid_t t = summary_type();
        /* reading by field name tolerates files written with fewer fields */
        if (*rows && t >= 0 && (n == 0 || H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows) >= 0)) {
            *n_rows = (int)n;
            rc = 0;
        }
        if (t >= 0) H5Tclose(t);
    }
    H5Dclose(ds);
    if (rc) { free(*rows); *rows = NULL; }
    if (rc == 0)
        for (int i = 0; i < *n_rows; i++) { /* strings from a file may lack their terminator */
            SummaryRow *r = &(*rows)[i];
            r->id[sizeof r->id - 1] = r->section[sizeof r->section - 1] = r->task[sizeof r->task - 1] = '\0';
            r->cell[sizeof r->cell - 1] = r->optimizer[sizeof r->optimizer - 1] = '\0';
            r->loss_kind[sizeof r->loss_kind - 1] = r->status[sizeof r->status - 1] = '\0';
            for (int k = 0; k < n_metrics; k++)
                if ((metrics[k].where & METRIC_IN_SUMMARY) && metrics[k].column_type == METRIC_TEXT)
                    ((char *)r)[metrics[k].column + metrics[k].column_size - 1] = '\0';
        }
    return rc;
}
