/* bench.c: `rnnbench bench`, how long one training step takes, single-
   threaded: forward over the sequence, loss, backward through time and a
   plain SGD update, on one pre-generated batch (data generation is not
   timed). Prints the median, min and max over the timed steps after a
   warm-up, the achieved GFLOP/s of the matrix products, the peak resident
   memory and the memory the shapes predict. The workloads are those of the
   performance issue, defined in bench_workloads.c; `--list-workloads` prints
   them for the peer programs of `make bench`. `--length` overrides T (for
   the cost-linear-in-T check). `--gemm` measures the GEMM backend's
   single-core ceiling instead (best of --reps). `--with-dx` computes dL/dx
   too, as oneDNN's backward does; `--layer-only` drops the readout, loss and
   update, so that `--layer-only --with-dx` does exactly oneDNN's work. */
#include "bench.h"
#include "bench_workloads.h"
#include "optim.h"
#include "util.h"
#include "../cells/gemm.h"
#include "../cells/model.h"
#include "../cells/graph.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Matrix-product flops of one step, counting only the products that run.
   Forward: 2 T B madds (cell_step_madds: (X+H) G H for most cells). Backward:
   the weight gradients (2 T B madds) and dL/dh_{t-1} (the recurrent part,
   2 T B (madds - input part)), plus dL/dx (the input part, 2 T B X G H) only
   when it is computed (--with-dx). The input part is the share of the madds
   that grows with X: the madds less those of the same cell with X = 0. The
   readout: 2 R H Y forward, twice that backward (dV and dL/dh), R rows scored. */
static double step_flops(const Model *m, int T, int B, int rows, int with_dx) {
    double per_row = 0;
    for (int l = 0; l < m->L; l++) {
        Cell no_input = m->layer[l];
        no_input.X = 0;
        const double madds = cell_step_madds(&m->layer[l]);
        const double input = madds - cell_step_madds(&no_input);
        /* a layer above the first always passes dL/dx down: the layer below needs it */
        per_row += madds + (madds + (madds - input)) + (with_dx || l > 0 ? input : 0);
    }
    return 2.0 * T * B * per_row + 3 * 2.0 * rows * m->cell.H * m->Y;
}

/* memory in MiB: the process's peak, what it held before the run allocated
   anything (libraries, mostly), the run's own share, and the run's share
   predicted from the shapes, term by term */
typedef struct {
    double ms_median, ms_min, ms_max, gflops, flops;
    double peak_rss_mb, before_mb, run_mb;
    double pred_activations, pred_params, pred_grads, pred_optim, pred_batch, predicted_mb;
} BenchResult;

/* what one timed step does: the training step (default), with dL/dx
   (--with-dx), or oneDNN's work alone (--layer-only) */
typedef struct {
    int with_dx;    /* backward computes dL/dx, which training never reads */
    int layer_only; /* the cell's forward and backward under a fixed dL/dh_t, no readout, loss or update */
} BenchMode;

