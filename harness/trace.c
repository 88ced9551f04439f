/* trace.c: `rnnbench trace`, one forward and backward pass of a cell with
   its readout on random data, written to HDF5 for checking against other
   implementations (tests/test_trace_torch.py) and for debugging. With
   --updates K it then replays K updates of training on that batch, the
   optimiser options as `train` takes them (tests/test_trace_optim.py checks
   them against torch.optim).
   -o never destroys what it did not write: it creates FILE, or replaces a
   trace rnnbench wrote (attribute format = "rnnbench-trace"), and refuses
   anything else (a results or experiment file, a directory, ...). The trace
   is written to FILE.tmp.<pid>, created exclusively, then renamed over FILE. */
#include "trace.h"
#include "h5io.h"
#include "settings.h"
#include "train.h"
#include "util.h"
#include "../cells/gemm.h"
#include "../cells/model.h"
#include "../cells/graph.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRACE_FORMAT "rnnbench-trace"
#define TRACE_FORMAT_VERSION 1
/* the values one trace may hold (inputs, activation cache, gradients):
   4 GiB as float, 8 GiB as double */
#define TRACE_MAX_VALUES (1L << 30)

static void usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench trace --cell NAME [--cell-file FILE] [--layers L] [--hidden H] [--input X] [--output Y] [--steps T]\n"
            "                      [--batch B] [--loss mse|xent|bce|bce_sum] [--seed S] [--forget-bias F]\n"
            "                      [--updates K [--optimizer sgd|adam] [--lr R] [--momentum M] [--nesterov]\n"
            "                       [--lr-scale-momentum] [--input-noise S] [--clip C] [--beta1 B1]\n"
            "                       [--beta2 B2] [--adam-eps E] [--sum-over-time]] -o FILE.h5\n"
            "One forward and backward pass on random data (h_0 = c_0 = 0), written to FILE.h5:\n"
            "attributes describe the cell; datasets x, target, mask, y, loss, h, dx, dh0,\n"
            "flow_h, params/<name> and grads/<name>. With --layers L >= 2, h is the top\n"
            "layer's, dh0 and dc0 are (L, B, H) and flow_h, flow_c (L, T), bottom layer first,\n"
            "and the parameter names end in _l<k> (PyTorch's num_layers names).\n"
            "--updates K then makes K updates of training on the same batch, as `train` makes\n"
            "them (input noise drawn afresh each time, clipping, the optimiser's step; the\n"
            "options and defaults are train's): updates/x (K, T, B, X: the inputs with their\n"
            "noise), updates/loss (K), updates/params/<name> (after the last update), and\n"
            "updates/y, updates/final_loss: the trained model on the batch.\n"
            "Defaults: H 8, X 3, Y 2, T 20, B 4, mse, seed 1. H, X, Y and B are at most 2^20, T at\n"
            "most 2^24, the seed below 2^63, and the trace at most 2^30 values in all.\n"
            "--cell-file FILE reads the [cell NAME] sections of FILE (an experiment file, say):\n"
            "cells written as equations (docs/cells.md), which --cell may then name.\n"
            "FILE.h5 is created, or replaced when it is a trace rnnbench wrote; any other existing\n"
            "file (results, an experiment) or a directory is refused, and left as it was.\n");
}

typedef struct {
    const char *cell, *out, *loss;
    long hidden, input, output, steps, batch, layers;
    long seed;
    double forget_bias;
    long updates;
    RunConfig train; /* the optimiser settings of --updates */
} TraceArgs;

/* the option value of setting k: --updates takes training's optimiser
   settings under train's option names */
#define SETTING_OPTION_VAL(k) (1000 + (k))

/* what --updates made: the K inputs with their noise, the losses, and the
   parameters after the last update */
typedef struct {
    long K;
    const RunConfig *cfg; /* the optimiser's settings */
    const real *x;
    const double *loss;
    const real *params;
    const real *y;      /* the outputs at the final parameters on the batch without noise */
    double final_loss;  /* and their loss */
} TraceUpdates;

