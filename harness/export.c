/* export.c: `rnnbench export FILE.h5 [--curves] [-o FILE.csv]`: a results
   file as CSV, for pandas, R or a spreadsheet as they are. The summary: one
   row per run, the columns of /summary in their order, strings as text.
   With --curves, long format: id, curve, step, value, one row per point of
   every per-step and per-evaluation curve of the metric registry. The file
   is read in a child process (isolate.h), as `show` reads it: a damaged
   file is a one-line error, never a crash. */
#include "durable.h"
#include "export.h"
#include "h5io.h"
#include "isolate.h"
#include "metrics.h"
#include "results.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a curve longer than this is a damaged file's claim, not a run's */
#define MAX_CURVE_POINTS (1L << 30)
/* reading a large file's every curve takes a while; a reader still at it
   after this long is looping on a damaged file */
#define EXPORT_TIMEOUT_S 3600

typedef struct {
    const char *path;
    int curves;
} ExportJob;

/* a CSV field: quoted when it holds a comma, a quote or a line end */
static void csv_text(FILE *out, const char *s, size_t max) {
    size_t n = strnlen(s, max);
    if (strcspn(s, ",\"\r\n") >= n) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

/* one summary cell, by its column's HDF5 type; doubles exactly (%.17g) */
static void csv_cell(FILE *out, const SummaryRow *row, const SummaryColumn *c) {
    const char *at = (const char *)row + c->offset;
    size_t size = H5Tget_size(c->type);
    switch (H5Tget_class(c->type)) {
    case H5T_STRING: csv_text(out, at, size); break;
    case H5T_FLOAT:
        if (size == sizeof(double)) fprintf(out, "%.17g", *(const double *)at);
        else fprintf(out, "%.9g", (double)*(const float *)at);
        break;
    case H5T_INTEGER: {
        int is_signed = H5Tget_sign(c->type) != H5T_SGN_NONE;
        if (size == 8 && is_signed) fprintf(out, "%lld", (long long)*(const int64_t *)at);
        else if (size == 8) fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)at);
        else if (size == 4 && is_signed) fprintf(out, "%d", (int)*(const int32_t *)at);
        else fprintf(out, "%u", (unsigned)*(const uint32_t *)at);
        break;
    }
    default: break;
    }
}

static int write_summary(FILE *out, const ResultsView *v, char *err, size_t n) {
    SummaryColumn col[64];
    int n_col = summary_columns(col, 64);
    if (n_col < 0) {
        snprintf(err, n, "cannot describe the summary's columns");
        return -1;
    }
    for (int k = 0; k < n_col; k++) fprintf(out, "%s%s", k ? "," : "", col[k].name);
    fputc('\n', out);
    for (int i = 0; i < v->n_rows; i++) {
        for (int k = 0; k < n_col; k++) {
            if (k) fputc(',', out);
            csv_cell(out, &v->rows[i], &col[k]);
        }
        fputc('\n', out);
    }
    summary_columns_free(col, n_col);
    return 0;
}

/* a 1-d dataset of g read as `type` into a new array; its length, 0 when
   absent, -1 when it is not a readable curve */
static long read_curve(hid_t g, const char *name, hid_t type, void **data, int *is_float32) {
    *data = NULL;
    char group[64];
    snprintf(group, sizeof group, "%.*s", (int)(strchr(name, '/') - name), name);
    if (H5Lexists(g, group, H5P_DEFAULT) <= 0 || H5Lexists(g, name, H5P_DEFAULT) <= 0) return 0;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
    hsize_t dims[1] = {0};
    long len = -1;
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 &&
        dims[0] <= (hsize_t)MAX_CURVE_POINTS) {
        if (is_float32) *is_float32 = ft >= 0 && H5Tget_class(ft) == H5T_FLOAT && H5Tget_size(ft) == 4;
        *data = malloc(dims[0] ? dims[0] * H5Tget_size(type) : 1);
        if (*data && (dims[0] == 0 || H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) >= 0)) len = (long)dims[0];
    }
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    if (len < 0) { free(*data); *data = NULL; }
    return len;
}

/* train/step and eval/step are the curves' x axis, not curves */
static int ends_with_step(const char *name) {
    size_t n = strlen(name);
    return n >= 5 && !strcmp(name + n - 5, "/step");
}

/* the points of run id's curves; 0, or -1 with err */
static int write_run_curves(FILE *out, hid_t f, const char *id, char *err, size_t n) {
    char obj[64];
    snprintf(obj, sizeof obj, "runs/%s", id);
    if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0 || H5Lexists(f, obj, H5P_DEFAULT) <= 0) return 0; /* not saved yet */
    hid_t g = H5Gopen2(f, obj, H5P_DEFAULT);
    if (g < 0) {
        snprintf(err, n, "cannot open run %s", id);
        return -1;
    }
    int rc = 0;
    for (int k = 0; k < n_metrics && rc == 0; k++) {
        const Metric *m = &metrics[k];
        int per_step = m->shape == METRIC_PER_STEP;
        if (!(m->where & METRIC_IN_RUN) || (!per_step && m->shape != METRIC_PER_EVAL) || ends_with_step(m->name))
            continue;
        void *steps, *values;
        int float32 = 0;
        long n_steps = read_curve(g, per_step ? "train/step" : "eval/step", H5T_NATIVE_LLONG, &steps, NULL);
        long n_values = read_curve(g, m->name, H5T_NATIVE_DOUBLE, &values, &float32);
        if (n_values < 0 || n_steps < 0 || (n_values > 0 && n_values != n_steps)) {
            snprintf(err, n, "run %s: %s cannot be read as a curve of its steps", id, m->name);
            rc = -1;
        }
        for (long i = 0; rc == 0 && i < n_values; i++) {
            /* floats with the 9 digits that give back the same float */
            fprintf(out, float32 ? "%s,%s,%lld,%.9g\n" : "%s,%s,%lld,%.17g\n", id, m->name,
                    ((long long *)steps)[i], ((double *)values)[i]);
        }
        free(steps);
        free(values);
    }
    H5Gclose(g);
    return rc;
}

