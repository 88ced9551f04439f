/* bench_onednn.c: a peer of `rnnbench bench`, timing oneDNN's fused RNN
   primitive on the same workloads, single-threaded, float32.

   Build (from the repository root):
       cc -O2 -std=c11 -Wall -Wextra -fopenmp scripts/bench_onednn.c -o build/bench_onednn -ldnnl -lm
   Run (from the repository root):
       build/bench_onednn --workload W2 --cell lstm [--steps 30] [--warmup 5]

   The workloads' shapes are read from `rnnbench bench --list-workloads`
   (bin/rnnbench, or --rnnbench PATH), the one place they are defined
   (harness/bench_workloads.c), so both programs time the same shapes.

   What one timed step is: zero the weight gradients (the backward primitive
   accumulates into them), dnnl_forward_training over the whole sequence,
   then dnnl_backward with the workspace the forward filled, diff_dst_layer
   being a fixed tensor made once. One layer, left-to-right, zero initial
   state, with bias. Cells: rnn = dnnl_vanilla_rnn (tanh), lstm =
   dnnl_vanilla_lstm, gru-ra = dnnl_lbr_gru (reset after the recurrent
   product, the cuDNN/PyTorch GRU).

   What it deliberately is not: a training loop. There is no readout, no
   loss and no parameter update, so its GFLOP/s count only the recurrent
   layer (forward 2*T*B*(X+H)*G*H, backward twice that). The weights are
   reordered from the plain ldigo layout into the layouts the forward and the
   backward primitives pick (format `any`) once, before the timed loop; a
   training loop would have to repeat those reorders after every update;
   they are not in the timed step, and their warm cost is printed on stderr.
   The scratchpad is user-managed (one buffer shared by both primitives), so
   a timed step allocates nothing.

   Output: one CSV line on stdout,
       workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb
   with ms per step (median, min, max over the timed steps), GFLOP/s from the
   median, and the peak resident set (VmHWM) in MiB after the run. stderr gets
   the oneDNN version, ISA and runtime, the implementation each primitive
   dispatched to (dnnl_query_impl_info_str), the weight layouts and bytes, the
   workspace and scratchpad sizes, and the number of threads of the process.
   oneDNN's RNN uses its own JIT GEMM, not OpenBLAS, so OPENBLAS_CORETYPE does
   not affect it (the ISA line says which kernels it picked).

   One thread: this oneDNN uses OpenMP, so main() calls omp_set_num_threads(1)
   before the first primitive runs (whatever OMP_NUM_THREADS says), checks
   that the library's runtime is one it can restrict, and after the run
   fails if the process has more than one thread. Exit status: 0 on success,
   1 on a failed oneDNN call or allocation, 2 on bad usage. */
#define _GNU_SOURCE /* posix_memalign, madvise */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#else
#error "build with -fopenmp: oneDNN runs on OpenMP here and the program must restrict it to one thread"
#endif

/* ------------------------------------------------------------------------- */
/* error checks at the call site */

