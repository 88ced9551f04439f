/* cell.h: what a recurrent cell is, how it is named, and its two kernels.

   Every kind of cell (rnn, lstm, gru, ...) is one file in cells/ that fills
   a CellOps table: how its names parse, its named parameter tensors, the
   size of its activation cache, forward and backward over a whole sequence,
   initialisation, its gates and its HDF5 attributes. cells/kinds.h lists the
   kinds, one line each; nothing outside a kind's file asks which kind a cell
   is (docs/architecture.md, "Adding a cell").

   A cell's parameters are named tensors laid out back to back in one array;
   forward over a whole sequence caches what backward needs in a CellCache
   carved from one preallocated block; backward goes through time over the
   whole sequence, accumulates parameter gradients and returns dL/dx_t and
   dL/dh_0 (and dL/dc_0 for cells with a second state c).

   Shapes: x is (T,B,X), h is (T+1,B,H) with h[0] = h_0, all row-major. */
#ifndef RNNBENCH_CELL_H
#define RNNBENCH_CELL_H

#include <stddef.h>
#include "real.h"
#include "rng.h"

#define CELL_MAX_TENSORS 32 /* a cell written as equations has one per W, R, p, b */
#define CELL_NAME_MAX 64
#define CELL_MAX_GATES 4
/* room for a kind's own resolved flags and tensor offsets (cell_kind_data) */
#define CELL_KIND_DATA 256
/* cache arrays only one kind uses (the LSTM's full gate recurrence, the GRU's
   r ⊙ h): each kind names its own slots */
#define CELL_CACHE_OWN 4

typedef struct {
    char name[24];
    int rows, cols;   /* a vector has cols = 1 */
    size_t offset;    /* in reals from the start of the parameter array */
} ParamTensor;

typedef struct CellOps CellOps;
typedef struct Carver Carver; /* kernel.h */

typedef struct {
    const CellOps *ops;       /* its kind */
    char name[CELL_NAME_MAX]; /* canonical name, e.g. "lstm-peep+cifg" */
    int X, H;
    int layer;                /* its place in a stack of layers, 0 = the bottom (model.h) */
    int reads_below_c;        /* 1: reads the cell state c of the layer below (dglstm's layers >= 1) */
    int n_blocks;             /* H-sized blocks of the input projection W x (act rows hold n_blocks*H) */
    int has_c;                /* 1: a second state c_t (dL/dc_0 and ||dL/dc_t|| exist) */
    /* gates whose mean activation is recorded: block g of an act row */
    int n_gates;
    char gate_names[CELL_MAX_GATES][4];
    ParamTensor tensors[CELL_MAX_TENSORS];
    int n_tensors;
    size_t n_params;          /* reals of the layout (tensors back to back) */
    /* reals of the layout held at zero that are no parameters (cwrnn's blocks
       below the diagonal of weight_hh): the cell's count is n_params - n_fixed */
    size_t n_fixed;
    /* the kind's own flags and tensor offsets, private to its file (memcpy'd
       in and out there: see kernel.h) */
    _Alignas(8) unsigned char kind_data[CELL_KIND_DATA];
} Cell;

/* Build a cell from its name, e.g. "lstm-nfg" or "lstm+cifg+fgr". Returns 0 on
   success; on failure writes a one-line reason into err and returns -1. */
int cell_make(Cell *cell, const char *name, int X, int H, char *err, size_t err_len);
/* The same for layer `layer` of a stack (X is then the hidden size of the
   layer below): a kind may build its upper layers differently (dglstm). */
int cell_make_layer(Cell *cell, const char *name, int X, int H, int layer, char *err, size_t err_len);

/* One line of `rnnbench list cells`. */
typedef struct { const char *name; const char *desc; const char *params; } CellInfo;

/* Activations cached by forward, plus backward's scratch, all pointing into
   one block of cell_cache_size() reals. Members a kind does not use are NULL. */
typedef struct {
    int T, B;
    real *h;        /* (T+1,B,H), h[0] = h_0 */
    real *c;        /* (T+1,B,H), c[0] = c_0 (cells with has_c) */
    real *act;      /* (T,B,n_blocks*H) gate activations, block g = gate g */
    real *dpre;     /* (T,B,n_blocks*H) dL/d(pre-activation), input side (may share act) */
    real *dh;       /* (B,H) */
    real *dh_next;  /* (B,H) */
    real *dc;       /* (B,H) */
    real *dc_next;  /* (B,H) */
    real *tmp;      /* (B,n_blocks*H) */
    real *in_work;  /* ((X+1),n_blocks*H) W^T in forward, gradient sums in backward (small X) */
    real *r_t;      /* (H,n_blocks*H) weight_hh transposed for forward's product */
    real *own[CELL_CACHE_OWN]; /* the kind's own arrays */
    /* links to the layer below, set by the model for a cell that reads_below_c:
       its c (T+1,B,H) in forward, and where backward writes dL/dc_t of it (T,B,H) */
    const real *below_c;
    real *below_dc;
} CellCache;

