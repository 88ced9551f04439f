/* kernel.h: what the cell kinds share, private to cells/: the cache carver,
   access to a kind's own data in a Cell, tensor layout, and the input-side,
   readout and row helpers every kernel uses (input.c, rows.c). Nothing here
   knows any particular kind. */
#ifndef RNNBENCH_KERNEL_H
#define RNNBENCH_KERNEL_H

#include "cell.h"

#include <string.h>

/* A kind's own flags and tensor offsets live in Cell.kind_data as bytes;
   its file copies them in and out of its own struct type. */
#define CELL_KIND_DATA_SET(cell, value)                                              \
    do {                                                                             \
        _Static_assert(sizeof(value) <= CELL_KIND_DATA, "kind data too large");      \
        memcpy((cell)->kind_data, &(value), sizeof(value));                         \
    } while (0)
#define CELL_KIND_DATA_GET(cell, value)                                              \
    do {                                                                             \
        _Static_assert(sizeof(value) <= CELL_KIND_DATA, "kind data too large");      \
        memcpy(&(value), (cell)->kind_data, sizeof(value));                         \
    } while (0)

/* defines `static Type data_of(const Cell *)`, the kind's own data of a cell */
#define CELL_KIND_DATA_OF(Type)                                                      \
    static Type data_of(const Cell *cell) {                                          \
        Type d_;                                                                     \
        CELL_KIND_DATA_GET(cell, d_);                                                \
        return d_;                                                                   \
    }

/* The cache is carved in one order by one function per kind, which both
   sizes it (block NULL) and points it, so the two cannot disagree. */
struct Carver {
    real *cursor; /* NULL when only sizing */
    size_t total;
};
static inline real *carve(Carver *cv, size_t n) {
    real *p = cv->cursor;
    if (p) cv->cursor += n;
    cv->total += n;
    return p;
}

/* appends a tensor to the cell's layout; returns its offset */
size_t cell_add_tensor(Cell *c, const char *name, int rows, int cols);
/* appends a gate to the recorded gate statistics (block g = the g-th added) */
void cell_add_gate(Cell *c, const char *name);
/* the common "weight_ih, weight_hh, bias" of n_blocks blocks, in that order */
typedef struct { size_t w_ih, w_hh, bias; } InputRecurrent;
InputRecurrent cell_add_input_recurrent(Cell *c, int n_blocks);

/* input.c: pre = x W^T + b and its gradients; inputs up to INPUT_SMALL_X wide
   take hand-written loops (see there why), in_work as their scratch */
#define INPUT_SMALL_X 16
int input_is_small(int X);
void input_transpose(real *wt, const real *W, int X, int G);
void input_project_small(real *out, const real *x, const real *wt, const real *bias,
                         int rows, int X, int G);
/* small X, in backward: begin zeroes in_work, rows adds a step's dpre^T x and
   dpre sums to it, finish adds them to dW and dbias */
void input_grads_begin(real *in_work, int X, int G);
void input_grads_rows(real *in_work, const real *dpre, const real *x, int rows, int X, int G);
void input_grads_finish(real *dW, real *dbias, const real *in_work, int X, int G);
/* dh (B,H) = dh_next + the gradient from above at step t (see Upstream) */
void upstream_grad(const Upstream *up, int t, int B, int H, const real *dh_next, real *dh);
/* dc (B,H) += the gradient from above of c_t, when the layer above read it
   (Upstream.dc_above: dglstm's depth gate); nothing otherwise */
void upstream_grad_c(const Upstream *up, int t, int B, int H, real *dc);
/* the readout's gradients over rows: dV (Y,H) += dy^T h, dd (Y) += dy's column
   sums; acc is scratch of (Y+1)*H reals */
void readout_grads(real *dV, real *dd, const real *dy, const real *h, int rows, int Y, int H,
                   real *acc);
/* wide X: out (rows,G) = x W^T + bias over all rows at once; and dW += dpre^T x
   over all rows (the bias gradient is summed step by step, while dpre is in
   cache) */
void input_project(real *out, const real *x, const real *W, const real *bias, int rows, int X,
                   int G);
void input_grads(real *dW, const real *dpre, const real *x, int rows, int X, int G);
/* dR (G,H) += dpre^T h over rows; overwrites scratch if it holds H*G reals */
void recurrent_grads(real *dR, const real *dpre, int ld_dpre, const real *h, int rows, int H,
                     int G, real *scratch, size_t scratch_n);

/* rows.c */
void add_bias_rows(real *out, const real *bias, int rows, int cols);
void sum_rows_into(real *acc, const real *m, int rows, int cols);
/* out = the batch mean of the rows' Euclidean norms, for the gradient flow */
void flow_norms(const real *d, int B, int H, real *out);

#endif
