/* results_view.c: reading a results file back for `show`: its attributes and
   summary, each length checked before anything is allocated, every failure
   one line that names the file. The reading happens in a child process
   (isolate.h): a damaged file that crashes libhdf5 is an error, not a crash. */
#include "results.h"
#include "h5io.h"
#include "isolate.h"
#include "run_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int results_read_here(const char *path, ResultsView *v, char *err, size_t n) {
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
    hid_t fapl = h5_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        snprintf(err, n, "%s: cannot open (truncated or damaged HDF5 file?)", path);
        return -1;
    }
    if (h5_check_seal(f) != 0) {
        snprintf(err, n, "%s: damaged: its text attributes do not match their checksum", path);
        H5Fclose(f);
        return -1;
    }
    char fmt[64];
    long long planned = 0, complete = 0;
    if (h5_read_attr_str(f, "format", fmt, sizeof fmt) != 0 || strcmp(fmt, RESULTS_FORMAT_NAME) != 0) {
        snprintf(err, n, "%s: not an rnnbench results file (no format attribute '%s')", path, RESULTS_FORMAT_NAME);
        H5Fclose(f);
        return -1;
    }
    h5_read_attr_long(f, "n_runs", &planned);
    h5_read_attr_long(f, "complete", &complete);
    h5_read_attr_str(f, "experiment_name", v->experiment, sizeof v->experiment);
    v->n_planned = (long)planned;
    v->complete = (int)complete;
    /* a summary holds at most one row per planned run, and no grid plans more than GRID_MAX_RUNS */
    long max_rows = planned > 0 && planned < GRID_MAX_RUNS ? (long)planned : GRID_MAX_RUNS;
    if (summary_read(f, max_rows, &v->rows, &v->n_rows) != 0) {
        snprintf(err, n, "%s: the summary table is missing or unreadable (damaged, or more rows than the %ld runs planned)",
                 path, max_rows);
        H5Fclose(f);
        return -1;
    }
    H5Fclose(f);
    for (int i = 0; i < v->n_rows; i++) v->n_failed += !summary_row_finished(&v->rows[i]);
    return 0;
}

/* what the child sends back: this, then n_rows SummaryRows */
typedef struct {
    int rc;
    ResultsView view; /* rows not valid across processes */
    char err[1400];
} ViewHeader;

static int read_to_pipe(void *arg, int fd) {
    ViewHeader h;
    memset(&h, 0, sizeof h);
    h.rc = results_read_here(arg, &h.view, h.err, sizeof h.err);
    int rc = write_all(fd, &h, sizeof h);
    if (h.rc == 0 && rc == 0) rc = write_all(fd, h.view.rows, (size_t)h.view.n_rows * sizeof(SummaryRow));
    results_view_free(&h.view);
    return rc;
}

/* reading a summary of GRID_MAX_RUNS rows takes a second or two; a child
   still at it after this long is looping on a damaged file */
#define READ_TIMEOUT_S 120

int results_read(const char *path, ResultsView *v, char *err, size_t n) {
    memset(v, 0, sizeof *v);
    char *buf;
    size_t len;
    int sig;
    IsolatedStatus st = isolated_run(read_to_pipe, (void *)path, READ_TIMEOUT_S, &buf, &len, &sig);
    ViewHeader h;
    int rc = -1;
    if (st == ISOLATED_NO_CHILD) {
        free(buf);
        return results_read_here(path, v, err, n); /* no process to spare: read it here */
    } else if (st == ISOLATED_CRASHED) {
        snprintf(err, n, "%s: damaged HDF5 file (the HDF5 library crashed reading it: signal %d)", path, sig);
    } else if (st == ISOLATED_TIMED_OUT) {
        snprintf(err, n, "%s: damaged HDF5 file (reading it did not end within %d s)", path, READ_TIMEOUT_S);
    } else if (len < sizeof h) {
        snprintf(err, n, "%s: cannot read it (out of memory?)", path);
    } else {
        memcpy(&h, buf, sizeof h);
        size_t rows_bytes = (size_t)h.view.n_rows * sizeof(SummaryRow);
        if (h.rc != 0) {
            snprintf(err, n, "%s", h.err);
        } else if (h.view.n_rows < 0 || len != sizeof h + rows_bytes) {
            snprintf(err, n, "%s: cannot read it (its reader was cut short)", path);
        } else {
            *v = h.view;
            v->rows = malloc(rows_bytes > 0 ? rows_bytes : 1);
            if (v->rows) {
                memcpy(v->rows, buf + sizeof h, rows_bytes);
                rc = 0;
            } else {
                snprintf(err, n, "out of memory reading %s", path);
            }
        }
    }
    free(buf);
    return rc;
}

void results_view_free(ResultsView *v) {
    free(v->rows);
    v->rows = NULL;
}
