/* trace.c: `rnnbench trace`, one forward and backward pass of a cell with
   its readout on random data, written to HDF5 for checking against other
   implementations (tests/test_trace_torch.py) and for debugging. Not a
   training run: nothing is updated. */
#include "trace.h"
#include "h5io.h"
#include "util.h"
#include "../cells/gemm.h"
#include "../cells/model.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench trace --cell NAME --hidden H --input X --output Y --steps T\n"
            "                      --batch B --loss mse|xent|bce --seed S -o FILE.h5\n"
            "                      [--forget-bias F]\n"
            "One forward and backward pass on random data (h_0 = c_0 = 0), written to FILE.h5:\n"
            "attributes describe the cell; datasets x, target, mask, y, loss, h, dx, dh0,\n"
            "flow_h, params/<name> and grads/<name>.\n");
}

/* Random inputs, targets and a mask with some zeros (a whole step and
   scattered entries), all from the data stream of the seed. */
static void random_batch(Rng *rng, const Model *m, int T, int B, real *x, real *target,
                         real *mask) {
    int X = m->cell.X, Y = m->Y;
    for (size_t k = 0; k < (size_t)T * B * X; k++) x[k] = (real)rng_range(rng, -1, 1);
    for (size_t r = 0; r < (size_t)T * B; r++) {
        real *tr = target + r * Y;
        if (m->loss == LOSS_XENT) {
            int cls = rng_int(rng, Y);
            for (int k = 0; k < Y; k++) tr[k] = (real)(k == cls);
        } else if (m->loss == LOSS_BCE) {
            for (int k = 0; k < Y; k++) tr[k] = (real)(rng_uniform(rng) < 0.5);
        } else {
            for (int k = 0; k < Y; k++) tr[k] = (real)rng_range(rng, -1, 1);
        }
        mask[r] = (real)(rng_uniform(rng) < 0.75);
    }
    if (T > 1)
        for (int b = 0; b < B; b++) mask[b] = 0; /* step 0 does not count at all */
    mask[(size_t)(T - 1) * B] = 1;               /* at least one row counts */
}

static int write_trace(const char *path, const Model *m, int T, int B, unsigned long long seed,
                       const real *params, const real *grads, const real *x,
                       const real *target, const real *mask, const ModelWork *w, double loss,
                       const real *flow_h, const real *flow_c) {
    const Cell *c = &m->cell;
    int X = c->X, H = c->H, Y = m->Y;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "rnnbench: cannot create '%s' (is the directory writable?)\n", tmp);
        return -1;
    }
    int rc = 0;
    rc |= h5_attr_str(f, "cell", c->name);
    rc |= h5_attr_int(f, "hidden", H);
    rc |= h5_attr_int(f, "input_size", X);
    rc |= h5_attr_int(f, "output_size", Y);
    rc |= h5_attr_str(f, "loss_kind", loss_name(m->loss));
    rc |= h5_attr_str(f, "precision", REAL_NAME);
    rc |= h5_attr_str(f, "gemm_backend", gemm_backend());
    rc |= h5_attr_int(f, "steps", T);
    rc |= h5_attr_int(f, "batch", B);
    rc |= h5_attr_int(f, "seed", (long long)seed);
    rc |= h5_attr_str(f, "rnnbench_version", RNNBENCH_VERSION);
    rc |= h5_attr_cell_flags(f, c->kind, &c->flags);
    hsize_t dx3[3] = {T, B, X}, dy3[3] = {T, B, Y}, dh3[3] = {T, B, H}, d2[2] = {T, B};
    hsize_t dbh[2] = {B, H}, dT[1] = {T};
    rc |= h5_write_real(f, "x", 3, dx3, x);
    rc |= h5_write_real(f, "target", 3, dy3, target);
    rc |= h5_write_real(f, "mask", 2, d2, mask);
    rc |= h5_write_real(f, "y", 3, dy3, w->y);
    rc |= h5_write_double(f, "loss", 0, NULL, &loss);
    rc |= h5_write_real(f, "h", 3, dh3, w->cc.h + (size_t)B * H);
    rc |= h5_write_real(f, "dx", 3, dx3, w->dx);
    rc |= h5_write_real(f, "dh0", 2, dbh, w->dh0);
    if (c->kind == CELL_LSTM) rc |= h5_write_real(f, "dc0", 2, dbh, w->dc0);
    rc |= h5_write_real(f, "flow_h", 1, dT, flow_h);
    if (c->kind == CELL_LSTM) rc |= h5_write_real(f, "flow_c", 1, dT, flow_c);
    hid_t gp = h5_group(f, "params"), gg = h5_group(f, "grads");
    if (gp < 0 || gg < 0) rc = -1;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const ParamTensor *t = &m->tensors[i];
        hsize_t dims[2] = {t->rows, t->cols};
        int rank = t->cols == 1 ? 1 : 2;
        rc |= h5_write_real(gp, t->name, rank, dims, params + t->offset);
        rc |= h5_write_real(gg, t->name, rank, dims, grads + t->offset);
    }
    if (gp >= 0) H5Gclose(gp);
    if (gg >= 0) H5Gclose(gg);
    if (H5Fclose(f) < 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) {
        perror(path);
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "rnnbench: could not write trace '%s'\n", path);
        remove(tmp);
    }
    return rc;
}

