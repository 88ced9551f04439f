/* h5io.c: see h5io.h. */
#include "h5io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static int attr_write(hid_t obj, const char *name, hid_t type, const void *value) {
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) return -1;
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (attr >= 0) {
        rc = H5Awrite(attr, type, value) < 0 ? -1 : 0;
        H5Aclose(attr);
    }
    H5Sclose(space);
    return rc;
}

int h5_attr_str(hid_t obj, const char *name, const char *value) {
    /* variable-length UTF-8, which h5py returns as str (fixed-length would
       come back as bytes) */
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0) return -1;
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const char *ptr = value;
    int rc = attr_write(obj, name, type, &ptr);
    H5Tclose(type);
    return rc;
}

int h5_attr_int(hid_t obj, const char *name, long long value) {
    return attr_write(obj, name, H5T_NATIVE_LLONG, &value);
}

int h5_attr_double(hid_t obj, const char *name, double value) {
    return attr_write(obj, name, H5T_NATIVE_DOUBLE, &value);
}

int h5_attr_u64(hid_t obj, const char *name, unsigned long long value) {
    return attr_write(obj, name, H5T_NATIVE_ULLONG, &value);
}

/* the longest string attribute read back (an experiment's text is at most 16 MiB) */
#define H5_MAX_ATTR_STRING (1u << 24)

/* attributes an object keeps in its header (rnnbench writes fewer than 100) */
#define H5_MAX_COMPACT_ATTRS 400

hid_t h5_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* the 1.10 format: superblock, object headers (attributes included) and
       chunk indexes carry checksums, so a flipped bit there is an error; and a
       small chunked dataset costs a few bytes of index, not a 2 KiB B-tree node
       (a run's file is 8 KB instead of 30) */
    if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

hid_t h5_create(const char *path) {
    hid_t fapl = h5_fapl(), fcpl = H5Pcreate(H5P_FILE_CREATE);
    /* the root group's attributes (a run has about 70) stay in its object
       header, under its checksum: past 8, HDF5 would move them to "dense"
       storage, which libhdf5 1.10's H5Ocopy crashes on */
    hid_t f = -1;
    if (fapl >= 0 && fcpl >= 0 && H5Pset_attr_phase_change(fcpl, H5_MAX_COMPACT_ATTRS, H5_MAX_COMPACT_ATTRS - 1) >= 0)
        f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    return f;
}

int h5_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
             const void *data) {
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (space < 0) goto fail;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (rank > 0 && n > 0) {
        /* chunked, so that every chunk carries a Fletcher-32 checksum: a flipped
           bit in a curve is a read error, never a number. Chunks of whole
           trailing rows, at most 64k elements and about 1 MiB each. */
        size_t elem = H5Tget_size(type);
        hsize_t budget = (hsize_t)(elem > 0 && (1u << 20) / elem < 65536 ? (1u << 20) / elem : 65536);
        if (budget < 1) budget = 1;
        hsize_t chunk[8], per = 1;
        for (int i = rank - 1; i >= 0; i--) {
            hsize_t want = budget / per;
            if (want < 1) want = 1;
            chunk[i] = dims[i] < want ? dims[i] : want;
            if (chunk[i] < 1) chunk[i] = 1;
            per *= chunk[i];
        }
        H5Pset_chunk(dcpl, rank, chunk);
        if (n >= 256) {
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, 4);
        }
        H5Pset_fletcher32(dcpl);
    }
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (ds < 0) goto fail;
    herr_t st = n > 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    if (H5Dclose(ds) < 0 || st < 0) goto fail;
    return 0;
fail:
    /* the caller reports one line for the whole file */
    return -1;
}

int h5_write_real(hid_t loc, const char *name, int rank, const hsize_t *dims, const real *data) {
    return h5_write(loc, name, H5T_REAL, rank, dims, data);
}

int h5_write_double(hid_t loc, const char *name, int rank, const hsize_t *dims,
                    const double *data) {
    return h5_write(loc, name, H5T_NATIVE_DOUBLE, rank, dims, data);
}

hid_t h5_group(hid_t loc, const char *path) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_attr_phase_change(gcpl, H5_MAX_COMPACT_ATTRS, H5_MAX_COMPACT_ATTRS - 1);
    hid_t g = H5Gcreate2(loc, path, lcpl, gcpl, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Pclose(gcpl);
    return g;
}

