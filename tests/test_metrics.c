/* test_metrics.c: the metric registry (harness/metrics.c).

   Covers: the table itself (unique names, types a curve can have, fields
   and columns inside their structs); every metric of it in a run's file
   (part file and finished file) with the run's own values, bit for bit, and
   the shape its class says; every outcome read back from a stored run bit
   for bit (what resume does); every summary metric in /summary, the same
   after a resume and in the finished file; and the /summary compound type
   of results format 2 (names, order, offsets, sizes), which existing files
   carry and which must not move. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/h5io.h"
#include "../harness/metrics.h"
#include "../harness/results.h"
#include "../harness/train.h"

static const char *EXPERIMENT =
    "[experiment]\nname = metrics\nseed = 5\n\n"
    "[grid]\ntask = adding\ndelay = 3\ncell = rnn, lstm-peep, gru\nhidden = 3\nbatch = 2\n"
    "steps = 6\neval_every = 2\neval_size = 4\n\n"
    /* a data-set task: the metrics only it records (test_loss, ...) */
    "[grid jsb]\ntask = jsb\ncell = rnn\nhidden = 3\nbatch = 2\nsteps = 6\neval_every = 2\n";
#define N_RUNS 4

/* ------------------------------------------------------------------------- */
/* the table */

Test(metrics, table_is_consistent) {
    cr_assert_gt(n_metrics, 0);
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        cr_assert(m->name && m->name[0], "metric %d has no name", i);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(m->name, metrics[j].name, "%s is listed twice", m->name);
        cr_expect(m->where & (METRIC_IN_RUN | METRIC_IN_SUMMARY), "%s is recorded nowhere", m->name);
        if (m->shape != METRIC_OUTCOME) {
            cr_expect(m->type != METRIC_TEXT, "%s: a curve of text", m->name);
            cr_expect(!(m->where & METRIC_IN_SUMMARY), "%s: a curve as a summary column", m->name);
            cr_expect(strchr(m->name, '/') != NULL, "%s: a curve outside train/ and eval/", m->name);
        }
        if (m->where & METRIC_IN_SUMMARY)
            cr_expect_leq(m->column + m->column_size, sizeof(SummaryRow), "%s: column outside SummaryRow", m->name);
        if (!m->derive)
            cr_expect_leq(m->field + m->field_size, sizeof(RunResult), "%s: field outside RunResult", m->name);
    }
}

/* ------------------------------------------------------------------------- */
/* a grid of three cells on adding and one on jsb, trained and recorded */

typedef struct {
    char dir[64], path[128];
    Experiment ex;
    RunResult r[N_RUNS];
} Grid;

