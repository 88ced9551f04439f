/* run_record.h: one run's records (RunResult) as an HDF5 group: every
   resolved parameter, the cell's flags and the outcome as attributes, the
   curves as checksummed datasets under train/ and eval/; and the provenance
   of the build that wrote them, checked before a file is resumed. */
#ifndef RNNBENCH_RUN_RECORD_H
#define RNNBENCH_RUN_RECORD_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include "train.h"

#define RESULTS_FORMAT_NAME "rnnbench-results"

/* writes r into group g (a part file's root or /runs/<id>); 0 or -1 */
int run_record_write(hid_t g, const RunResult *r, uint64_t experiment_hash);

/* the build's provenance: precision, GEMM backend, commit, format version */
int provenance_write(hid_t obj);
/* 0 when obj was written by this build; else -1 and err names every
   difference, e.g. "precision double (this build: float)". A file without
   a format_version is of version 1. */
int provenance_check(hid_t obj, char *err, size_t n);

#endif