static int bench_one(const BenchWorkload *wl, int T, const char *cell, int layers, int steps, int warmup,
                     BenchMode mode, BenchResult *out) {
    Model m;
    char err[256];
    const int last_step_only = wl->loss == BENCH_MSE_LAST;
    const LossKind loss = wl->loss == BENCH_MSE_LAST ? LOSS_MSE
                          : wl->loss == BENCH_XENT_ALL ? LOSS_XENT : LOSS_BCE;
    if (model_make_stack(&m, cell, wl->X, wl->H, layers, wl->Y, loss, err, sizeof err) != 0) {
        fprintf(stderr, "rnnbench: %s\n", err);
        return 2;
    }
    const int B = wl->B;
    size_t n = m.n_params, TB = (size_t)T * B;
    RunConfig cfg;
    config_default(&cfg);
    cfg.optimizer = OPT_SGD;
    cfg.momentum = 0;
    cfg.lr = 1e-3;
    const size_t n_state = optim_state_reals(&cfg, n);
    /* the GEMM library initializes itself on its first call (CPU dispatch,
       code generators): a tiny product first, so that the library's own
       memory is counted as the process's, not the run's */
    real one[4] = {1, 1, 1, 1}, prod[4];
    gemm(0, 0, 2, 2, 2, 1, one, 2, one, 2, 0, prod, 2);
    reset_peak_rss(); /* a run before this one in the process must not count */
    const double before = current_rss_bytes();
    real *arena = malloc((2 * n + n_state + 1) * sizeof(real));
    real *x = malloc(TB * wl->X * sizeof(real)), *target = calloc(TB * wl->Y, sizeof(real));
    real *mask = calloc(TB, sizeof(real));
    double *times = malloc((size_t)steps * sizeof(double));
    /* --layer-only: dL/dh_t = up_dy[t,b] * up_v, fixed, at every step, as
       oneDNN's backward reads a fixed diff_dst_layer (a rank-1 upstream: its
       cost, B H per step, is elementwise like oneDNN's adding diff_dst) */
    real *up_dy = mode.layer_only ? malloc(TB * sizeof(real)) : NULL;
    real *up_v = mode.layer_only ? malloc((size_t)wl->H * sizeof(real)) : NULL;
    int *up_active = mode.layer_only ? malloc((size_t)T * sizeof(int)) : NULL;
    ModelWork w;
    if (!arena || !x || !target || !mask || !times || (mode.layer_only && (!up_dy || !up_v || !up_active)) ||
        model_work_alloc(&m, T, B, &w) != 0) {
        fprintf(stderr, "rnnbench bench: out of memory for %s %s\n", wl->name, cell);
        return 1;
    }
    /* a training step has no use for dL/dx; oneDNN's backward always
       computes it, and --with-dx does too, to time the same work */
    w.no_dx = !mode.with_dx;
    real *params = arena, *grads = arena + n;
    Rng rng;
    rng_seed(&rng, 1);
    model_init(&m, params, &rng, 0, 1.0);
    for (size_t k = 0; k < TB * wl->X; k++) x[k] = (real)rng_range(&rng, -1, 1);
    int rows = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            if (last_step_only && t != T - 1) continue;
            mask[r] = 1;
            rows++;
            if (loss == LOSS_XENT) target[r * wl->Y + rng_int(&rng, wl->Y)] = 1;
            else if (loss == LOSS_BCE) /* notes on or off, a quarter on */
                for (int k = 0; k < wl->Y; k++) target[r * wl->Y + k] = rng_uniform(&rng) < 0.25;
            else target[r * wl->Y] = (real)rng_uniform(&rng);
        }
    if (mode.layer_only) {
        for (size_t k = 0; k < TB; k++) up_dy[k] = (real)rng_range(&rng, -0.01, 0.01);
        for (int k = 0; k < wl->H; k++) up_v[k] = 1;
        for (int t = 0; t < T; t++) up_active[t] = 1;
        rows = 0; /* no readout */
    }
    const Upstream up = {up_dy, up_v, 1, up_active, NULL, NULL};
    Optimizer opt;
    optim_init(&opt, &cfg, n, arena + 2 * n);
    for (int s = -warmup; s < steps; s++) {
        double t0 = now_s();
        memset(grads, 0, n * sizeof(real));
        model_zero_state(&m, &w);
        if (mode.layer_only) {
            model_stack_forward(&m, params, x, &w);
            model_stack_backward(&m, params, x, &w, &up, grads, NULL, NULL);
        } else {
            model_forward(&m, params, x, target, mask, &w);
            model_backward(&m, params, x, &w, grads, NULL, NULL);
            optim_step(&opt, params, grads);
        }
        double dt = now_s() - t0;
        if (s >= 0) times[s] = dt;
    }
    /* the weight gradients must be finite and not all zero, or nothing was computed */
    double grad_abs_sum = 0;
    for (size_t k = 0; k < m.ro_w; k++) grad_abs_sum += fabs((double)grads[k]); /* every layer's */
    if (!isfinite(grad_abs_sum) || grad_abs_sum == 0) {
        fprintf(stderr, "rnnbench bench: %s %s: the cell's gradients are %s\n", wl->name, cell,
                isfinite(grad_abs_sum) ? "all zero" : "not finite");
        return 1;
    }
    qsort(times, steps, sizeof(double), cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    out->ms_median = med * 1e3;
    out->ms_min = times[0] * 1e3;
    out->ms_max = times[steps - 1] * 1e3;
    out->flops = step_flops(&m, T, B, rows, mode.with_dx);
    out->gflops = out->flops / med * 1e-9;
    const double MiB = 1048576.0;
    out->peak_rss_mb = peak_rss_bytes() / MiB;
    out->before_mb = before / MiB;
    out->run_mb = out->peak_rss_mb - out->before_mb;
    /* activations (cell cache, readout outputs and gradients), parameters,
       gradients, optimizer state (none for plain SGD), the batch */
    out->pred_activations = model_work_size(&m, T, B) / MiB;
    out->pred_params = out->pred_grads = n * sizeof(real) / MiB;
    out->pred_optim = n_state * sizeof(real) / MiB;
    out->pred_batch = (TB * (wl->X + wl->Y + 1) * sizeof(real) +
                       (mode.layer_only ? (TB + wl->H) * sizeof(real) + T * sizeof(int) : 0)) / MiB;
    out->predicted_mb = out->pred_activations + out->pred_params + out->pred_grads +
                        out->pred_optim + out->pred_batch;
    model_work_free(&w);
    free(arena); free(x); free(target); free(mask); free(times);
    free(up_dy); free(up_v); free(up_active);
    return 0;
}