static void grid_run(Grid *g) {
    char err[512];
    snprintf(g->dir, sizeof g->dir, "/tmp/rnnbench-metrics-XXXXXX");
    cr_assert_not_null(mkdtemp(g->dir));
    snprintf(g->path, sizeof g->path, "%s/out.h5", g->dir);
    cr_assert_eq(grid_load_string("metrics.ini", EXPERIMENT, &g->ex, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g->ex.n_runs, N_RUNS);
    Results rs;
    int status;
    cr_assert_eq(results_open(&rs, g->path, &g->ex, 0, err, sizeof err, &status), 0, "%s", err);
    for (int i = 0; i < N_RUNS; i++) {
        cr_assert_eq(train_run(&g->ex.runs[i], &g->r[i], NULL), 0, "%s", g->r[i].error);
        cr_assert_eq(results_add(&rs, &g->r[i], i, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_flush(&rs, 0, err, sizeof err), 0, "%s", err);
    results_close(&rs);
}

static void grid_free_all(Grid *g) {
    for (int i = 0; i < N_RUNS; i++) run_result_free(&g->r[i]);
    grid_free(&g->ex);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g->dir);
    cr_expect_eq(system(cmd), 0);
}

static hid_t open_file(const char *path) {
    hid_t fapl = h5_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    cr_assert_geq(f, 0, "cannot open %s", path);
    return f;
}

static hid_t mem_type(MetricType t) {
    switch (t) {
    case METRIC_FLOAT: return H5T_NATIVE_FLOAT;
    case METRIC_DOUBLE: return H5T_NATIVE_DOUBLE;
    case METRIC_INT: return H5T_NATIVE_INT;
    case METRIC_LONG: return H5T_NATIVE_LONG;
    default: return H5T_NATIVE_LLONG;
    }
}

/* curve m of run r in group g: its shape, and (held ones) its values */
static void check_curve(hid_t g, const RunResult *r, const Metric *m) {
    hid_t ds = H5Dopen2(g, m->name, H5P_DEFAULT);
    cr_assert_geq(ds, 0, "%s: %s missing", r->cell_name, m->name);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    int per_step = m->shape == METRIC_PER_STEP || m->shape == METRIC_PER_STEP_TENSOR;
    hsize_t rows = (hsize_t)(per_step ? r->steps_done : r->n_evals), cols = 1, stride = 1;
    if (m->shape == METRIC_PER_STEP_TENSOR) cols = stride = (hsize_t)r->n_tensors;
    if (m->shape == METRIC_PER_EVAL_T) cols = stride = (hsize_t)r->flow_T;
    if (m->shape == METRIC_PER_EVAL_GATE) cols = (hsize_t)r->n_gates, stride = RUN_MAX_GATES;
    cr_expect_eq(rank, m->shape == METRIC_PER_STEP || m->shape == METRIC_PER_EVAL ? 1 : 2, "%s rank", m->name);
    cr_expect_eq(dims[0], rows, "%s: %llu rows, expected %llu", m->name, (unsigned long long)dims[0],
                 (unsigned long long)rows);
    if (rank == 2) cr_expect_eq(dims[1], cols, "%s columns", m->name);
    if (!m->derive && rows > 0) {
        size_t es = metric_type_size(m->type);
        char *got = malloc(rows * cols * es);
        cr_assert_not_null(got);
        cr_assert_geq(H5Dread(ds, mem_type(m->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0, "%s", m->name);
        const char *held;
        memcpy(&held, (const char *)r + m->field, sizeof held); /* the curve's array */
        for (hsize_t k = 0; k < rows; k++)
            cr_expect_eq(memcmp(got + k * cols * es, held + k * stride * es, cols * es), 0,
                         "%s: %s row %llu differs from the run's", r->cell_name, m->name, (unsigned long long)k);
        free(got);
    }
    H5Dclose(ds);
}

/* the outcomes read back from g (what resume does) are r's, bit for bit:
   read into a RunResult holding none of r's values */
static void check_outcomes_read_back(hid_t g, const RunResult *r) {
    RunResult *back = malloc(sizeof *back);
    cr_assert_not_null(back);
    memset(back, 0x5a, sizeof *back);
    metrics_read_outcomes(g, back);
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (m->shape != METRIC_OUTCOME || !(m->where & METRIC_IN_RUN) || m->derive) continue;
        if (m->recorded && !m->recorded(r)) continue; /* not in the file: nothing to read back */
        const char *got = (const char *)back + m->field, *want = (const char *)r + m->field;
        if (m->type == METRIC_TEXT)
            cr_expect_str_eq(got, want, "%s: %s read back as '%s'", r->cell_name, m->name, got);
        else
            cr_expect_eq(memcmp(got, want, m->field_size), 0, "%s: %s read back differs", r->cell_name, m->name);
    }
    free(back);
}

/* every metric of run r in group g (a part file's root, or /runs/<id>) */
static void check_run_group(hid_t g, const RunResult *r, int *seen) {
    check_outcomes_read_back(g, r);
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (!(m->where & METRIC_IN_RUN)) continue;
        if (m->shape == METRIC_OUTCOME) {
            int expected = !(m->recorded && !m->recorded(r));
            cr_expect_eq(H5Aexists(g, m->name) > 0, expected, "%s on %s: attribute %s %s", r->cell_name,
                         r->cfg.task, m->name, expected ? "missing" : "written though not recorded");
            if (expected) seen[i] = 1;
            continue;
        }
        int expected = !(m->recorded && !m->recorded(r)) && !(m->shape == METRIC_PER_EVAL_GATE && r->n_gates == 0);
        cr_expect_eq(H5Lexists(g, m->name, H5P_DEFAULT) > 0, expected, "%s: %s %s", r->cell_name, m->name,
                     expected ? "missing" : "written though not recorded");
        if (expected) {
            check_curve(g, r, m);
            seen[i] = 1;
        }
    }
}

/* the summary columns of a row read back equal those made from the run */
static void check_summary_row(const SummaryRow *got, const RunResult *r, int run_index, const char *where) {
    SummaryRow want;
    summary_row_from_result(&want, r, run_index);
    for (int i = 0; i < n_metrics; i++) {
        const Metric *m = &metrics[i];
        if (!(m->where & METRIC_IN_SUMMARY)) continue;
        cr_expect_eq(memcmp((const char *)got + m->column, (const char *)&want + m->column, m->column_size), 0,
                     "%s: summary column %s of %s differs from the run's", where, m->name, r->cell_name);
    }
}

Test(metrics, every_metric_in_the_file_and_through_resume) {
    Grid g;
    grid_run(&g);
    int seen[64] = {0};
    cr_assert_leq(n_metrics, 64);

    /* each part file */
    for (int i = 0; i < N_RUNS; i++) {
        char part[256];
        snprintf(part, sizeof part, "%s.parts/%s.h5", g.path, g.ex.runs[i].id);
        hid_t f = open_file(part);
        check_run_group(f, &g.r[i], seen);
        H5Fclose(f);
    }
    for (int i = 0; i < n_metrics; i++)
        if (metrics[i].where & METRIC_IN_RUN)
            cr_expect(seen[i], "no run of an rnn, an LSTM, a GRU and a jsb run records %s", metrics[i].name);

    /* resumed: the rows come back from the parts' attributes */
    Results rs;
    char err[512];
    int status;
    cr_assert_eq(results_open(&rs, g.path, &g.ex, 0, err, sizeof err, &status), 0, "%s", err);
    cr_assert_eq(rs.n_rows, N_RUNS);
    for (int i = 0; i < N_RUNS; i++) {
        cr_assert(results_done(&rs, i));
        check_summary_row(&rs.rows[rs.row_of[i]], &g.r[i], i, "resumed");
    }
    cr_assert_eq(results_finish(&rs, err, sizeof err), 0, "%s", err);
    results_close(&rs);

    /* the finished file: /summary and every run's group */
    hid_t f = open_file(g.path);
    SummaryRow *rows;
    int n_rows;
    cr_assert_eq(summary_read(f, 10, &rows, &n_rows), 0);
    cr_assert_eq(n_rows, N_RUNS);
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT);
    hid_t type = H5Dget_type(ds);
    for (int i = 0; i < n_metrics; i++)
        if (metrics[i].where & METRIC_IN_SUMMARY)
            cr_expect_geq(H5Tget_member_index(type, metrics[i].name), 0, "/summary lacks %s", metrics[i].name);
    H5Tclose(type);
    H5Dclose(ds);
    for (int k = 0; k < n_rows; k++) {
        int i = rows[k].run_index;
        cr_assert(i >= 0 && i < N_RUNS);
        check_summary_row(&rows[k], &g.r[i], i, "finished file");
        char obj[64];
        snprintf(obj, sizeof obj, "runs/%s", g.ex.runs[i].id);
        hid_t run = H5Gopen2(f, obj, H5P_DEFAULT);
        cr_assert_geq(run, 0);
        check_run_group(run, &g.r[i], seen);
        H5Gclose(run);
    }
    free(rows);
    H5Fclose(f);
    grid_free_all(&g);
}

/* ------------------------------------------------------------------------- */
/* /summary of results format 2: files on disk carry this type; resuming
   them and the scripts reading them rely on it */

Test(metrics, summary_type_of_format_2) {
    static const struct { const char *name; size_t offset; H5T_class_t cls; size_t size; } want[] = {
        {"id", 0, H5T_STRING, 17}, {"section", 17, H5T_STRING, 64}, {"task", 81, H5T_STRING, 32},
        {"delay", 116, H5T_INTEGER, 4}, {"cell", 120, H5T_STRING, 64}, {"hidden", 184, H5T_INTEGER, 4},
        {"batch", 188, H5T_INTEGER, 4}, {"steps", 192, H5T_INTEGER, 8}, {"optimizer", 200, H5T_STRING, 8},
        {"lr", 208, H5T_FLOAT, 8}, {"momentum", 216, H5T_FLOAT, 8}, {"clip", 224, H5T_FLOAT, 8},
        {"forget_bias", 232, H5T_FLOAT, 8}, {"init_scale", 240, H5T_FLOAT, 8}, {"input_noise", 248, H5T_FLOAT, 8},
        {"seed_index", 256, H5T_INTEGER, 4}, {"trial", 260, H5T_INTEGER, 4}, {"seed", 264, H5T_INTEGER, 8},
        {"loss_kind", 272, H5T_STRING, 8}, {"n_params", 280, H5T_INTEGER, 8}, {"status", 288, H5T_STRING, 16},
        {"baseline", 304, H5T_FLOAT, 8}, {"final_loss", 312, H5T_FLOAT, 8},
        {"loss_over_baseline", 320, H5T_FLOAT, 8}, {"best_eval_loss", 328, H5T_FLOAT, 8},
        {"final_accuracy", 336, H5T_FLOAT, 8}, {"solved", 344, H5T_INTEGER, 4},
        {"steps_to_solve", 352, H5T_INTEGER, 8}, {"steps_done", 360, H5T_INTEGER, 8},
        {"wall_s", 368, H5T_FLOAT, 8}, {"run_index", 376, H5T_INTEGER, 4},
        /* added at the end (the earlier columns keep their offsets): `params = N`'s budget */
        {"params_target", 384, H5T_INTEGER, 8},
        /* and the stack's layers */
        {"layers", 392, H5T_INTEGER, 4},
    };
    const int n_want = (int)(sizeof want / sizeof want[0]);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 0); /* in memory */
    hid_t f = H5Fcreate("summary-type", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    cr_assert_geq(f, 0);
    SummaryRow row;
    memset(&row, 0, sizeof row);
    cr_assert_eq(summary_write(f, &row, 1), 0);
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT);
    hid_t t = H5Dget_type(ds);
    cr_expect_eq(H5Tget_size(t), 400);
    cr_assert_eq(H5Tget_nmembers(t), n_want);
    for (int i = 0; i < n_want; i++) {
        char *name = H5Tget_member_name(t, (unsigned)i);
        hid_t mt = H5Tget_member_type(t, (unsigned)i);
        cr_expect_str_eq(name, want[i].name, "member %d", i);
        cr_expect_eq(H5Tget_member_offset(t, (unsigned)i), want[i].offset, "%s offset", name);
        cr_expect_eq(H5Tget_class(mt), want[i].cls, "%s class", name);
        cr_expect_eq(H5Tget_size(mt), want[i].size, "%s size", name);
        if (want[i].cls == H5T_INTEGER)
            cr_expect_eq(H5Tget_sign(mt), !strcmp(name, "seed") ? H5T_SGN_NONE : H5T_SGN_2, "%s sign", name);
        H5Tclose(mt);
        H5free_memory(name);
    }
    H5Tclose(t);
    H5Dclose(ds);
    H5Fclose(f);
}
