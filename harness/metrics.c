/* metrics.c: the table of a run's metrics (see metrics.h) and the code that
   walks it. The table's order is the order datasets are written in. */
#include "metrics.h"
#include "h5io.h"
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a field's element type, from its declaration: a line of the table cannot
   name the wrong one (a char array converts to char *) */
#define TYPE_OF(x) _Generic((x), \
    float *: METRIC_FLOAT, double *: METRIC_DOUBLE, int *: METRIC_INT, long *: METRIC_LONG, \
    long long *: METRIC_LLONG, char *: METRIC_TEXT, float: METRIC_FLOAT, double: METRIC_DOUBLE, \
    int: METRIC_INT, long: METRIC_LONG, long long: METRIC_LLONG)
#define FIELD(f) .type = TYPE_OF(((RunResult *)0)->f), .field = offsetof(RunResult, f), \
    .field_size = sizeof(((RunResult *)0)->f)
#define COLUMN(c) .column = offsetof(SummaryRow, c), .column_type = TYPE_OF(((SummaryRow *)0)->c), \
    .column_size = sizeof(((SummaryRow *)0)->c)
#define IN_RUN METRIC_IN_RUN
#define IN_SUMMARY METRIC_IN_SUMMARY

/* derived values */
static void step_numbers(const RunResult *r, void *out, size_t n) {
    (void)r;
    long long *step = out;
    for (size_t k = 0; k < n; k++) step[k] = (long long)k + 1;
}
static void eval_loss_over_baseline(const RunResult *r, void *out, size_t n) {
    double *v = out;
    for (size_t k = 0; k < n; k++) v[k] = r->eval_loss[k] / r->baseline;
}
static void final_loss_over_baseline(const RunResult *r, void *out, size_t n) {
    (void)n;
    *(double *)out = r->final_loss / r->baseline;
}

/* only data-set tasks have a test split */
static int has_test_split(const RunResult *r) {
    const Task *t = task_find(r->cfg.task);
    return t && t->held_out;
}

/* only cells with a second state c (the LSTM family) */
static int has_cell_state(const RunResult *r) { return r->cell.has_c; }

const Metric metrics[] = {
    /* per training step */
    {.name = "train/step", .shape = METRIC_PER_STEP, .type = METRIC_LLONG, .derive = step_numbers, .where = IN_RUN},
    {.name = "train/loss", .shape = METRIC_PER_STEP, FIELD(train_loss), .where = IN_RUN},
    {.name = "train/grad_norm", .shape = METRIC_PER_STEP, FIELD(grad_norm), .where = IN_RUN},
    {.name = "train/grad_norm_by_tensor", .shape = METRIC_PER_STEP_TENSOR, FIELD(tensor_norm), .where = IN_RUN},
    /* per evaluation */
    {.name = "eval/step", .shape = METRIC_PER_EVAL, FIELD(eval_step), .where = IN_RUN},
    {.name = "eval/loss", .shape = METRIC_PER_EVAL, FIELD(eval_loss), .where = IN_RUN},
    {.name = "eval/accuracy", .shape = METRIC_PER_EVAL, FIELD(eval_accuracy), .where = IN_RUN},
    {.name = "eval/loss_over_baseline", .shape = METRIC_PER_EVAL, .type = METRIC_DOUBLE,
     .derive = eval_loss_over_baseline, .where = IN_RUN},
    {.name = "eval/grad_flow_h", .shape = METRIC_PER_EVAL_T, FIELD(flow_h), .where = IN_RUN},
    {.name = "eval/grad_flow_c", .shape = METRIC_PER_EVAL_T, FIELD(flow_c), .where = IN_RUN,
     .recorded = has_cell_state},
    {.name = "eval/gate_mean", .shape = METRIC_PER_EVAL_GATE, FIELD(gate_mean), .where = IN_RUN},
    /* outcomes */
    {.name = "wall_s", .shape = METRIC_OUTCOME, FIELD(wall_s), .where = IN_RUN | IN_SUMMARY, COLUMN(wall_s)},
    {.name = "steps_done", .shape = METRIC_OUTCOME, FIELD(steps_done), .where = IN_RUN | IN_SUMMARY,
     COLUMN(steps_done)},
    {.name = "final_loss", .shape = METRIC_OUTCOME, FIELD(final_loss), .initial = NAN,
     .where = IN_RUN | IN_SUMMARY, COLUMN(final_loss)},
    {.name = "loss_over_baseline", .shape = METRIC_OUTCOME, .type = METRIC_DOUBLE,
     .derive = final_loss_over_baseline, .where = IN_SUMMARY, COLUMN(loss_over_baseline)},
    {.name = "final_accuracy", .shape = METRIC_OUTCOME, FIELD(final_accuracy), .initial = NAN,
     .where = IN_RUN | IN_SUMMARY, COLUMN(final_accuracy)},
    {.name = "best_eval_loss", .shape = METRIC_OUTCOME, FIELD(best_eval_loss), .initial = NAN,
     .where = IN_RUN | IN_SUMMARY, COLUMN(best_eval_loss)},
    {.name = "test_loss", .shape = METRIC_OUTCOME, FIELD(test_loss), .initial = NAN, .where = IN_RUN,
     .recorded = has_test_split},
    {.name = "test_step", .shape = METRIC_OUTCOME, FIELD(test_step), .initial = -1, .where = IN_RUN,
     .recorded = has_test_split},
    {.name = "solved", .shape = METRIC_OUTCOME, FIELD(solved), .where = IN_RUN | IN_SUMMARY, COLUMN(solved)},
    {.name = "steps_to_solve", .shape = METRIC_OUTCOME, FIELD(steps_to_solve), .initial = -1,
     .where = IN_RUN | IN_SUMMARY, COLUMN(steps_to_solve)},
    {.name = "diverged_step", .shape = METRIC_OUTCOME, FIELD(diverged_step), .initial = -1, .where = IN_RUN},
    {.name = "diverged_reason", .shape = METRIC_OUTCOME, FIELD(diverged_reason), .where = IN_RUN},
};
const int n_metrics = (int)(sizeof metrics / sizeof metrics[0]);