static const struct option OPTIONS[] = {
    {"cell", required_argument, 0, 'c'},   {"hidden", required_argument, 0, 'H'},
    {"input", required_argument, 0, 'X'},  {"output", required_argument, 0, 'Y'},
    {"steps", required_argument, 0, 'T'},  {"batch", required_argument, 0, 'B'},
    {"loss", required_argument, 0, 'l'},   {"seed", required_argument, 0, 's'},
    {"forget-bias", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
    {"updates", required_argument, 0, 'U'}, {"layers", required_argument, 0, 'L'},
    {"cell-file", required_argument, 0, 'F'},
    {"optimizer", required_argument, 0, SETTING_OPTION_VAL(SETTING_optimizer)},
    {"lr", required_argument, 0, SETTING_OPTION_VAL(SETTING_lr)},
    {"momentum", required_argument, 0, SETTING_OPTION_VAL(SETTING_momentum)},
    {"nesterov", no_argument, 0, SETTING_OPTION_VAL(SETTING_nesterov)},
    {"lr-scale-momentum", no_argument, 0, SETTING_OPTION_VAL(SETTING_lr_scale_momentum)},
    {"input-noise", required_argument, 0, SETTING_OPTION_VAL(SETTING_input_noise)},
    {"clip", required_argument, 0, SETTING_OPTION_VAL(SETTING_clip)},
    {"beta1", required_argument, 0, SETTING_OPTION_VAL(SETTING_beta1)},
    {"beta2", required_argument, 0, SETTING_OPTION_VAL(SETTING_beta2)},
    {"adam-eps", required_argument, 0, SETTING_OPTION_VAL(SETTING_adam_eps)},
    {"sum-over-time", no_argument, 0, SETTING_OPTION_VAL(SETTING_sum_over_time)},
    {0, 0, 0, 0}};

static const char *option_name(int val) {
    for (const struct option *o = OPTIONS; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

/* a whole number in [lo, hi] into *field; 1, or 0 with why */
static int set_long(long *field, const char *arg, long lo, long hi, char *why, size_t n) {
    if (parse_long(arg, lo, hi, field)) return 1;
    why_not_long(arg, lo, hi, why, n);
    return 0;
}

/* one option into a; 1, or 0 with the reason in why */
static int apply_option(int opt, const char *arg, TraceArgs *a, char *why, size_t n) {
    switch (opt) {
    case 'c': a->cell = arg; return 1;
    case 'H': return set_long(&a->hidden, arg, 1, 1L << 20, why, n);
    case 'X': return set_long(&a->input, arg, 1, 1L << 20, why, n);
    case 'Y': return set_long(&a->output, arg, 1, 1L << 20, why, n);
    case 'T': return set_long(&a->steps, arg, 1, 1L << 24, why, n);
    case 'B': return set_long(&a->batch, arg, 1, 1L << 20, why, n);
    /* the seed attribute is a signed 64-bit integer */
    case 's': return set_long(&a->seed, arg, 0, LONG_MAX, why, n);
    case 'l': {
        LossKind k;
        if (loss_parse(arg, &k) == 0) {
            a->loss = arg;
            return 1;
        }
        snprintf(why, n, "expected mse, xent or bce (or bce_sum), got '%s'", arg);
        return 0;
    }
    case 'f':
        if (parse_double(arg, &a->forget_bias)) return 1;
        why_not_double(arg, "a number", why, n);
        return 0;
    case 'U': return set_long(&a->updates, arg, 0, 1L << 20, why, n);
    case 'L': return set_long(&a->layers, arg, 1, MODEL_MAX_LAYERS, why, n);
    case 'F': {
        /* its cells are registered now, before --cell is built */
        return graph_read_file(arg, why, n) == 0;
    }
    }
    if (opt >= SETTING_OPTION_VAL(0) && opt < SETTING_OPTION_VAL(N_SETTINGS)) {
        /* a setting of training, parsed and range-checked as `train` does */
        int k = opt - SETTING_OPTION_VAL(0);
        SettingValue v;
        if (!setting_parse(k, FROM_COMMAND_LINE, arg ? arg : "1", &v, why, n)) return 0;
        setting_set(&a->train, k, &v);
        char err[512];
        if (settings_check(&a->train, err, sizeof err) == 0) return 1;
        snprintf(why, n, "%s", strchr(err, ':') ? strchr(err, ':') + 2 : err);
        return 0;
    }
    snprintf(why, n, "not an option of trace");
    return 0;
}

/* the command line into a: -1 to go on, else the exit status */
static int parse_args(int argc, char **argv, TraceArgs *a) {
    *a = (TraceArgs){.loss = "mse", .hidden = 8, .input = 3, .output = 2, .steps = 20, .batch = 4,
                     .layers = 1, .seed = 1, .forget_bias = 1.0};
    config_default(&a->train);
    int opt;
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((opt = getopt_long(argc, argv, ":o:h", OPTIONS, NULL)) != -1) {
        char why[512];
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == '?' || opt == ':') {
            print_getopt_error("trace", opt, argv);
            return 2;
        }
        if (opt == 'o') a->out = optarg;
        else if (!apply_option(opt, optarg, a, why, sizeof why)) {
            print_error("rnnbench trace: --%s: %s", option_name(opt), why);
            return 2;
        }
    }
    if (optind != argc) {
        print_error("rnnbench trace: unexpected argument '%s' (rnnbench trace --help)", argv[optind]);
        return 2;
    }
    if (!a->cell || !a->out) {
        print_error("rnnbench trace: --cell and -o are required (rnnbench trace --help)");
        return 2;
    }
    if (!*a->out) {
        print_error("rnnbench trace: -o: expected a file name, got ''");
        return 2;
    }
    return -1;
}

/* Roughly the values the trace's buffers hold, in double (no overflow): per
   row of T x B the input, output, target and the widest cell's activation
   cache (under 16 per hidden unit); the parameters and their gradients. */
static double trace_values(const TraceArgs *a) {
    double H = (double)a->hidden, X = (double)a->input, Y = (double)a->output;
    double rows = (double)a->steps * (double)a->batch;
    double L = (double)a->layers;
    double params = 16 * H * (X + L * H + 2 * L) + Y * (H + 1);
    return rows * (2 * X + 3 * Y + 18 * L * H + 2) + 2 * params + 8 * L * (double)a->batch * H;
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
        } else if (m->loss == LOSS_BCE || m->loss == LOSS_BCE_SUM) {
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

/* ------------------------------------------------------------------------- */
/* what -o may replace */

/* 1 when obj has a scalar string attribute `name` equal to want */
static int attr_str_equals(hid_t obj, const char *name, const char *want) {
    if (H5Aexists(obj, name) <= 0) return 0;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) return 0;
    hid_t space = H5Aget_space(attr), type = H5Aget_type(attr);
    int equal = 0;
    if (space >= 0 && type >= 0 && H5Sget_simple_extent_type(space) == H5S_SCALAR &&
        H5Tget_class(type) == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0) {
            hid_t mem = H5Tcopy(H5T_C_S1);
            char *value = NULL;
            if (mem >= 0 && H5Tset_size(mem, H5T_VARIABLE) >= 0 &&
                H5Tset_cset(mem, H5Tget_cset(type)) >= 0 && H5Aread(attr, mem, &value) >= 0 && value) {
                equal = !strcmp(value, want);
                H5free_memory(value);
            }
            if (mem >= 0) H5Tclose(mem);
        } else {
            char value[64] = "";
            if (H5Tget_size(type) < sizeof value && H5Aread(attr, type, value) >= 0)
                equal = !strcmp(value, want);
        }
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    return equal;
}

/* a trace of rnnbench 0.1.0, written before the format attribute: no format,
   and the attributes and datasets only a trace has */
static int is_early_trace(hid_t f) {
    return H5Aexists(f, "format") == 0 && H5Aexists(f, "rnnbench_version") > 0 &&
           H5Aexists(f, "loss_kind") > 0 && H5Lexists(f, "flow_h", H5P_DEFAULT) > 0 &&
           H5Lexists(f, "grads", H5P_DEFAULT) > 0;
}

/* 1 when the regular file at path is a trace rnnbench wrote */
static int is_rnnbench_trace(const char *path) {
    if (H5Fis_hdf5(path) <= 0) return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    int trace = attr_str_equals(f, "format", TRACE_FORMAT) || is_early_trace(f);
    H5Fclose(f);
    return trace;
}

/* 1 when the directory a new file at path would go in exists and takes
   files; else 0 with the reason in why */
static int directory_usable(const char *path, char *why, size_t n) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    if (len >= sizeof dir) {
        snprintf(why, n, "path too long");
        return 0;
    }
    if (!slash) memcpy(dir, ".", 1);
    else if (len == 0) memcpy(dir, "/", len = 1);
    else memcpy(dir, path, len);
    dir[len] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, n, "no directory '%s' to write it in", dir);
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, n, "cannot write in the directory '%s': %s", dir, strerror(errno));
        return 0;
    }
    return 1;
}

