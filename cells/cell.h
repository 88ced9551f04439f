/* cell.h: what a recurrent cell is, how it is named, and its two kernels.

   A cell is described by a kind (rnn, lstm, gru) plus flags; one LSTM
   implementation covers every ablation of Greff et al. (see cells.md).
   Its parameters are named tensors laid out back to back in one array;
   the forward pass over a whole sequence caches what backward needs in a
   CellCache carved from one preallocated block; backward goes through time
   over the whole sequence, accumulates parameter gradients and returns
   dL/dx_t and dL/dh_0 (and dL/dc_0 for the LSTM family).

   Shapes: x is (T,B,X), h is (T+1,B,H) with h[0] = h_0, all row-major. */
#ifndef RNNBENCH_CELL_H
#define RNNBENCH_CELL_H

#include <stddef.h>
#include "real.h"

typedef enum { CELL_RNN, CELL_LSTM, CELL_GRU } CellKind;

typedef struct {
    /* LSTM family (cells.md): a removed gate has no parameters at all */
    int input_gate, forget_gate, output_gate;
    int peepholes;             /* p_i, p_f, p_o */
    int coupled;               /* CIFG: f = 1 - i */
    int full_gate_recurrence;  /* FGR: gates see i,f,o of the previous step */
    int input_linear;          /* NIAF: g(x) = x */
    int output_linear;         /* NOAF: k(x) = x */
    /* rnn */
    int relu;                  /* irnn */
    /* gru */
    int reset_after;           /* gru-ra (cuDNN/PyTorch form) */
} CellFlags;

#define CELL_MAX_TENSORS 12
#define CELL_NAME_MAX 64

typedef struct {
    char name[24];
    int rows, cols;   /* a vector has cols = 1 */
    size_t offset;    /* in reals from the start of the parameter array */
} ParamTensor;

typedef struct {
    CellKind kind;
    char name[CELL_NAME_MAX]; /* canonical name, e.g. "lstm-peep+cifg" */
    CellFlags flags;
    int X, H;
    int n_blocks;       /* H-sized blocks in weight_ih: 1 (rnn), 3 (gru), <= 4 (lstm) */
    int blk_i, blk_f, blk_z, blk_o; /* LSTM block index of each gate, -1 if absent */
    int n_fgr;          /* gates in the full gate recurrence (0 without FGR) */
    int fgr_i, fgr_f, fgr_o;        /* their index inside the FGR block, -1 if absent */
    ParamTensor tensors[CELL_MAX_TENSORS];
    int n_tensors;
    size_t n_params;
    /* offsets of the tensors the kernels use; (size_t)-1 when absent */
    size_t w_ih, w_hh, bias, bias_rn, peep_i, peep_f, peep_o, w_gg;
} Cell;

#define NO_TENSOR ((size_t)-1)

/* Build a cell from its name, e.g. "lstm-nfg" or "lstm+cifg+fgr". Returns 0 on
   success; on failure writes a one-line reason into err and returns -1. */
int cell_make(Cell *cell, const char *name, int X, int H, char *err, size_t err_len);

/* The registry for `rnnbench list cells`: one line per named cell. */
typedef struct { const char *name; const char *desc; const char *params; } CellInfo;
const CellInfo *cell_registry(int *count);
/* Modifiers accepted after '+' in a cell name, with what they do. */
const CellInfo *cell_modifiers(int *count);

/* Activations cached by forward, plus backward's scratch, all pointing into
   one block of cell_cache_size() reals. Absent members are NULL. */
typedef struct {
    int T, B;
    real *h;        /* (T+1,B,H), h[0] = h_0 */
    real *c;        /* (T+1,B,H), c[0] = c_0 (lstm); backward uses it as scratch when done */
    real *act;      /* (T,B,n_blocks*H) gate activations (lstm, gru) */
    real *aux;      /* (T,B,H) r*h_prev (gru) or R_n h_prev + b_rn (gru-ra) */
    real *fgr_act;  /* (T+1,B,n_fgr*H) gated activations, slot 0 = zeros (fgr) */
    real *dpre;     /* (T,B,n_blocks*H) dL/d(pre-activation), input side (lstm, gru-ra: = act) */
    real *dhn;      /* (T,B,H) dL/d(R_n h_{t-1} + b_rn) (gru-ra) */
    real *dfgr;     /* (T,B,n_fgr*H) (fgr) */
    real *dh;       /* (B,H) */
    real *dh_next;  /* (B,H) */
    real *dc;       /* (B,H) */
    real *dc_next;  /* (B,H) */
    real *dact_fgr; /* (B,n_fgr*H) */
    real *tmp;      /* (B,n_blocks*H) */
    real *in_work;  /* ((X+1),n_blocks*H) W^T in forward, gradient sums in backward (small X) */
    real *r_t;      /* (H,n_blocks*H) weight_hh transposed for forward's product */
} CellCache;

size_t cell_cache_size(const Cell *cell, int T, int B);
void cell_cache_point(const Cell *cell, int T, int B, real *block, CellCache *cc);

/* Forward over T steps. Reads h_0 (and c_0) from cc->h[0] (cc->c[0]). */
void cell_forward(const Cell *cell, const real *params, const real *x, CellCache *cc);

/* The gradient from above, of a readout y_t = h_t V^T + d: dL/dh_t =
   dy_t V at the steps with a readout (active[t]), 0 elsewhere. Backward
   forms it step by step (upstream_grad) instead of reading a (T,B,H) array:
   one T-sized block and one pass over it fewer. */
typedef struct {
    const real *dy;     /* (T,B,Y) */
    const real *V;      /* (Y,H) readout.weight */
    int Y;
    const int *active;  /* (T) */
} Upstream;

/* Backward through time from the gradient above (up).
   Accumulates into dparams; writes dx (T,B,X), dh0 and dc0 (B,H) when not
   NULL. flow_h and flow_c (T), when not NULL, receive the batch mean of
   ||dL/dh_t|| and ||dL/dc_t|| (total, through time), the gradient flow. */
void cell_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c);

/* kernels of each kind (dispatched by cell_forward/cell_backward) */
void rnn_forward(const Cell *cell, const real *params, const real *x, CellCache *cc);
void rnn_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                  const Upstream *up, real *dparams, real *dx, real *dh0, real *flow_h);
void lstm_forward(const Cell *cell, const real *params, const real *x, CellCache *cc);
void lstm_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                   const Upstream *up, real *dparams, real *dx, real *dh0, real *dc0,
                   real *flow_h, real *flow_c);
void gru_forward(const Cell *cell, const real *params, const real *x, CellCache *cc);
void gru_backward(const Cell *cell, const real *params, const real *x, CellCache *cc,
                  const Upstream *up, real *dparams, real *dx, real *dh0, real *flow_h);

/* helpers shared by the kernels */
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
void add_bias_rows(real *out, const real *bias, int rows, int cols);
void sum_rows_into(real *acc, const real *m, int rows, int cols);
void flow_norms(const real *d, int B, int H, real *out);

#endif
