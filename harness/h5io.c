/* h5io.c: see h5io.h. */
#include "h5io.h"

#include <stdio.h>
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

int h5_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
             const void *data) {
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (space < 0) goto fail;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (rank > 0 && n >= 256) {
        /* chunks of whole trailing rows, about 64k elements each */
        hsize_t chunk[8];
        hsize_t per = 1;
        for (int i = rank - 1; i >= 0; i--) {
            hsize_t want = 65536 / per;
            if (want < 1) want = 1;
            chunk[i] = dims[i] < want ? dims[i] : want;
            if (chunk[i] < 1) chunk[i] = 1;
            per *= chunk[i];
        }
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 4);
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
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    return g;
}

int h5_attr_cell_flags(hid_t g, CellKind kind, const CellFlags *f) {
    int rc = 0;
    if (kind == CELL_LSTM) {
        rc |= h5_attr_int(g, "input_gate", f->input_gate);
        rc |= h5_attr_int(g, "forget_gate", f->forget_gate);
        rc |= h5_attr_int(g, "output_gate", f->output_gate);
        rc |= h5_attr_int(g, "peepholes", f->peepholes);
        rc |= h5_attr_int(g, "coupled", f->coupled);
        rc |= h5_attr_int(g, "full_gate_recurrence", f->full_gate_recurrence);
        rc |= h5_attr_str(g, "input_activation", f->input_linear ? "linear" : "tanh");
        rc |= h5_attr_str(g, "output_activation", f->output_linear ? "linear" : "tanh");
    } else if (kind == CELL_GRU) {
        rc |= h5_attr_int(g, "reset_after", f->reset_after);
    } else {
        rc |= h5_attr_str(g, "activation", f->relu ? "relu" : "tanh");
    }
    return rc;
}