int cmd_trace(int argc, char **argv) {
    const char *cell_name = NULL, *out = NULL, *loss_s = "mse";
    long hidden = 8, input = 3, output = 2, steps = 20, batch = 4;
    unsigned long long seed = 1;
    double forget_bias = 1.0;
    static const struct option opts[] = {
        {"cell", required_argument, 0, 'c'},   {"hidden", required_argument, 0, 'H'},
        {"input", required_argument, 0, 'X'},  {"output", required_argument, 0, 'Y'},
        {"steps", required_argument, 0, 'T'},  {"batch", required_argument, 0, 'B'},
        {"loss", required_argument, 0, 'l'},   {"seed", required_argument, 0, 's'},
        {"forget-bias", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int ok = 1;
        switch (opt) {
        case 'c': cell_name = optarg; break;
        case 'H': ok = parse_long(optarg, 1, 1 << 20, &hidden); break;
        case 'X': ok = parse_long(optarg, 1, 1 << 20, &input); break;
        case 'Y': ok = parse_long(optarg, 1, 1 << 20, &output); break;
        case 'T': ok = parse_long(optarg, 1, 1 << 24, &steps); break;
        case 'B': ok = parse_long(optarg, 1, 1 << 20, &batch); break;
        case 'l': loss_s = optarg; break;
        case 's': ok = parse_u64(optarg, &seed); break;
        case 'f': ok = parse_double(optarg, &forget_bias); break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            const char *name = "?";
            for (const struct option *o = opts; o->name; o++)
                if (o->val == opt) name = o->name;
            fprintf(stderr, "rnnbench trace: invalid value '%s' for --%s\n", optarg, name);
            return 2;
        }
    }
    if (!cell_name || !out) {
        fprintf(stderr, "rnnbench trace: --cell and -o are required\n");
        usage(stderr);
        return 2;
    }
    LossKind loss;
    if (loss_parse(loss_s, &loss) != 0) {
        fprintf(stderr, "rnnbench trace: unknown loss '%s' (mse, xent or bce)\n", loss_s);
        return 2;
    }
    Model m;
    char err[256];
    if (model_make(&m, cell_name, (int)input, (int)hidden, (int)output, loss, err, sizeof err)) {
        fprintf(stderr, "rnnbench: %s\n", err);
        return 2;
    }
    int T = (int)steps, B = (int)batch;
    gemm_single_thread();
    real *params = calloc(m.n_params, sizeof(real));
    real *grads = calloc(m.n_params, sizeof(real));
    size_t TB = (size_t)T * B;
    real *x = malloc(TB * m.cell.X * sizeof(real));
    real *target = malloc(TB * m.Y * sizeof(real));
    real *mask = malloc(TB * sizeof(real));
    real *flow = malloc(2 * (size_t)T * sizeof(real));
    ModelWork w;
    if (!params || !grads || !x || !target || !mask || !flow || model_work_alloc(&m, T, B, &w)) {
        fprintf(stderr, "rnnbench trace: out of memory for T=%d B=%d H=%d\n", T, B, m.cell.H);
        return 1;
    }
    Rng rng;
    rng_stream(&rng, seed, "init");
    model_init(&m, params, &rng, 0, forget_bias);
    rng_stream(&rng, seed, "data");
    random_batch(&rng, &m, T, B, x, target, mask);
    w.readout_all = 1;
    model_zero_state(&m, &w);
    double loss_v = model_forward(&m, params, x, target, mask, &w);
    model_backward(&m, params, x, &w, grads, flow, flow + T);
    h5_quiet();
    int rc = write_trace(out, &m, T, B, seed, params, grads, x, target, mask, &w, loss_v, flow,
                         flow + T);
    model_work_free(&w);
    free(params); free(grads); free(x); free(target); free(mask); free(flow);
    return rc ? 1 : 0;
}