/* 1 when a trace may be written at path: nothing is there, or a trace
   rnnbench wrote; else 0 with the reason in why */
static int may_write_trace(const char *path, char *why, size_t n) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(why, n, "%s", strerror(errno));
            return 0;
        }
        if (lstat(path, &st) == 0) {
            snprintf(why, n, "is a symbolic link to nothing; not replacing it");
            return 0;
        }
        if (path[strlen(path) - 1] == '/') {
            snprintf(why, n, "ends in '/': a directory, not a file");
            return 0;
        }
        return directory_usable(path, why, n);
    }
    if (S_ISDIR(st.st_mode)) snprintf(why, n, "is a directory");
    else if (!S_ISREG(st.st_mode)) snprintf(why, n, "is not a regular file; not replacing it");
    else if (!is_rnnbench_trace(path))
        snprintf(why, n, "exists and is not a trace rnnbench wrote; not replacing it (remove it, or "
                 "choose another -o)");
    else return 1;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* the trace */

/* updates/x, updates/loss, updates/params/<name> and the optimiser's
   settings as attributes of updates; 0 or -1 */
static int write_updates(hid_t f, const Model *m, int T, int B, const TraceUpdates *u) {
    hid_t g = h5_group(f, "updates");
    if (g < 0) return -1;
    const RunConfig *c = u->cfg;
    int rc = h5_attr_str(g, "optimizer", c->optimizer == OPT_SGD ? "sgd" : "adam");
    rc |= h5_attr_double(g, "lr", c->lr);
    rc |= h5_attr_double(g, "momentum", c->momentum);
    rc |= h5_attr_int(g, "nesterov", c->nesterov);
    rc |= h5_attr_int(g, "lr_scale_momentum", c->lr_scale_momentum);
    rc |= h5_attr_double(g, "input_noise", c->input_noise);
    rc |= h5_attr_double(g, "clip", c->clip);
    rc |= h5_attr_double(g, "beta1", c->beta1);
    rc |= h5_attr_double(g, "beta2", c->beta2);
    rc |= h5_attr_double(g, "adam_eps", c->adam_eps);
    rc |= h5_attr_int(g, "sum_over_time", c->sum_over_time);
    hsize_t dx4[4] = {(hsize_t)u->K, T, B, m->cell.X}, dK[1] = {(hsize_t)u->K};
    rc |= h5_write_real(g, "x", 4, dx4, u->x);
    rc |= h5_write_double(g, "loss", 1, dK, u->loss);
    hsize_t dy3[3] = {T, B, m->Y};
    rc |= h5_write_real(g, "y", 3, dy3, u->y);
    rc |= h5_write_double(g, "final_loss", 0, NULL, &u->final_loss);
    hid_t gp = h5_group(g, "params");
    if (gp < 0) rc = -1;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const ParamTensor *t = &m->tensors[i];
        hsize_t dims[2] = {t->rows, t->cols};
        rc |= h5_write_real(gp, t->name, t->cols == 1 ? 1 : 2, dims, u->params + t->offset);
    }
    if (gp >= 0) H5Gclose(gp);
    H5Gclose(g);
    return rc ? -1 : 0;
}

