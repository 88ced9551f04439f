/* results_private.h: what the files behind results.h share, one job each:
     results.c          open (new or resumed) and close
     results_rows.c     the recorded runs: a row per run and where its data is
     results_index.c    writing FILE.h5 (the index, or the combined file)
     results_inspect.c  what resume finds in FILE.h5 and parts/base.h5
     results_parts.c    the parts folder on resume, and clearing it
     results_write.c    adding a finished run, flushing the index, finishing
   (summary.c is the /summary table, run_record.c a run's group, durable.c
   the file-system steps.) Not for use outside these files. */
#ifndef RNNBENCH_RESULTS_PRIVATE_H
#define RNNBENCH_RESULTS_PRIVATE_H

#include <hdf5.h>
#include <stddef.h>
#include "results.h"

/* ---- results_rows.c */

/* the index of run `id` in ex, -1 when it is not one of its runs */
int run_index_of(const Experiment *ex, const char *id);
/* records row (run run_index, data at src), replacing an earlier row of the
   run; 0, or -1 when out of memory */
int put_row(Results *rs, const SummaryRow *row, int run_index, RunSource src);
/* forgets run run_index: it is run again */
void drop_row(Results *rs, int run_index);
/* forgets every run */
void forget_rows(Results *rs);

/* ---- results_index.c */

/* the experiment's hash as FILE.h5 and every part record it */
void hash_text(const Results *rs, char *out, size_t n);
/* Writes FILE.h5: the index (external links into the parts) or, when
   consolidate, the self-contained file with the runs copied in. 0, or -1
   with err saying why. */
int write_main(Results *rs, int consolidate, char *err, size_t n);
/* dest/name in the new file: a copy (consolidate) or an external link of
   obj in base.h5 (from_base) or of parts/<name>.h5's root; 0 or -1 */
int put_object(Results *rs, hid_t dest, const char *name, int from_base, const char *obj, int consolidate,
               char *err, size_t n);

/* ---- results_inspect.c */

/* MAIN_GROWN: another version of this experiment (a results file of
   another grid that shares finished runs with this one) */
typedef enum { MAIN_ABSENT, MAIN_SAME, MAIN_GROWN, MAIN_OTHER_EXPERIMENT, MAIN_FOREIGN, MAIN_UNREADABLE } MainKind;

/* what FILE.h5 is */
typedef struct {
    MainKind kind;
    int complete;
    int summary_ok;
    char provenance_err[512];
    const char *unreadable_why;
} MainInfo;

int ends_with(const char *s, const char *suffix);
/* path opened read-only in the checksummed format; -1 when it is not HDF5 */
hid_t open_ro(const char *path);
/* 1 when f is a results file (or part) of this experiment */
int is_ours(hid_t f, const char *want_hash, int *ours_format);
/* rows of a complete file (or base.h5) f: from its summary, else from its
   run groups (the summary was damaged). Returns how many runs it gave. */
int rows_from_complete(Results *rs, hid_t f, int *summary_ok);
/* FILE.h5 and base.h5, read first in a child; the runs found are recorded in rs */
MainInfo inspect_main(Results *rs, const char *want_hash);

/* ---- results_history.c */

/* 1 when f's summary has a finished run of ex */
int shares_runs(hid_t f, const Experiment *ex);
/* the runs of a complete file f that are not in the grid, from its /runs
   and its /dropped, into rs->dropped; and those of its /dropped that are
   back in the grid into rs's rows (SRC_BASE_DROPPED) */
void dropped_from_complete(Results *rs, hid_t f);
/* the experiment texts f records into rs->versions */
void versions_read(Results *rs, hid_t f);
/* this experiment's text, appended when it differs from the last one; 0 or -1 (memory) */
int versions_add_current(Results *rs);
/* forgets the dropped runs and the versions (starting over) */
void history_forget(Results *rs);
/* writes /dropped (its summary and runs: copies, or links when an index)
   and the versions' attributes into f; 0, or -1 with err */
int history_write(Results *rs, hid_t f, int consolidate, char *err, size_t n);
int versions_write_attrs(const Results *rs, hid_t f);

/* ---- results_parts.c */

typedef struct {
    int moved;           /* files moved to the stale folder */
    char stale_dir[1300];
    int other_build;     /* parts of this experiment written by another build */
    char provenance_err[512];
} PartsScan;

/* every file of the parts folder kept, removed or moved aside (ps says
   what was); 0, or -1 when out of memory */
int scan_parts(Results *rs, PartsScan *ps, const char *want_hash, int main_complete);
/* removes every part of the folder (--force: starting over) */
void clear_parts(Results *rs);

#endif