static double gemm_ceiling(int size, int reps) {
    size_t nn = (size_t)size * size;
    real *a = malloc(nn * sizeof(real)), *b = malloc(nn * sizeof(real)), *c = malloc(nn * sizeof(real));
    if (!a || !b || !c) return NAN;
    for (size_t k = 0; k < nn; k++) { a[k] = (real)(k % 7) * 0.1f; b[k] = (real)(k % 5) * 0.1f; }
    gemm(0, 0, size, size, size, 1, a, size, b, size, 0, c, size); /* warm-up */
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        gemm(0, 0, size, size, size, 1, a, size, b, size, 0, c, size);
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    free(a); free(b); free(c);
    return 2.0 * size * size * size / best * 1e-9;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench bench [--workload W1|W2|W3|W4|all] [--cell NAME[*L][,NAME[*L]...]] [--length T]\n"
            "                      [--steps N] [--warmup N] [--with-dx] [--layer-only] [--format table|csv]\n"
            "       rnnbench bench --gemm [--size N] [--reps N]\n"
            "       rnnbench bench --list-workloads\n"
            "Times one training step (forward, loss, backward through time, SGD update) on one\n"
            "thread; data generation excluded. NAME*L is a stack of L layers of the cell.\n"
            "Workloads:\n");
    int n_workloads;
    const BenchWorkload *all = bench_workload_all(&n_workloads);
    for (int i = 0; i < n_workloads; i++)
        fprintf(out, "  %s: T=%d, input %d, hidden %d, batch %d, %s; %s (cells %s)\n", all[i].name,
                all[i].T, all[i].X, all[i].H, all[i].B,
                all[i].loss == BENCH_MSE_LAST   ? "MSE at the last step"
                : all[i].loss == BENCH_XENT_ALL ? "cross-entropy at every step"
                                                : "sigmoid outputs, BCE at every step",
                all[i].about, all[i].cells);
    fprintf(out, "--with-dx also computes dL/dx in backward, which training never reads but oneDNN's\n"
                 "backward always computes. --layer-only times the cell's forward and backward\n"
                 "under a fixed dL/dh at every step, without readout, loss or update: with\n"
                 "--with-dx, exactly the work oneDNN's forward_training + backward primitives do.\n"
                 "--gemm prints the GFLOP/s of an N x N x N product (default 2048), best of --reps (default 5),\n"
                 "on this backend: the ceiling make bench's guard checks against.\n"
                 "--list-workloads prints the workloads' shapes, one per line, for other programs.\n");
}

int cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {
        {"workload", required_argument, 0, 'w'}, {"cell", required_argument, 0, 'c'},
        {"length", required_argument, 0, 'T'},   {"steps", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'u'},   {"format", required_argument, 0, 'f'},
        {"gemm", no_argument, 0, 'g'},           {"size", required_argument, 0, 'n'},
        {"list-workloads", no_argument, 0, 'l'}, {"help", no_argument, 0, 'h'},
        {"with-dx", no_argument, 0, 'x'},        {"reps", required_argument, 0, 'r'},
        {"layer-only", no_argument, 0, 'o'},     {"cell-file", required_argument, 0, 'F'},
        {0, 0, 0, 0}};
    const char *workload = "all", *cells = NULL, *format = "table";
    long length = 0, steps = 30, warmup = 5, size = 2048, reps = 5;
    int do_gemm = 0, do_list = 0, opt, idx = 0;
    BenchMode mode = {0, 0};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        int ok = 1;
        switch (opt) {
        case 'w': workload = optarg; break;
        case 'c': cells = optarg; break;
        case 'T': ok = parse_long(optarg, 1, 10000000, &length); break;
        case 's': ok = parse_long(optarg, 1, 1000000, &steps); break;
        case 'u': ok = parse_long(optarg, 0, 1000000, &warmup); break;
        case 'f': ok = !strcmp(optarg, "table") || !strcmp(optarg, "csv"); format = optarg; break;
        case 'g': do_gemm = 1; break;
        case 'l': do_list = 1; break;
        case 'n': ok = parse_long(optarg, 16, 16384, &size); break;
        case 'r': ok = parse_long(optarg, 1, 1000, &reps); break;
        case 'x': mode.with_dx = 1; break;
        case 'o': mode.layer_only = 1; break;
        case 'F': { /* cells written as equations, for --cell (docs/cells.md) */
            char err[1024];
            if (graph_read_file(optarg, err, sizeof err) != 0) {
                fprintf(stderr, "rnnbench bench: --cell-file: %s\n", err);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "rnnbench bench: --%s: invalid value '%s'\n", opts[idx].name, optarg);
            return 2;
        }
    }
    if (optind != argc) { usage(stderr); return 2; }
    if (do_list) {
        bench_workloads_print(stdout);
        return 0;
    }
    gemm_single_thread();
    int csv = !strcmp(format, "csv");
    if (do_gemm) {
        double gf = gemm_ceiling((int)size, (int)reps);
        if (csv) printf("backend,size,gflops\n%s,%ld,%.1f\n", gemm_backend(), size, gf);
        else printf("GEMM ceiling (%s, %s, one thread, %ld^3): %.1f GFLOP/s\n", gemm_backend(),
                    REAL_NAME, size, gf);
        return 0;
    }
    if (csv) printf("workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb\n");
    else printf("%-4s %-12s %6s %9s %9s %9s %8s %8s %7s %7s\n", "wl", "cell", "T", "ms_median",
                "ms_min", "ms_max", "GFLOP/s", "peak_MiB", "run_MiB", "predict");
    int found = 0;
    int n_workloads;
    const BenchWorkload *all = bench_workload_all(&n_workloads);
    for (int i = 0; i < n_workloads; i++) {
        const BenchWorkload *wl = &all[i];
        if (strcmp(workload, "all") && strcmp(workload, wl->name)) continue;
        found = 1;
        char list[256];
        snprintf(list, sizeof list, "%s", cells ? cells : wl->cells);
        for (char *save = NULL, *cell = strtok_r(list, ",", &save); cell; cell = strtok_r(NULL, ",", &save)) {
            BenchResult r;
            int T = length > 0 ? (int)length : wl->T;
            /* NAME*L: a stack of L layers, named so in the table and the CSV */
            char name[96];
            long layers = 1;
            snprintf(name, sizeof name, "%s", cell);
            char *star = strchr(name, '*');
            if (star) {
                *star = '\0';
                if (!parse_long(star + 1, 1, MODEL_MAX_LAYERS, &layers)) {
                    fprintf(stderr, "rnnbench bench: --cell: '%s': the layers after '*' must be 1 to %d\n", cell,
                            MODEL_MAX_LAYERS);
                    return 2;
                }
            }
            int rc = bench_one(wl, T, name, (int)layers, (int)steps, (int)warmup, mode, &r);
            if (rc) return rc;
            if (csv)
                printf("%s,%s,%.4f,%.4f,%.4f,%.2f,%.1f\n", wl->name, cell, r.ms_median, r.ms_min,
                       r.ms_max, r.gflops, r.peak_rss_mb);
            else
                printf("%-4s %-12s %6d %9.3f %9.3f %9.3f %8.1f %8.1f %7.1f %7.1f\n", wl->name, cell, T,
                       r.ms_median, r.ms_min, r.ms_max, r.gflops, r.peak_rss_mb, r.run_mb,
                       r.predicted_mb);
            /* the memory account, on stderr so that the CSV keeps its columns */
            fprintf(csv ? stderr : stdout,
                    "memory %s %s: peak %.1f MiB = %.1f before the run + %.1f the run; predicted "
                    "%.1f = activations %.1f + parameters %.1f + gradients %.1f + optimizer %.1f "
                    "+ batch %.1f\n",
                    wl->name, cell, r.peak_rss_mb, r.before_mb, r.run_mb, r.predicted_mb,
                    r.pred_activations, r.pred_params, r.pred_grads, r.pred_optim, r.pred_batch);
            fprintf(csv ? stderr : stdout, "flops %s %s: %.0f per step (dL/dx %s, %s)\n", wl->name,
                    cell, r.flops, mode.with_dx ? "computed" : "skipped",
                    mode.layer_only ? "layer only" : "training step");
            fflush(stdout);
        }
    }
    if (!found) {
        fprintf(stderr, "rnnbench bench: unknown workload '%s' (W1, W2, W3, W4 or all)\n", workload);
        return 2;
    }
    return 0;
}