/* writes the trace into a new file at path (which must not exist); 0 or -1 */
static int write_trace(const char *path, const Model *m, int T, int B, unsigned long long seed,
                       const real *params, const real *grads, const real *x,
                       const real *target, const real *mask, const ModelWork *w, double loss,
                       const real *flow_h, const real *flow_c, const TraceUpdates *u) {
    const Cell *c = &m->cell;
    int X = c->X, H = c->H, Y = m->Y;
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    int rc = 0;
    rc |= h5_attr_str(f, "format", TRACE_FORMAT);
    rc |= h5_attr_int(f, "format_version", TRACE_FORMAT_VERSION);
    rc |= h5_attr_str(f, "cell", c->name);
    rc |= h5_attr_int(f, "hidden", H);
    rc |= h5_attr_int(f, "layers", m->L);
    rc |= h5_attr_int(f, "input_size", X);
    rc |= h5_attr_int(f, "output_size", Y);
    rc |= h5_attr_str(f, "loss_kind", loss_name(m->loss));
    rc |= h5_attr_str(f, "precision", REAL_NAME);
    rc |= h5_attr_str(f, "gemm_backend", gemm_backend());
    rc |= h5_attr_int(f, "steps", T);
    rc |= h5_attr_int(f, "batch", B);
    rc |= h5_attr_int(f, "seed", (long long)seed);
    rc |= h5_attr_str(f, "rnnbench_version", RNNBENCH_VERSION);
    rc |= h5_attr_cell(f, c);
    hsize_t dx3[3] = {T, B, X}, dy3[3] = {T, B, Y}, dh3[3] = {T, B, H}, d2[2] = {T, B};
    /* per layer in a stack, as torch's h_0 (num_layers, B, H) */
    const int L = m->L, rank_l = L > 1 ? 3 : 2;
    hsize_t dbh[3] = {B, H, 0}, dT[2] = {T, 0};
    if (L > 1) {
        dbh[0] = L, dbh[1] = B, dbh[2] = H;
        dT[0] = L, dT[1] = T;
    }
    rc |= h5_write_real(f, "x", 3, dx3, x);
    rc |= h5_write_real(f, "target", 3, dy3, target);
    rc |= h5_write_real(f, "mask", 2, d2, mask);
    rc |= h5_write_real(f, "y", 3, dy3, w->y);
    rc |= h5_write_double(f, "loss", 0, NULL, &loss);
    rc |= h5_write_real(f, "h", 3, dh3, w->cc[L - 1].h + (size_t)B * H); /* what the readout reads */
    rc |= h5_write_real(f, "dx", 3, dx3, w->dx);
    rc |= h5_write_real(f, "dh0", rank_l, dbh, w->dh0);
    if (c->has_c) rc |= h5_write_real(f, "dc0", rank_l, dbh, w->dc0);
    rc |= h5_write_real(f, "flow_h", rank_l - 1, dT, flow_h);
    if (c->has_c) rc |= h5_write_real(f, "flow_c", rank_l - 1, dT, flow_c);
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
    if (u->K > 0 && rc == 0) rc = write_updates(f, m, T, B, u);
    if (H5Fclose(f) < 0) rc = -1;
    return rc ? -1 : 0;
}