size_t cell_cache_size(const Cell *cell, int T, int B);
void cell_cache_point(const Cell *cell, int T, int B, real *block, CellCache *cc);

/* Forward over T steps. Reads h_0 (and c_0) from cc->h[0] (cc->c[0]). */
void cell_forward(const Cell *cell, const real *params, const real *x, CellCache *cc);

/* The gradient from above, of a readout y_t = h_t V^T + d: dL/dh_t =
   dy_t V at the steps with a readout (active[t]), 0 elsewhere. Backward
   forms it step by step (upstream_grad) instead of reading a (T,B,H) array:
   one T-sized block and one pass over it fewer. (In small batches with a
   wide readout, model.c forms it before backward and passes it as
   dh_above: see dh_top_ahead.) */
typedef struct {
    const real *dy;     /* (T,B,Y) */
    const real *V;      /* (Y,H) readout.weight */
    int Y;
    const int *active;  /* (T) */
    /* Below the top of a stack the gradient from above is the next layer's
       dL/dx instead: dh_above (T,B,H) replaces the readout's term, and
       dc_above (T,B,H), when not NULL, is added to dL/dc_t (the layer above
       read this layer's c: dglstm). */
    const real *dh_above;
    const real *dc_above;
} Upstream;

/* Backward through time from the gradient above (up).
   Accumulates into dparams; writes dx (T,B,X), dh0 and dc0 (B,H) when not
   NULL. flow_h and flow_c (T), when not NULL, receive the batch mean of
   ||dL/dh_t|| and ||dL/dc_t|| (total, through time), the gradient flow; dc0
   and flow_c are zero for a cell without c. */
void cell_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c);

/* Initialisation after every parameter was drawn uniformly: the kind's own
   special cases (irnn's identity, the LSTM's forget-gate bias). */
typedef struct {
    double forget_bias; /* NAN: leave the drawn value */
    int chrono_T;       /* > 0: chrono initialisation for sequences up to this long */
} CellInit;
void cell_init(const Cell *cell, real *params, const CellInit *init, Rng *rng);

/* The kind's attributes (always `kind`, then its flags) through a writer that
   knows the file format, so cells/ need not. Returns 0, or -1 if a put failed. */
typedef struct {
    void *ctx;
    int (*put_int)(void *ctx, const char *name, long long value);
    int (*put_str)(void *ctx, const char *name, const char *value);
} AttrSink;
int cell_write_attrs(const Cell *cell, const AttrSink *sink);

/* Multiply-adds of the matrix products of one forward step of one sequence
   (the scheduler's cost, the benchmark's flop count). */
double cell_step_madds(const Cell *cell);

/* The kinds, for `rnnbench list cells`. */
int cell_kind_count(void);
const CellOps *cell_kind_at(int k);

struct CellOps {
    const char *kind;                 /* written as the `kind` attribute */
    const CellInfo *names;            /* the names `list cells` shows */
    int n_names;
    const char *modifier_intro;       /* NULL: no '+' modifiers */
    const CellInfo *modifiers;
    int n_modifiers;
    /* 1 and cell filled if `name` is this kind's, 0 if not, -1 with err if it
       is but is invalid. Sets name, the flags (kind_data) and the layout. */
    int (*make)(Cell *cell, const char *name, char *err, size_t err_len);
    /* carves the cache in order (see kernel.h's Carver); sizes it when block is NULL */
    void (*cache)(const Cell *cell, int T, int B, Carver *cv, CellCache *cc);
    void (*forward)(const Cell *cell, const real *params, const real *x, CellCache *cc);
    void (*backward)(const Cell *cell, const real *params, const real *x, CellCache *cc,
                     const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                     real *flow_h, real *flow_c);
    void (*init)(const Cell *cell, real *params, const CellInit *init, Rng *rng); /* may be NULL */
    int (*attrs)(const Cell *cell, const AttrSink *sink);
    double (*step_madds)(const Cell *cell);
    int min_layers;                   /* the fewest layers of a stack of this kind (0: 1) */
};

#endif
