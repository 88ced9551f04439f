/* metrics.h: the one table of what a run measures. A line of it says what a
   metric is called in HDF5, its shape, its element type (taken from the
   field it lives in), where its values live in RunResult and whether it is
   a column of /summary. Allocating a run's curves, writing them and the
   outcomes into the run's group, the /summary columns (their HDF5 type and
   the filling of a row), reading a stored run back on resume and freeing
   all walk this table, so none of them can forget a metric.

   Adding a metric: its field in RunResult (and in SummaryRow, at the end,
   when it is a summary column), one line in metrics.c, and the code in
   train.c that computes it; then a line for users in results/README.md
   (and, for a curve the Python scripts should check, RUN_DATASETS in
   scripts/rnnbench_results.py). tests/test_metrics.c checks every line of
   the table in a written file and through a resume. */
#ifndef RNNBENCH_METRICS_H
#define RNNBENCH_METRICS_H

#include <hdf5.h>
#include <stddef.h>
#include "summary.h"
#include "train.h"

typedef enum {
    METRIC_PER_STEP,        /* dataset (steps_done): one value per training step */
    METRIC_PER_STEP_TENSOR, /* dataset (steps_done, n_tensors), attribute columns = tensor names */
    METRIC_PER_EVAL,        /* dataset (n_evals): one value per evaluation */
    METRIC_PER_EVAL_T,      /* dataset (n_evals, flow_T): per evaluation, per step of the sequence;
                               (n_evals, layers, flow_T) for a stack of layers >= 2 */
    METRIC_PER_EVAL_GATE,   /* dataset (n_evals, n_gates), attribute columns = gate names; held
                               RUN_MAX_GATES to a row, written only for cells with gates */
    METRIC_OUTCOME,         /* one value: an attribute of the run's group */
} MetricShape;

/* element types: the C type of the field (of its elements, for a curve) */
typedef enum { METRIC_FLOAT, METRIC_DOUBLE, METRIC_INT, METRIC_LONG, METRIC_LLONG, METRIC_TEXT } MetricType;
/* bytes of one element of a metric of type t */
size_t metric_type_size(MetricType t);

/* where a metric is recorded (bits) */
enum { METRIC_IN_RUN = 1, METRIC_IN_SUMMARY = 2 };

typedef struct {
    const char *name;     /* dataset path in the run's group ("train/loss") or attribute name;
                             a summary column of the same name */
    MetricShape shape;
    MetricType type;
    int where;            /* METRIC_IN_RUN and/or METRIC_IN_SUMMARY */
    size_t field;         /* offsetof(RunResult, ...): a curve's array, an outcome's value */
    size_t field_size;    /* sizeof that field (a text's capacity) */
    /* values computed from other metrics instead of held in a field (n of them) */
    void (*derive)(const RunResult *r, void *out, size_t n);
    /* NULL: every run records it; else whether run r does */
    int (*recorded)(const RunResult *r);
    double initial;       /* an outcome's value before it is measured, and the value of a
                             stored run that lacks it */
    size_t column;        /* offsetof(SummaryRow, ...), when METRIC_IN_SUMMARY */
    MetricType column_type;
    size_t column_size;
} Metric;

extern const Metric metrics[];
extern const int n_metrics;

/* allocates every curve for at most `steps` steps and `n_evals` evaluations
   (r->n_tensors and r->flow_T already set); 0, or -1 with all freed */
int metrics_alloc(RunResult *r, long steps, long n_evals);
/* the bytes metrics_alloc asks for */
double metrics_bytes(const RunResult *r, long steps, long n_evals);
/* frees the curves (NULL afterwards: freeing twice is harmless) */
void metrics_free(RunResult *r);
/* every outcome to its initial value */
void metrics_reset(RunResult *r);

/* the curves as datasets under g (groups train/ and eval/ created), and the
   outcomes as attributes of g; 0 or -1 */
int metrics_write_curves(hid_t g, const RunResult *r);
int metrics_write_outcomes(hid_t g, const RunResult *r);
/* the outcomes of a stored run (g) into r; those g lacks keep their value */
void metrics_read_outcomes(hid_t g, RunResult *r);

/* the HDF5 type of a summary column of type t and size n (to close) */
hid_t metric_column_h5type(MetricType t, size_t n);
/* the summary columns of r's metrics into row */
void metrics_fill_summary(SummaryRow *row, const RunResult *r);

#endif