/* ------------------------------------------------------------------------- */
/* element types */

size_t metric_type_size(MetricType t) {
    switch (t) {
    case METRIC_FLOAT: return sizeof(float);
    case METRIC_DOUBLE: return sizeof(double);
    case METRIC_INT: return sizeof(int);
    case METRIC_LONG: return sizeof(long);
    case METRIC_LLONG: return sizeof(long long);
    case METRIC_TEXT: return 1;
    }
    return 1;
}

/* the native HDF5 type of a curve's elements (predefined: not to be closed) */
static hid_t curve_h5type(MetricType t) {
    switch (t) {
    case METRIC_FLOAT: return H5T_NATIVE_FLOAT;
    case METRIC_DOUBLE: return H5T_NATIVE_DOUBLE;
    case METRIC_INT: return H5T_NATIVE_INT;
    case METRIC_LONG: return H5T_NATIVE_LONG;
    case METRIC_LLONG: return H5T_NATIVE_LLONG;
    case METRIC_TEXT: break;
    }
    return -1;
}

hid_t metric_column_h5type(MetricType t, size_t n) {
    if (t != METRIC_TEXT) return H5Tcopy(curve_h5type(t));
    hid_t s = H5Tcopy(H5T_C_S1);
    if (s >= 0 && (H5Tset_size(s, n) < 0 || H5Tset_strpad(s, H5T_STR_NULLTERM) < 0)) {
        H5Tclose(s);
        return -1;
    }
    return s;
}

/* one value of any type, to convert between a field and a summary column */
typedef struct {
    long long i;
    double d;
    const char *text;
} Value;

static Value value_at(const void *p, MetricType t) {
    Value v = {0, 0, ""};
    switch (t) {
    case METRIC_FLOAT: v.d = *(const float *)p; break;
    case METRIC_DOUBLE: v.d = *(const double *)p; break;
    case METRIC_INT: v.i = *(const int *)p; v.d = (double)v.i; return v;
    case METRIC_LONG: v.i = *(const long *)p; v.d = (double)v.i; return v;
    case METRIC_LLONG: v.i = *(const long long *)p; v.d = (double)v.i; return v;
    case METRIC_TEXT: v.text = p; return v;
    }
    v.i = fabs(v.d) < 9e18 ? (long long)v.d : 0; /* NaN and the out of range have no integer */
    return v;
}

/* stores v at p, of type t (size n for a text) */
static void value_put(void *p, MetricType t, size_t n, Value v) {
    switch (t) {
    case METRIC_FLOAT: *(float *)p = (float)v.d; break;
    case METRIC_DOUBLE: *(double *)p = v.d; break;
    case METRIC_INT: *(int *)p = (int)v.i; break;
    case METRIC_LONG: *(long *)p = (long)v.i; break;
    case METRIC_LLONG: *(long long *)p = v.i; break;
    case METRIC_TEXT: if (n > 0) snprintf(p, n, "%s", v.text); break;
    }
}

/* ------------------------------------------------------------------------- */
/* curves: their arrays in RunResult, through pointers of their own type */

static void *curve_get(const RunResult *r, const Metric *m) {
    const char *at = (const char *)r + m->field;
    switch (m->type) {
    case METRIC_FLOAT: return *(float *const *)at;
    case METRIC_DOUBLE: return *(double *const *)at;
    case METRIC_INT: return *(int *const *)at;
    case METRIC_LONG: return *(long *const *)at;
    case METRIC_LLONG: return *(long long *const *)at;
    case METRIC_TEXT: break;
    }
    return NULL;
}