#define DNNL_CHECK(call)                                                                  \
    do {                                                                                  \
        dnnl_status_t status_ = (call);                                                   \
        if (status_ != dnnl_success) {                                                    \
            fprintf(stderr, "bench_onednn: %s:%d: %s failed: %s\n", __FILE__, __LINE__,   \
                    #call, dnnl_status2str(status_));                                     \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define ALLOC_CHECK(ptr)                                                                  \
    do {                                                                                  \
        if (!(ptr)) {                                                                     \
            fprintf(stderr, "bench_onednn: %s:%d: out of memory for %s\n", __FILE__,      \
                    __LINE__, #ptr);                                                      \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* ------------------------------------------------------------------------- */
/* workloads and cells */

/* a workload's shape; its readout is not needed since this program has none */
typedef struct {
    char name[32];
    int T, X, H, B;
} Workload;

typedef enum { KIND_RNN, KIND_LSTM, KIND_LBR_GRU } CellKind;

typedef struct {
    const char *name;
    CellKind kind;
    int n_gates;      /* G: gate blocks of the weight matrices */
    int n_bias_gates; /* lbr_gru keeps a fourth bias block, b_rn inside r*(W_rn h + b_rn) */
} Cell;

static const Cell CELLS[] = {
    {"rnn", KIND_RNN, 1, 1},
    {"lstm", KIND_LSTM, 4, 4},
    {"gru-ra", KIND_LBR_GRU, 3, 4},
};
#define N_CELLS (int)(sizeof CELLS / sizeof CELLS[0])

/* matrix-product flops of the recurrent layer for one step: forward
   2 T B (X+H) G H, backward twice that (no readout here) */
static double layer_flops(const Workload *wl, const Cell *cell) {
    double fwd = 2.0 * wl->T * wl->B * (double)(wl->X + wl->H) * cell->n_gates * wl->H;
    return 3.0 * fwd;
}

/* ------------------------------------------------------------------------- */
/* small helpers: time, memory of the process, a fixed pseudo-random fill */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a "Key:   value kB" (or plain number) field of /proc/self/status, -1 if absent */
static long long proc_status_field(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long long value = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            value = strtoll(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* uniform in [-scale, scale) from a 64-bit LCG: fixed data, no libc rand() */
static void fill_uniform(float *v, size_t n, float scale, uint64_t *state) {
    for (size_t k = 0; k < n; k++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(*state >> 11) * 0x1.0p-53;
        v[k] = (float)((2.0 * u - 1.0) * scale);
    }
}

/* ------------------------------------------------------------------------- */
/* oneDNN memory helpers */

static void md_by_tag(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                      dnnl_format_tag_t tag) {
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag));
}

/* the memory descriptor a primitive wants for one of its execute arguments */
static const dnnl_memory_desc_t *arg_md(const_dnnl_primitive_desc_t pd, int arg) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
    if (!md) {
        fprintf(stderr, "bench_onednn: no memory descriptor for argument %d\n", arg);
        exit(1);
    }
    return md;
}

/* With --huge-pages, buffers of 2 MiB and more go on 2 MiB pages, as
   rnnbench's activation cache does (transparent huge pages in madvise mode),
   so that the peer can have the same TLB advantage; make bench runs both ways
   and keeps the faster. The program frees nothing: it exits after one
   measurement. */
static int huge_pages;

static void *alloc_buffer(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    const int use_huge = huge_pages && bytes >= huge;
    void *p = NULL;
    if (posix_memalign(&p, use_huge ? huge : 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "bench_onednn: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
#ifdef MADV_HUGEPAGE
    if (use_huge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static dnnl_memory_t new_memory(const dnnl_memory_desc_t *md, dnnl_engine_t engine) {
    dnnl_memory_t mem;
    DNNL_CHECK(dnnl_memory_create(&mem, md, engine, alloc_buffer(dnnl_memory_desc_get_size(md))));
    return mem;
}

static void *data_of(dnnl_memory_t mem) {
    void *p = NULL;
    DNNL_CHECK(dnnl_memory_get_data_handle(mem, &p));
    return p;
}

static size_t bytes_of(const_dnnl_memory_t mem) {
    const dnnl_memory_desc_t *md;
    DNNL_CHECK(dnnl_memory_get_memory_desc(mem, &md));
    return dnnl_memory_desc_get_size(md);
}

/* a weight tensor copied into the layout a primitive picked; the reorder
   primitive is kept, so that its cost can be measured once it is warm */
typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} Reorder;

static void reorder_run(const Reorder *r, dnnl_stream_t stream) {
    dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, r->src}, {DNNL_ARG_TO, r->dst}};
    DNNL_CHECK(dnnl_primitive_execute(r->prim, stream, 2, args));
    DNNL_CHECK(dnnl_stream_wait(stream));
}

static Reorder reorder_make(dnnl_memory_t src, const dnnl_memory_desc_t *md, dnnl_engine_t engine,
                            dnnl_stream_t stream) {
    Reorder r = {.src = src};
    const dnnl_memory_desc_t *src_md;
    DNNL_CHECK(dnnl_memory_get_memory_desc(src, &src_md));
    r.dst = new_memory(md, engine);
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&r.pd, src_md, engine, md, engine, NULL));
    DNNL_CHECK(dnnl_primitive_create(&r.prim, r.pd));
    reorder_run(&r, stream);
    return r;
}

static void reorder_free(Reorder *r) {
    DNNL_CHECK(dnnl_primitive_destroy(r->prim));
    DNNL_CHECK(dnnl_primitive_desc_destroy(r->pd));
    DNNL_CHECK(dnnl_memory_destroy(r->dst));
}

/* the layout a primitive picked for a weight tensor, in words: a plain tag
   when it is one, otherwise the strides and padded dims of a blocked layout */
static void describe_layout(const dnnl_memory_desc_t *md, char *buf, size_t size) {
    static const struct { dnnl_format_tag_t tag; const char *name; } plain[] = {
        {dnnl_ldigo, "ldigo"}, {dnnl_ldgoi, "ldgoi"}, {dnnl_ldgo, "ldgo"}};
    if (md->format_kind != dnnl_blocked) {
        snprintf(buf, size, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        dnnl_memory_desc_t ref;
        if (dnnl_memory_desc_init_by_tag(&ref, md->ndims, md->dims, dnnl_f32, plain[k].tag) ==
                dnnl_success && dnnl_memory_desc_equal(&ref, md)) {
            snprintf(buf, size, "%s", plain[k].name);
            return;
        }
    }
    int n = snprintf(buf, size, "blocked(strides");
    for (int d = 0; d < md->ndims && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - n, "%c%lld", d ? ':' : ' ',
                      (long long)md->format_desc.blocking.strides[d]);
    for (int d = 0; d < md->ndims && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - n, "%s%lld", d ? "x" : ", padded ", (long long)md->padded_dims[d]);
    if (n > 0 && (size_t)n < size) snprintf(buf + n, size - n, ")");
}

/* ------------------------------------------------------------------------- */
/* the forward and backward descriptors of one cell; shapes:
   src_layer, dst_layer, their diffs (T,B,X) / (T,B,H) as tnc;
   weights_layer (1,1,X,G,H), weights_iter (1,1,H,G,H), bias (1,1,Gb,H),
   all weights and their diffs in format `any`. src_iter/dst_iter are NULL:
   zero initial state, final state not returned. */

typedef struct {
    dnnl_memory_desc_t src_layer, dst_layer, weights_layer, weights_iter, bias;
} LayerMds;

static void forward_desc(dnnl_rnn_desc_t *d, const Cell *cell, const LayerMds *m) {
    const dnnl_prop_kind_t prop = dnnl_forward_training;
    const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
    switch (cell->kind) {
    case KIND_RNN:
        DNNL_CHECK(dnnl_vanilla_rnn_forward_desc_init(d, prop, dnnl_eltwise_tanh, dir, &m->src_layer,
                                                      NULL, &m->weights_layer, &m->weights_iter,
                                                      &m->bias, &m->dst_layer, NULL, 0, 0.f, 0.f));
        break;
    case KIND_LSTM:
        DNNL_CHECK(dnnl_lstm_forward_desc_init(d, prop, dir, &m->src_layer, NULL, NULL,
                                               &m->weights_layer, &m->weights_iter, &m->bias,
                                               &m->dst_layer, NULL, NULL, 0));
        break;
    case KIND_LBR_GRU:
        DNNL_CHECK(dnnl_lbr_gru_forward_desc_init(d, prop, dir, &m->src_layer, NULL,
                                                  &m->weights_layer, &m->weights_iter, &m->bias,
                                                  &m->dst_layer, NULL, 0));
        break;
    }
}

/* `m` describes the forward tensors, `dm` their gradients */
static void backward_desc(dnnl_rnn_desc_t *d, const Cell *cell, const LayerMds *m,
                          const LayerMds *dm) {
    const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
    switch (cell->kind) {
    case KIND_RNN:
        DNNL_CHECK(dnnl_vanilla_rnn_backward_desc_init(
            d, dnnl_backward, dnnl_eltwise_tanh, dir, &m->src_layer, NULL, &m->weights_layer,
            &m->weights_iter, &m->bias, &m->dst_layer, NULL, &dm->src_layer, NULL,
            &dm->weights_layer, &dm->weights_iter, &dm->bias, &dm->dst_layer, NULL, 0, 0.f, 0.f));
        break;
    case KIND_LSTM:
        DNNL_CHECK(dnnl_lstm_backward_desc_init(
            d, dnnl_backward, dir, &m->src_layer, NULL, NULL, &m->weights_layer, &m->weights_iter,
            &m->bias, &m->dst_layer, NULL, NULL, &dm->src_layer, NULL, NULL, &dm->weights_layer,
            &dm->weights_iter, &dm->bias, &dm->dst_layer, NULL, NULL, 0));
        break;
    case KIND_LBR_GRU:
        DNNL_CHECK(dnnl_lbr_gru_backward_desc_init(
            d, dnnl_backward, dir, &m->src_layer, NULL, &m->weights_layer, &m->weights_iter,
            &m->bias, &m->dst_layer, NULL, &dm->src_layer, NULL, &dm->weights_layer,
            &dm->weights_iter, &dm->bias, &dm->dst_layer, NULL, 0));
        break;
    }
}

/* the implementation oneDNN dispatched a primitive to (e.g. "ref:any" or a
   JIT kernel's name), as the library reports it */
static const char *impl_of(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    return impl ? impl : "(none)";
}

/* ------------------------------------------------------------------------- */
/* one benchmark: build, reorder the weights once, time forward + backward */

typedef struct {
    double ms_median, ms_min, ms_max, gflops, peak_rss_mb;
} BenchResult;

enum { N_WEIGHTS = 3 }; /* weights_layer, weights_iter, bias */

static void bench(const Workload *wl, const Cell *cell, int steps, int warmup, BenchResult *out) {
    const int T = wl->T, B = wl->B, X = wl->X, H = wl->H, G = cell->n_gates;
    static const int weight_args[N_WEIGHTS] = {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER,
                                               DNNL_ARG_BIAS};
    static const int diff_weight_args[N_WEIGHTS] = {DNNL_ARG_DIFF_WEIGHTS_LAYER,
                                                    DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS};
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    DNNL_CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));

    const dnnl_dims_t x_dims = {T, B, X}, h_dims = {T, B, H};
    const dnnl_dims_t wl_dims = {1, 1, X, G, H}, wi_dims = {1, 1, H, G, H};
    const dnnl_dims_t bias_dims = {1, 1, cell->n_bias_gates, H};

    /* primitive descriptors: weights and their gradients in `any`, so the
       primitives pick; a user-managed scratchpad, so that executing a
       primitive allocates nothing */
    LayerMds any;
    md_by_tag(&any.src_layer, 3, x_dims, dnnl_tnc);
    md_by_tag(&any.dst_layer, 3, h_dims, dnnl_tnc);
    md_by_tag(&any.weights_layer, 5, wl_dims, dnnl_format_tag_any);
    md_by_tag(&any.weights_iter, 5, wi_dims, dnnl_format_tag_any);
    md_by_tag(&any.bias, 4, bias_dims, dnnl_format_tag_any);
    dnnl_rnn_desc_t fwd_d, bwd_d;
    forward_desc(&fwd_d, cell, &any);
    backward_desc(&bwd_d, cell, &any, &any);
    dnnl_primitive_attr_t attr;
    DNNL_CHECK(dnnl_primitive_attr_create(&attr));
    DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, attr, engine, NULL));
    DNNL_CHECK(dnnl_primitive_desc_create(&bwd_pd, &bwd_d, attr, engine, fwd_pd));
    /* one line, parsed by bench_compare.py: the dispatch decides the speed */
    fprintf(stderr, "bench_onednn: impl forward %s; backward %s\n", impl_of(fwd_pd), impl_of(bwd_pd));
    DNNL_CHECK(dnnl_primitive_attr_destroy(attr));
    dnnl_primitive_t fwd, bwd;
    DNNL_CHECK(dnnl_primitive_create(&fwd, fwd_pd));
    DNNL_CHECK(dnnl_primitive_create(&bwd, bwd_pd));

    /* the user's data in plain layouts: input and diff_dst fixed, weights
       uniform in +-1/sqrt(H) (PyTorch's default), bias zero */
    dnnl_memory_desc_t plain_md[N_WEIGHTS];
    md_by_tag(&plain_md[0], 5, wl_dims, dnnl_ldigo);
    md_by_tag(&plain_md[1], 5, wi_dims, dnnl_ldigo);
    md_by_tag(&plain_md[2], 4, bias_dims, dnnl_ldgo);
    dnnl_memory_t user_w[N_WEIGHTS];
    for (int k = 0; k < N_WEIGHTS; k++) user_w[k] = new_memory(&plain_md[k], engine);
    dnnl_memory_t src_layer = new_memory(arg_md(fwd_pd, DNNL_ARG_SRC_LAYER), engine);
    dnnl_memory_t dst_layer = new_memory(arg_md(fwd_pd, DNNL_ARG_DST_LAYER), engine);
    dnnl_memory_t diff_dst_layer = new_memory(arg_md(bwd_pd, DNNL_ARG_DIFF_DST_LAYER), engine);
    dnnl_memory_t diff_src_layer = new_memory(arg_md(bwd_pd, DNNL_ARG_DIFF_SRC_LAYER), engine);
    uint64_t rng = 1;
    const float w_scale = 1.0f / sqrtf((float)H);
    fill_uniform(data_of(user_w[0]), bytes_of(user_w[0]) / sizeof(float), w_scale, &rng);
    fill_uniform(data_of(user_w[1]), bytes_of(user_w[1]) / sizeof(float), w_scale, &rng);
    memset(data_of(user_w[2]), 0, bytes_of(user_w[2]));
    fill_uniform(data_of(src_layer), bytes_of(src_layer) / sizeof(float), 1.0f, &rng);
    fill_uniform(data_of(diff_dst_layer), bytes_of(diff_dst_layer) / sizeof(float), 0.01f, &rng);

    /* the weights reordered once into each primitive's layout (not timed);
       gradients in the layout the backward picked */
    Reorder to_fwd[N_WEIGHTS], to_bwd[N_WEIGHTS];
    dnnl_memory_t diff_w[N_WEIGHTS];
    for (int k = 0; k < N_WEIGHTS; k++) {
        to_fwd[k] = reorder_make(user_w[k], arg_md(fwd_pd, weight_args[k]), engine, stream);
        to_bwd[k] = reorder_make(user_w[k], arg_md(bwd_pd, weight_args[k]), engine, stream);
        diff_w[k] = new_memory(arg_md(bwd_pd, diff_weight_args[k]), engine);
    }
    dnnl_memory_t workspace = new_memory(arg_md(fwd_pd, DNNL_ARG_WORKSPACE), engine);

    /* one scratchpad buffer for both primitives: they never run at once */
    const dnnl_memory_desc_t *fwd_scratch_md = dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_scratchpad_md, 0);
    const dnnl_memory_desc_t *bwd_scratch_md = dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_scratchpad_md, 0);
    if (!fwd_scratch_md || !bwd_scratch_md) {
        fprintf(stderr, "bench_onednn: no scratchpad memory descriptor\n");
        exit(1);
    }
    size_t fwd_scratch_bytes = dnnl_memory_desc_get_size(fwd_scratch_md);
    size_t bwd_scratch_bytes = dnnl_memory_desc_get_size(bwd_scratch_md);
    size_t scratch_bytes = fwd_scratch_bytes > bwd_scratch_bytes ? fwd_scratch_bytes : bwd_scratch_bytes;
    void *scratch_buf = alloc_buffer(scratch_bytes);
    dnnl_memory_t fwd_scratch, bwd_scratch;
    DNNL_CHECK(dnnl_memory_create(&fwd_scratch, fwd_scratch_md, engine, scratch_buf));
    DNNL_CHECK(dnnl_memory_create(&bwd_scratch, bwd_scratch_md, engine, scratch_buf));

    dnnl_exec_arg_t fwd_args[] = {
        {DNNL_ARG_SRC_LAYER, src_layer},          {DNNL_ARG_WEIGHTS_LAYER, to_fwd[0].dst},
        {DNNL_ARG_WEIGHTS_ITER, to_fwd[1].dst},   {DNNL_ARG_BIAS, to_fwd[2].dst},
        {DNNL_ARG_DST_LAYER, dst_layer},          {DNNL_ARG_WORKSPACE, workspace},
        {DNNL_ARG_SCRATCHPAD, fwd_scratch}};
    dnnl_exec_arg_t bwd_args[] = {
        {DNNL_ARG_SRC_LAYER, src_layer},           {DNNL_ARG_WEIGHTS_LAYER, to_bwd[0].dst},
        {DNNL_ARG_WEIGHTS_ITER, to_bwd[1].dst},    {DNNL_ARG_BIAS, to_bwd[2].dst},
        {DNNL_ARG_DST_LAYER, dst_layer},           {DNNL_ARG_WORKSPACE, workspace},
        {DNNL_ARG_DIFF_DST_LAYER, diff_dst_layer}, {DNNL_ARG_DIFF_SRC_LAYER, diff_src_layer},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_w[0]},  {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_w[1]},
        {DNNL_ARG_DIFF_BIAS, diff_w[2]},           {DNNL_ARG_SCRATCHPAD, bwd_scratch}};
    const int n_fwd_args = (int)(sizeof fwd_args / sizeof fwd_args[0]);
    const int n_bwd_args = (int)(sizeof bwd_args / sizeof bwd_args[0]);
    void *diff_w_data[N_WEIGHTS];
    size_t diff_w_bytes[N_WEIGHTS];
    for (int k = 0; k < N_WEIGHTS; k++) {
        diff_w_data[k] = data_of(diff_w[k]);
        diff_w_bytes[k] = bytes_of(diff_w[k]);
    }

    double *times = malloc((size_t)steps * sizeof(double));
    ALLOC_CHECK(times);
    for (int s = -warmup; s < steps; s++) {
        double t0 = now_s();
        /* dnnl_backward adds into the weight gradients: start each step at zero */
        for (int k = 0; k < N_WEIGHTS; k++) memset(diff_w_data[k], 0, diff_w_bytes[k]);
        DNNL_CHECK(dnnl_primitive_execute(fwd, stream, n_fwd_args, fwd_args));
        DNNL_CHECK(dnnl_primitive_execute(bwd, stream, n_bwd_args, bwd_args));
        DNNL_CHECK(dnnl_stream_wait(stream));
        double dt = now_s() - t0;
        if (s >= 0) times[s] = dt;
    }

    /* the gradients must be finite and not all zero, or nothing was computed */
    double grad_abs_sum = 0;
    for (int k = 0; k < N_WEIGHTS; k++) {
        const float *g = diff_w_data[k];
        for (size_t i = 0; i < diff_w_bytes[k] / sizeof(float); i++) grad_abs_sum += fabsf(g[i]);
    }
    if (!isfinite(grad_abs_sum) || grad_abs_sum == 0) {
        fprintf(stderr, "bench_onednn: %s %s: weight gradients are %s\n", wl->name, cell->name,
                isfinite(grad_abs_sum) ? "all zero" : "not finite");
        exit(1);
    }

    qsort(times, steps, sizeof(double), cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    out->ms_median = med * 1e3;
    out->ms_min = times[0] * 1e3;
    out->ms_max = times[steps - 1] * 1e3;
    out->gflops = layer_flops(wl, cell) / med * 1e-9;
    out->peak_rss_mb = proc_status_field("VmHWM") / 1024.0;

    /* what a training loop would add per step and is not timed above: the
       weights, updated in plain layout, reordered again for both primitives
       (best of 5, warm) */
    double reorder_s = INFINITY;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int k = 0; k < N_WEIGHTS; k++) {
            reorder_run(&to_fwd[k], stream);
            reorder_run(&to_bwd[k], stream);
        }
        double dt = now_s() - t0;
        reorder_s = dt < reorder_s ? dt : reorder_s;
    }

    size_t plain_bytes = 0, fwd_bytes = 0, bwd_bytes = 0, diff_bytes = 0;
    for (int k = 0; k < N_WEIGHTS; k++) {
        plain_bytes += bytes_of(user_w[k]);
        fwd_bytes += bytes_of(to_fwd[k].dst);
        bwd_bytes += bytes_of(to_bwd[k].dst);
        diff_bytes += diff_w_bytes[k];
    }
    char fwd_layout[2][160], bwd_layout[2][160], diff_layout[2][160];
    for (int k = 0; k < 2; k++) {
        describe_layout(arg_md(fwd_pd, weight_args[k]), fwd_layout[k], sizeof fwd_layout[k]);
        describe_layout(arg_md(bwd_pd, weight_args[k]), bwd_layout[k], sizeof bwd_layout[k]);
        describe_layout(arg_md(bwd_pd, diff_weight_args[k]), diff_layout[k], sizeof diff_layout[k]);
    }
    const double mib = 1048576.0;
    fprintf(stderr, "bench_onednn: %s %s: T=%d X=%d H=%d B=%d G=%d, %d warm-up + %d timed steps\n",
            wl->name, cell->name, T, X, H, B, G, warmup, steps);
    fprintf(stderr, "bench_onednn: weights %zu bytes plain (ldigo/ldigo/ldgo); forward copy %zu bytes "
            "(layer %s, iter %s); backward copy %zu bytes (layer %s, iter %s); gradients %zu bytes "
            "(layer %s, iter %s)\n", plain_bytes, fwd_bytes, fwd_layout[0], fwd_layout[1], bwd_bytes,
            bwd_layout[0], bwd_layout[1], diff_bytes, diff_layout[0], diff_layout[1]);
    fprintf(stderr, "bench_onednn: workspace %.2f MiB; scratchpad %.2f MiB (forward %.2f, backward %.2f, "
            "one shared buffer)\n", bytes_of(workspace) / mib, scratch_bytes / mib,
            fwd_scratch_bytes / mib, bwd_scratch_bytes / mib);
    fprintf(stderr, "bench_onednn: weight reorders a training loop would add per step (not timed): "
            "%.3f ms; sum |dW| = %.6g; threads in process: %lld\n", reorder_s * 1e3, grad_abs_sum,
            proc_status_field("Threads"));

    dnnl_memory_t mems[] = {src_layer, dst_layer, diff_dst_layer, diff_src_layer, workspace,
                            fwd_scratch, bwd_scratch};
    for (size_t k = 0; k < sizeof mems / sizeof mems[0]; k++) DNNL_CHECK(dnnl_memory_destroy(mems[k]));
    for (int k = 0; k < N_WEIGHTS; k++) {
        reorder_free(&to_fwd[k]);
        reorder_free(&to_bwd[k]);
        DNNL_CHECK(dnnl_memory_destroy(diff_w[k]));
        DNNL_CHECK(dnnl_memory_destroy(user_w[k]));
    }
    DNNL_CHECK(dnnl_primitive_destroy(fwd));
    DNNL_CHECK(dnnl_primitive_destroy(bwd));
    DNNL_CHECK(dnnl_primitive_desc_destroy(fwd_pd));
    DNNL_CHECK(dnnl_primitive_desc_destroy(bwd_pd));
    DNNL_CHECK(dnnl_stream_destroy(stream));
    DNNL_CHECK(dnnl_engine_destroy(engine));
    free(scratch_buf);
    free(times);
}