/* the cell kind's attributes (kind, then its flags), through cells/' AttrSink */
static int sink_int(void *g, const char *name, long long v) { return h5_attr_int(*(hid_t *)g, name, v); }
static int sink_str(void *g, const char *name, const char *v) { return h5_attr_str(*(hid_t *)g, name, v); }

int h5_attr_cell(hid_t g, const Cell *cell) {
    if (!cell->ops) return 0; /* a run that failed before its cell was built */
    const AttrSink sink = {&g, sink_int, sink_str};
    return cell_write_attrs(cell, &sink);
}

/* ------------------------------------------------------------------------- */
/* reading attributes back, bounded: a file from elsewhere may hold an array
   where rnnbench writes a scalar, or a string of any size */


static hid_t open_scalar_attr(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    hssize_t npoints = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (npoints != 1) {
        H5Aclose(a);
        return -1;
    }
    return a;
}

int h5_read_attr_str(hid_t obj, const char *name, char *out, size_t n) {
    out[0] = '\0';
    hid_t a = open_scalar_attr(obj, name);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a);
    int rc = -1;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(out, n, "%s", s);
                rc = 0;
            }
            if (s) H5free_memory(s);
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(t);
            char *buf = sz > 0 && sz <= H5_MAX_ATTR_STRING ? calloc(sz + 1, 1) : NULL;
            if (buf && H5Aread(a, t, buf) >= 0) {
                snprintf(out, n, "%s", buf);
                rc = 0;
            }
            free(buf);
        }
    }
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static int read_attr_as(hid_t obj, const char *name, hid_t mem_type, void *out) {
    hid_t a = open_scalar_attr(obj, name);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int rc = (cls == H5T_INTEGER || cls == H5T_FLOAT) && H5Aread(a, mem_type, out) >= 0 ? 0 : -1;
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int h5_read_attr_long(hid_t obj, const char *name, long long *out) {
    return read_attr_as(obj, name, H5T_NATIVE_LLONG, out);
}

int h5_read_attr_double(hid_t obj, const char *name, double *out) {
    return read_attr_as(obj, name, H5T_NATIVE_DOUBLE, out);
}

/* ------------------------------------------------------------------------- */
/* the seal of string attributes: variable-length strings live in HDF5's
   global heap, which has no checksum of its own */

typedef struct {
    uint64_t h;
    int failed;
} SealState;

static void fnv1a(uint64_t *h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ull;
    }
}

static herr_t seal_one(hid_t obj, const char *name, const H5A_info_t *info, void *arg) {
    (void)info;
    SealState *st = arg;
    if (!strcmp(name, H5_SEAL_ATTR)) return 0;
    hid_t a = open_scalar_attr(obj, name);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    int is_vlen_str = t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (is_vlen_str) {
        char *value = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(a, mt, &value) >= 0 && value) {
            fnv1a(&st->h, name, strlen(name) + 1);
            fnv1a(&st->h, value, strlen(value) + 1);
        } else {
            st->failed = 1;
        }
        if (value) H5free_memory(value);
        H5Tclose(mt);
    }
    /* other values (numbers, fixed-size strings) sit in the checksummed object header */
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    else if (H5Aexists(obj, name) > 0) st->failed = 1; /* an attribute that cannot be opened */
    return 0;
}

static int strings_hash(hid_t obj, uint64_t *out) {
    SealState st = {0xcbf29ce484222325ull, 0};
    hsize_t idx = 0;
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, seal_one, &st) < 0 || st.failed) return -1;
    *out = st.h;
    return 0;
}

int h5_seal(hid_t obj) {
    uint64_t h;
    return strings_hash(obj, &h) == 0 ? h5_attr_u64(obj, H5_SEAL_ATTR, h) : -1;
}

int h5_check_seal(hid_t obj) {
    if (H5Aexists(obj, H5_SEAL_ATTR) <= 0) return 0; /* written before seals existed */
    hid_t a = open_scalar_attr(obj, H5_SEAL_ATTR);
    unsigned long long stored;
    int ok = a >= 0 && H5Aread(a, H5T_NATIVE_ULLONG, &stored) >= 0;
    if (a >= 0) H5Aclose(a);
    uint64_t h;
    return ok && strings_hash(obj, &h) == 0 && h == stored ? 0 : -1;
}