static void curve_set(RunResult *r, const Metric *m, void *p) {
    char *at = (char *)r + m->field;
    switch (m->type) {
    case METRIC_FLOAT: *(float **)at = p; break;
    case METRIC_DOUBLE: *(double **)at = p; break;
    case METRIC_INT: *(int **)at = p; break;
    case METRIC_LONG: *(long **)at = p; break;
    case METRIC_LLONG: *(long long **)at = p; break;
    case METRIC_TEXT: break;
    }
}

static int is_curve(const Metric *m) { return m->shape != METRIC_OUTCOME; }
/* a curve with an array in RunResult (a derived one is computed when written) */
static int is_held_curve(const Metric *m) { return is_curve(m) && !m->derive; }
static int is_per_step(const Metric *m) { return m->shape == METRIC_PER_STEP || m->shape == METRIC_PER_STEP_TENSOR; }

/* the layers a flow row holds (a run from before stacks says 0: one) */
static int flow_layers(const RunResult *r) { return r->flow_layers > 1 ? r->flow_layers : 1; }

/* columns recorded per row (1 for a one-dimensional curve) */
static long curve_cols(const RunResult *r, const Metric *m) {
    switch (m->shape) {
    case METRIC_PER_STEP_TENSOR: return r->n_tensors;
    case METRIC_PER_EVAL_T: return (long)flow_layers(r) * r->flow_T;
    case METRIC_PER_EVAL_GATE: return r->n_gates;
    default: return 1;
    }
}

/* elements per row in memory: gates are held RUN_MAX_GATES to a row */
static long curve_stride(const RunResult *r, const Metric *m) {
    return m->shape == METRIC_PER_EVAL_GATE ? RUN_MAX_GATES : curve_cols(r, m);
}

static int curve_rank(const Metric *m) {
    return m->shape == METRIC_PER_STEP || m->shape == METRIC_PER_EVAL ? 1 : 2;
}

static double curve_bytes(const RunResult *r, const Metric *m, long steps, long n_evals) {
    return (double)(is_per_step(m) ? steps : n_evals) * curve_stride(r, m) * metric_type_size(m->type);
}

double metrics_bytes(const RunResult *r, long steps, long n_evals) {
    double total = 0;
    for (int i = 0; i < n_metrics; i++)
        if (is_held_curve(&metrics[i])) total += curve_bytes(r, &metrics[i], steps, n_evals);
    return total;
}

int metrics_alloc(RunResult *r, long steps, long n_evals) {
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (!is_held_curve(m)) continue;
        double bytes = curve_bytes(r, m, steps, n_evals);
        void *p = bytes >= 0 && bytes < (double)SIZE_MAX ? malloc(bytes > 0 ? (size_t)bytes : 1) : NULL;
        if (!p) {
            metrics_free(r);
            return -1;
        }
        curve_set(r, m, p);
    }
    return 0;
}

void metrics_free(RunResult *r) {
    for (int i = 0; i < n_metrics; i++) {
        if (!is_held_curve(&metrics[i])) continue;
        free(curve_get(r, &metrics[i]));
        curve_set(r, &metrics[i], NULL);
    }
}

void metrics_reset(RunResult *r) {
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (m->shape != METRIC_OUTCOME || m->derive) continue;
        Value v = {fabs(m->initial) < 9e18 ? (long long)m->initial : 0, m->initial, ""}; /* NaN: no integer */
        value_put((char *)r + m->field, m->type, m->field_size, v);
    }
}

/* ------------------------------------------------------------------------- */
/* writing */

static int recorded(const RunResult *r, const Metric *m) {
    if (!(m->where & METRIC_IN_RUN)) return 0;
    if (m->shape == METRIC_PER_EVAL_GATE && r->n_gates == 0) return 0; /* a cell without gates */
    return m->recorded ? m->recorded(r) : 1;
}

/* the group a curve's name puts it in (its part before the last '/'),
   created when missing */
static int make_parent(hid_t g, const char *name) {
    const char *slash = strrchr(name, '/');
    if (!slash) return 0;
    char parent[256];
    if ((size_t)(slash - name) >= sizeof parent) return -1;
    memcpy(parent, name, (size_t)(slash - name));
    parent[slash - name] = '\0';
    htri_t there = H5Lexists(g, parent, H5P_DEFAULT);
    if (there > 0) return 0;
    if (there < 0) return -1;
    hid_t p = h5_group(g, parent);
    if (p < 0) return -1;
    return H5Gclose(p) < 0 ? -1 : 0;
}

/* "a,b,c" from n names of `stride` bytes each */
static void join_names(const char *names, size_t stride, int n, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", names + (size_t)i * stride);
}