/* ------------------------------------------------------------------------- */
/* the workloads, from rnnbench */

#define LISTING_HEADER "workload T X H B Y loss cells"

/* Reads workload `name` from `<rnnbench> bench --list-workloads` (a header
   line, then "name T X H B Y loss cells" per workload). Returns 0 when
   found, 2 when the listing has no such workload (its names go to `known`),
   1 when rnnbench cannot be run or its listing is not understood. */
static int read_workload(const char *rnnbench, const char *name, Workload *wl, char *known,
                         size_t known_len) {
    if (strchr(rnnbench, '\'')) { /* the path is single-quoted for the shell below */
        fprintf(stderr, "bench_onednn: --rnnbench: a path with a quote is not supported\n");
        return 1;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' bench --list-workloads", rnnbench);
    FILE *listing = popen(cmd, "r");
    if (!listing) {
        fprintf(stderr, "bench_onednn: cannot run %s\n", cmd);
        return 1;
    }
    char line[512];
    int header_ok = fgets(line, sizeof line, listing) != NULL &&
                    !strncmp(line, LISTING_HEADER, strlen(LISTING_HEADER));
    int rc = 2;
    known[0] = 0;
    while (header_ok && fgets(line, sizeof line, listing)) {
        Workload w;
        if (sscanf(line, "%31s %d %d %d %d", w.name, &w.T, &w.X, &w.H, &w.B) != 5) {
            header_ok = 0;
            break;
        }
        size_t used = strlen(known);
        snprintf(known + used, known_len - used, "%s%s", used ? ", " : "", w.name);
        if (!strcmp(w.name, name)) {
            *wl = w;
            rc = 0;
        }
    }
    int status = pclose(listing);
    if (!header_ok || status != 0) {
        fprintf(stderr, "bench_onednn: `%s` did not give the workload listing (exit status %d)\n",
                cmd, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 1;
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* command line */

static void usage(FILE *out) {
    fprintf(out,
            "usage: bench_onednn --workload W1|W2|W3|W4 --cell rnn|lstm|gru-ra [--steps N] [--warmup N]\n"
            "                    [--huge-pages] [--rnnbench PATH]\n"
            "Times oneDNN's fused RNN layer (forward_training + backward, no readout, no update)\n"
            "on one thread, float32; prints workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb.\n"
            "  --steps N    timed steps (default 30)\n"
            "  --warmup N   untimed steps before them (default 5)\n"
            "  --huge-pages buffers of 2 MiB and more on 2 MiB pages (madvise)\n"
            "  --rnnbench PATH  the rnnbench whose workloads to run (default bin/rnnbench):\n"
            "               the shapes are those `rnnbench bench --list-workloads` prints\n");
}

static int parse_count(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"workload", required_argument, 0, 'w'}, {"cell", required_argument, 0, 'c'},
        {"steps", required_argument, 0, 's'},    {"warmup", required_argument, 0, 'u'},
        {"huge-pages", no_argument, 0, 'p'},     {"rnnbench", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *workload = NULL, *rnnbench = "bin/rnnbench";
    const Cell *cell = NULL;
    long steps = 30, warmup = 5;
    int opt, idx = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        int ok = 1;
        switch (opt) {
        case 'w': workload = optarg; break;
        case 'c':
            cell = NULL;
            for (int i = 0; i < N_CELLS; i++)
                if (!strcmp(optarg, CELLS[i].name)) cell = &CELLS[i];
            ok = cell != NULL;
            break;
        case 's': ok = parse_count(optarg, 1, 1000000, &steps); break;
        case 'u': ok = parse_count(optarg, 0, 1000000, &warmup); break;
        case 'p': huge_pages = 1; break;
        case 'r': rnnbench = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "bench_onednn: --%s: invalid value '%s'\n", opts[idx].name, optarg);
            return 2;
        }
    }
    if (optind != argc || !workload || !cell) {
        if (optind != argc) fprintf(stderr, "bench_onednn: unexpected argument '%s'\n", argv[optind]);
        else fprintf(stderr, "bench_onednn: --workload and --cell are required\n");
        usage(stderr);
        return 2;
    }
    Workload workload_shape;
    char known[256];
    int found = read_workload(rnnbench, workload, &workload_shape, known, sizeof known);
    if (found == 2)
        fprintf(stderr, "bench_onednn: --workload: invalid value '%s' (%s lists %s)\n", workload,
                rnnbench, known);
    if (found != 0) return found;
    const Workload *wl = &workload_shape;

    /* one thread: the library's OpenMP is the libgomp this program links, so
       setting the calling thread's team size before the first primitive
       restricts every parallel region oneDNN opens */
    const dnnl_version_t *v = dnnl_version();
    if (v->cpu_runtime != DNNL_RUNTIME_OMP && v->cpu_runtime != DNNL_RUNTIME_SEQ) {
        fprintf(stderr, "bench_onednn: oneDNN CPU runtime is %s; only OpenMP or sequential "
                "builds can be restricted to one thread here\n", dnnl_runtime2str(v->cpu_runtime));
        return 1;
    }
    omp_set_num_threads(1);
    if (omp_get_max_threads() != 1) {
        fprintf(stderr, "bench_onednn: omp_get_max_threads() is %d after omp_set_num_threads(1)\n",
                omp_get_max_threads());
        return 1;
    }
    fprintf(stderr, "bench_onednn: oneDNN %d.%d.%d, CPU runtime %s, ISA %s, OpenMP max threads %d, "
            "huge pages %s\n", v->major, v->minor, v->patch, dnnl_runtime2str(v->cpu_runtime),
            dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()), omp_get_max_threads(),
            huge_pages ? "on" : "off");

    BenchResult r;
    bench(wl, cell, (int)steps, (int)warmup, &r);
    long long threads = proc_status_field("Threads");
    if (threads != 1) {
        fprintf(stderr, "bench_onednn: the process ran %lld threads, expected 1\n", threads);
        return 1;
    }
    printf("%s,%s,%.4f,%.4f,%.4f,%.2f,%.1f\n", wl->name, cell->name, r.ms_median, r.ms_min,
           r.ms_max, r.gflops, r.peak_rss_mb);
    return 0;
}
