/* h5io.h: thin, error-checked helpers over the HDF5 C API for the few shapes
   rnnbench writes (scalar/string attributes, n-d datasets of real, double or
   int). Every helper returns 0 on success and -1 on failure, silently: the
   caller reports one line for the file it was writing, and a run's failure
   never kills a grid.
   Not thread-safe: only the results writer thread and single-run commands
   call it. */
#ifndef RNNBENCH_H5IO_H
#define RNNBENCH_H5IO_H

#include <hdf5.h>
#include "../cells/cell.h"

#ifdef RNNBENCH_DOUBLE
#define H5T_REAL H5T_NATIVE_DOUBLE
#else
#define H5T_REAL H5T_NATIVE_FLOAT
#endif

/* silence HDF5's own error stack printing; our messages replace it */
void h5_quiet(void);

int h5_attr_str(hid_t obj, const char *name, const char *value);
int h5_attr_int(hid_t obj, const char *name, long long value);
int h5_attr_double(hid_t obj, const char *name, double value);
int h5_attr_u64(hid_t obj, const char *name, unsigned long long value);

/* file access in the HDF5 1.10 format, whose metadata carries checksums */
hid_t h5_fapl(void);
/* creates (truncates) path in that format */
hid_t h5_create(const char *path);

/* dataset of `rank` dims with element type `type`: chunked with a
   Fletcher-32 checksum per chunk (when it holds anything), and compressed
   when it has more than a few hundred elements */
int h5_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
             const void *data);
int h5_write_real(hid_t loc, const char *name, int rank, const hsize_t *dims, const real *data);
int h5_write_double(hid_t loc, const char *name, int rank, const hsize_t *dims,
                    const double *data);

/* a cell's `kind` attribute and the flags its kind writes (cell_write_attrs;
   docs/cells.md lists them); nothing for a cell never built (ops NULL) */
int h5_attr_cell(hid_t obj, const Cell *cell);

/* scalar attributes read back; -1 when absent, not a scalar, of another
   class, or (strings) longer than 16 MiB. Strings are cut to fit out. */
int h5_read_attr_str(hid_t obj, const char *name, char *out, size_t n);
int h5_read_attr_long(hid_t obj, const char *name, long long *out);
int h5_read_attr_double(hid_t obj, const char *name, double *out);

/* The seal of an object's variable-length string attributes (their values
   live in HDF5's global heap, outside every checksum): H5_SEAL_ATTR, a
   64-bit FNV-1a over name, NUL, value, NUL of each, in name order.
   h5_seal writes it once the object's attributes are all written;
   h5_check_seal returns 0 when it matches (or is absent: older files), -1
   when a string was changed or cannot be read. */
#define H5_SEAL_ATTR "strings_fnv1a64"
int h5_seal(hid_t obj);
int h5_check_seal(hid_t obj);

/* create a group (intermediate groups too) */
hid_t h5_group(hid_t loc, const char *path);

#endif