/* the attribute `columns` of a two-dimensional curve whose columns have names */
static int write_column_names(hid_t g, const RunResult *r, const Metric *m) {
    char cols[MODEL_MAX_TENSORS * 25 + RUN_MAX_GATES * 5];
    if (m->shape == METRIC_PER_STEP_TENSOR)
        join_names(r->tensor_names[0], sizeof r->tensor_names[0], r->n_tensors, cols, sizeof cols);
    else if (m->shape == METRIC_PER_EVAL_GATE)
        join_names(r->gate_names[0], sizeof r->gate_names[0], r->n_gates, cols, sizeof cols);
    else
        return 0;
    hid_t ds = H5Dopen2(g, m->name, H5P_DEFAULT);
    if (ds < 0) return -1;
    int rc = h5_attr_str(ds, "columns", cols);
    rc |= h5_seal(ds);
    if (H5Dclose(ds) < 0) rc = -1;
    return rc;
}

static int write_curve(hid_t g, const RunResult *r, const Metric *m) {
    long rows = is_per_step(m) ? r->steps_done : r->n_evals, cols = curve_cols(r, m);
    long stride = curve_stride(r, m);
    size_t elem = metric_type_size(m->type), n = (size_t)rows * (size_t)cols;
    hsize_t dims[3] = {(hsize_t)rows, (hsize_t)cols, 0};
    int rank = curve_rank(m);
    if (m->shape == METRIC_PER_EVAL_T && flow_layers(r) > 1) {
        /* a stack's flow: (n_evals, layers, flow_T); one layer keeps (n_evals, flow_T) */
        dims[1] = (hsize_t)flow_layers(r);
        dims[2] = (hsize_t)r->flow_T;
        rank = 3;
    }
    const void *data = m->derive ? NULL : curve_get(r, m);
    void *buf = NULL;
    if (m->derive || stride != cols) {
        /* computed values, or rows held wider than they are written */
        buf = malloc((n > 0 ? n : 1) * elem);
        if (!buf) return -1;
        if (m->derive) {
            m->derive(r, buf, n);
        } else {
            for (long k = 0; k < rows; k++)
                memcpy((char *)buf + (size_t)k * cols * elem, (const char *)data + (size_t)k * stride * elem,
                       (size_t)cols * elem);
        }
        data = buf;
    }
    int rc = h5_write(g, m->name, curve_h5type(m->type), rank, dims, data);
    if (rc == 0) rc = write_column_names(g, r, m);
    free(buf);
    return rc;
}

int metrics_write_curves(hid_t g, const RunResult *r) {
    /* the groups first, whatever this run records: every run has train/ and eval/ */
    for (int i = 0; i < n_metrics; i++)
        if (is_curve(&metrics[i]) && (metrics[i].where & METRIC_IN_RUN) && make_parent(g, metrics[i].name) != 0)
            return -1;
    for (int i = 0; i < n_metrics; i++)
        if (is_curve(&metrics[i]) && recorded(r, &metrics[i]) && write_curve(g, r, &metrics[i]) != 0) return -1;
    return 0;
}

int metrics_write_outcomes(hid_t g, const RunResult *r) {
    int rc = 0;
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (m->shape != METRIC_OUTCOME || !recorded(r, m) || m->derive) continue;
        Value v = value_at((const char *)r + m->field, m->type);
        switch (m->type) {
        case METRIC_FLOAT:
        case METRIC_DOUBLE: rc |= h5_attr_double(g, m->name, v.d); break;
        case METRIC_TEXT: rc |= h5_attr_str(g, m->name, v.text); break;
        default: rc |= h5_attr_int(g, m->name, v.i); break;
        }
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* reading back, and the summary */

void metrics_read_outcomes(hid_t g, RunResult *r) {
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (m->shape != METRIC_OUTCOME || !(m->where & METRIC_IN_RUN) || m->derive) continue;
        void *field = (char *)r + m->field;
        Value v = {0, 0, ""};
        char text[256];
        if (m->type == METRIC_TEXT) {
            if (h5_read_attr_str(g, m->name, text, sizeof text) != 0) continue;
            v.text = text;
        } else if (m->type == METRIC_FLOAT || m->type == METRIC_DOUBLE) {
            if (h5_read_attr_double(g, m->name, &v.d) != 0) continue;
        } else {
            if (h5_read_attr_long(g, m->name, &v.i) != 0) continue;
        }
        value_put(field, m->type, m->field_size, v);
    }
}

void metrics_fill_summary(SummaryRow *row, const RunResult *r) {
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (!(m->where & METRIC_IN_SUMMARY)) continue;
        union { double d; long long i; } derived; /* a derived outcome is one number */
        const void *at = (const char *)r + m->field;
        if (m->derive) {
            m->derive(r, &derived, 1);
            at = &derived;
        }
        value_put((char *)row + m->column, m->column_type, m->column_size, value_at(at, m->type));
    }
}