/* the temporary file beside out, then renamed over it when out may still be
   replaced: 0, 1 (could not write) or 2 (out may not be replaced) */
static int save_trace(const char *out, const Model *m, int T, int B, unsigned long long seed,
                      const real *params, const real *grads, const real *x, const real *target,
                      const real *mask, const ModelWork *w, double loss, const real *flow,
                      const TraceUpdates *u) {
    char tmp[PATH_MAX], why[256];
    int len = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp) {
        print_error("rnnbench trace: -o %s: path too long", out);
        return 2;
    }
    if (write_trace(tmp, m, T, B, seed, params, grads, x, target, mask, w, loss, flow,
                    flow + (size_t)m->L * T, u) != 0) {
        print_error("rnnbench trace: -o %s: could not write the trace to %s (disk full?)", out, tmp);
        remove(tmp);
        return 1;
    }
    /* checked again: something may have appeared there since the start */
    if (!may_write_trace(out, why, sizeof why)) {
        print_error("rnnbench trace: -o %s: %s", out, why);
        remove(tmp);
        return 2;
    }
    if (rename(tmp, out) != 0) {
        print_error("rnnbench trace: -o %s: %s", out, strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

/* K updates of training on the batch x0 (a copy of it each time, for the
   noise), from params, which end updated; the inputs as seen and the
   losses into u's buffers. 0, or 1 when the optimiser's state does not fit. */
static int replay_updates(const TraceArgs *a, const Model *m, ModelWork *w, real *params, real *grads,
                          const real *x0, const real *target, const real *mask, real *u_x, double *u_loss,
                          double *final_loss) {
    int T = (int)a->steps;
    RunConfig cfg = a->train;
    cfg.batch = (int)a->batch;
    size_t n = m->n_params, n_x = (size_t)T * a->batch * m->cell.X;
    real *state = calloc(optim_state_reals(&cfg, n) + 1, sizeof(real));
    if (!state) return 1;
    Optimizer opt;
    optim_init(&opt, &cfg, n, state);
    Rng rng_noise;
    rng_stream(&rng_noise, (unsigned long long)a->seed, "noise");
    for (long k = 0; k < a->updates; k++) {
        real *x = u_x + (size_t)k * n_x;
        memcpy(x, x0, n_x * sizeof(real));
        TrainGradient g = train_gradient(&cfg, m, w, params, grads, x, target, mask, T, &rng_noise);
        u_loss[k] = g.loss;
        /* train_run stops a diverged run here; the trace records the NaN and stops updating */
        if (!isfinite(g.loss) || !isfinite(g.norm)) {
            for (long j = k + 1; j < a->updates; j++) u_loss[j] = NAN;
            break;
        }
        train_apply(&cfg, &opt, params, grads, g.norm);
    }
    /* the trained model on the batch as it is, every output computed */
    w->readout_all = 1;
    model_zero_state(m, w);
    *final_loss = model_forward(m, params, x0, target, mask, w);
    free(state);
    return 0;
}

/* one forward and backward pass of m on random data (then --updates),
   saved to a->out */
static int trace_pass(const TraceArgs *a, const Model *m) {
    int T = (int)a->steps, B = (int)a->batch;
    unsigned long long seed = (unsigned long long)a->seed;
    gemm_single_thread();
    size_t TB = (size_t)T * B, K = (size_t)a->updates;
    real *params = calloc(m->n_params, sizeof(real));
    real *grads = calloc(m->n_params, sizeof(real));
    real *x = malloc(TB * m->cell.X * sizeof(real));
    real *target = malloc(TB * m->Y * sizeof(real));
    real *mask = malloc(TB * sizeof(real));
    real *flow = malloc(2 * (size_t)m->L * T * sizeof(real)); /* flow_h then flow_c, (L,T) each */
    /* --updates: the trained copy of the parameters and their gradients, the inputs, the losses */
    real *u_params = malloc((K ? 2 * m->n_params : 1) * sizeof(real));
    real *u_x = malloc((K ? K * TB * m->cell.X : 1) * sizeof(real));
    double *u_loss = malloc((K ? K : 1) * sizeof(double));
    /* the pass stays in w for the trace; the updates work in wu */
    ModelWork w = {0}, wu = {0};
    int have_work = model_work_alloc(m, T, B, &w) == 0 && (!K || model_work_alloc(m, T, B, &wu) == 0);
    int rc = 1;
    if (!params || !grads || !x || !target || !mask || !flow || !u_params || !u_x || !u_loss || !have_work) {
        print_error("rnnbench trace: out of memory for T=%d B=%d H=%d updates=%ld", T, B, m->cell.H, a->updates);
    } else {
        Rng rng;
        rng_stream(&rng, seed, "init");
        model_init(m, params, &rng, 0, a->forget_bias);
        rng_stream(&rng, seed, "data");
        random_batch(&rng, m, T, B, x, target, mask);
        w.readout_all = 1;
        model_zero_state(m, &w);
        double loss = model_forward(m, params, x, target, mask, &w);
        model_backward(m, params, x, &w, grads, flow, flow + (size_t)m->L * T);
        TraceUpdates u = {(long)K, &a->train, u_x, u_loss, u_params, wu.y, 0};
        if (K) {
            memcpy(u_params, params, m->n_params * sizeof(real));
            rc = replay_updates(a, m, &wu, u_params, u_params + m->n_params, x, target, mask, u_x, u_loss,
                                &u.final_loss);
            if (rc) print_error("rnnbench trace: out of memory for --updates %ld", a->updates);
        }
        if (!K || !rc) rc = save_trace(a->out, m, T, B, seed, params, grads, x, target, mask, &w, loss, flow, &u);
    }
    if (w.block) model_work_free(&w);
    if (wu.block) model_work_free(&wu);
    free(params); free(grads); free(x); free(target); free(mask); free(flow);
    free(u_params); free(u_x); free(u_loss);
    return rc;
}

int cmd_trace(int argc, char **argv) {
    TraceArgs a;
    int status = parse_args(argc, argv, &a);
    if (status >= 0) return status;
    double values = trace_values(&a);
    if (values > (double)TRACE_MAX_VALUES) {
        print_error("rnnbench trace: --steps %ld --batch %ld --hidden %ld --input %ld --output %ld: too large "
                    "for one trace (about %.2g values, the limit is %ld)", a.steps, a.batch, a.hidden,
                    a.input, a.output, values, TRACE_MAX_VALUES);
        return 2;
    }
    h5_quiet();
    char why[256];
    if (!may_write_trace(a.out, why, sizeof why)) {
        print_error("rnnbench trace: -o %s: %s", a.out, why);
        return 2;
    }
    LossKind loss;
    loss_parse(a.loss, &loss); /* checked by apply_option */
    Model m;
    char err[256];
    if (model_make_stack(&m, a.cell, (int)a.input, (int)a.hidden, (int)a.layers, (int)a.output, loss, err,
                         sizeof err)) {
        print_error("rnnbench: %s", err);
        return 2;
    }
    return trace_pass(&a, &m);
}