static int write_curves(FILE *out, const char *path, const ResultsView *v, char *err, size_t n) {
    hid_t fapl = h5_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        snprintf(err, n, "%s: cannot open (truncated or damaged HDF5 file?)", path);
        return -1;
    }
    fprintf(out, "id,curve,step,value\n");
    int rc = 0;
    for (int i = 0; i < v->n_rows && rc == 0; i++) {
        rc = write_run_curves(out, f, v->rows[i].id, err, n);
        if (rc) {
            char why[600];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, n, "%s: %s", path, why);
        }
    }
    H5Fclose(f);
    return rc;
}

/* in the child: 'K' and the CSV, or 'E' and a one-line error */
static int export_to_pipe(void *arg, int fd) {
    const ExportJob *job = arg;
    char err[1400] = "";
    ResultsView v;
    int dup_fd = dup(fd);
    FILE *out = dup_fd >= 0 ? fdopen(dup_fd, "w") : NULL;
    if (!out) return -1;
    int rc = results_read_here(job->path, &v, err, sizeof err);
    fputc(rc == 0 ? 'K' : 'E', out);
    if (rc == 0) {
        rc = job->curves ? write_curves(out, job->path, &v, err, sizeof err) : write_summary(out, &v, err, sizeof err);
        results_view_free(&v);
        if (rc) fprintf(out, "\n\x01%s", err); /* after a partial CSV: the marker, then the error */
    } else {
        fputs(err, out);
    }
    return fclose(out) != 0 || rc != 0 ? -1 : 0;
}

static void export_usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench export FILE.h5 [--curves] [-o FILE.csv]\n"
            "Writes a results file as CSV (to standard output, or -o FILE.csv):\n"
            "  the summary, one row per run with the columns of /summary (strings as text);\n"
            "  --curves  instead every per-step and per-evaluation curve in long format:\n"
            "            id, curve, step, value (one row per point)\n");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"curves", no_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    ExportJob job = {NULL, 0};
    const char *to = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': job.curves = 1; break;
        case 'o': to = optarg; break;
        case 'h': export_usage(stdout); return 0;
        case '?':
        case ':': print_getopt_error("export", opt, argv); return 2;
        default: export_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        export_usage(stderr);
        return 2;
    }
    job.path = argv[optind];
    char *buf = NULL;
    size_t len = 0;
    int sig = 0;
    IsolatedStatus st = isolated_run(export_to_pipe, &job, EXPORT_TIMEOUT_S, &buf, &len, &sig);
    int status = 0;
    if (st == ISOLATED_NO_CHILD) {
        fprintf(stderr, "rnnbench export: cannot start the reader of %s (no process to spare)\n", job.path);
        status = 1;
    } else if (st == ISOLATED_CRASHED) {
        fprintf(stderr, "rnnbench: %s: damaged HDF5 file (the HDF5 library crashed reading it: signal %d)\n", job.path, sig);
        status = 2;
    } else if (st == ISOLATED_TIMED_OUT) {
        fprintf(stderr, "rnnbench: %s: damaged HDF5 file (reading it did not end within %d s)\n", job.path,
                EXPORT_TIMEOUT_S);
        status = 2;
    } else if (len == 0 || buf[0] != 'K' || st != ISOLATED_OK) {
        const char *why = len > 1 ? buf + 1 : "cannot read it";
        const char *marker = len > 1 ? memchr(buf, '\x01', len) : NULL;
        if (marker) why = marker + 1;
        fprintf(stderr, "rnnbench: %.*s\n", (int)(len - (size_t)(why - buf)), why);
        status = 2;
    }
    if (status) {
        free(buf);
        return status;
    }
    char err[1400];
    if (to) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", to);
        FILE *out = fopen(tmp, "w");
        int ok = out && fwrite(buf + 1, 1, len - 1, out) == len - 1;
        if (out && fclose(out) != 0) ok = 0;
        if (!ok) {
            fprintf(stderr, "rnnbench export: cannot write '%s' (disk full or not writable?)\n", to);
            remove(tmp);
            status = 1;
        } else if (commit_file(tmp, to, err, sizeof err) != 0) {
            fprintf(stderr, "rnnbench export: %s\n", err);
            status = 1;
        }
    } else if (fwrite(buf + 1, 1, len - 1, stdout) != len - 1 || fflush(stdout) != 0) {
        fprintf(stderr, "rnnbench export: cannot write to standard output\n");
        status = 1;
    }
    free(buf);
    return status;
}
