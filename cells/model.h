/* model.h: a cell, or a stack of L layers of it, with the linear readout
   y_t = V h_t + d of the top layer and a loss over a (T,B) mask, shared by
   every cell. Parameters of the layers (bottom first) and the readout live
   in one array, gradients mirror it. */
#ifndef RNNBENCH_MODEL_H
#define RNNBENCH_MODEL_H

#include "cell.h"
#include "rng.h"

/* bce is the mean over masked rows and outputs; bce_sum sums the outputs of
   a row (a row's negative log-likelihood under independent Bernoullis, as
   music models report it) and is the mean over masked rows */
typedef enum { LOSS_MSE, LOSS_XENT, LOSS_BCE, LOSS_BCE_SUM } LossKind;
const char *loss_name(LossKind k);
int loss_parse(const char *s, LossKind *out); /* "mse", "xent", "bce", "bce_sum"; 0 on success */

/* a stack of up to MODEL_MAX_LAYERS layers of one cell kind */
#define MODEL_MAX_LAYERS 8
#define MODEL_MAX_TENSORS (CELL_MAX_TENSORS * MODEL_MAX_LAYERS + 2)

typedef struct {
    /* the layers, bottom first; `cell` is layer[0]: the kind, name, hidden
       size and gates of the whole stack. Layer l > 0 reads h of layer l-1. */
    union {
        Cell cell;
        Cell layer[MODEL_MAX_LAYERS];
    };
    int L;
    size_t layer_off[MODEL_MAX_LAYERS]; /* where layer l's parameters start */
    size_t n_fixed;                     /* reals held at zero that are no parameters (cwrnn) */
    int Y;
    LossKind loss;
    /* every layer's tensors (named with PyTorch's _l<k> suffix when L >= 2),
       then readout.weight, readout.bias */
    ParamTensor tensors[MODEL_MAX_TENSORS];
    int n_tensors;
    size_t n_params;
    size_t ro_w, ro_b;
} Model;

/* Everything one forward/backward pass of (T,B) needs, in one allocation. */
typedef struct {
    int T, B;
    int readout_all;  /* 1: compute y at every step, even where the mask is 0 */
    int no_dx;        /* 1: backward skips dL/dx, which training never reads (a GEMM of T*B*X*G*H) */
    real *block;
    CellCache cc[MODEL_MAX_LAYERS]; /* per layer; the readout reads cc[L-1].h */
    real *y;       /* (T,B,Y) readout outputs */
    real *dy;      /* (T,B,Y) */
    real *dx;      /* (T,B,X) */
    real *dh0, *dc0; /* (L,B,H): each layer's, as torch's h_0 */
    real *ro_work; /* ((Y+1),H): readout.weight transposed in forward, gradient sums in backward */
    /* between layers in backward: dL/dx of layer l is dL/dh of layer l-1
       (two (T,B,H) buffers taken in turn), and dL/dc of the layer below
       from a layer that read it */
    real *dh_between[2], *dc_between[2];
    real *dh_top;  /* (T,B,H) dL/dh of the top layer from the readout, formed before backward
                      in small batches (model.c says why); NULL otherwise */
    int *active;   /* (T) 1 where any mask entry of the step is non-zero */
} ModelWork;

int model_make(Model *m, const char *cell_name, int X, int H, int Y, LossKind loss,
               char *err, size_t err_len);
/* the same with L stacked layers of the cell (1 <= L <= MODEL_MAX_LAYERS) */
int model_make_stack(Model *m, const char *cell_name, int X, int H, int L, int Y, LossKind loss,
                     char *err, size_t err_len);
/* the parameter count (the layout less the reals held at zero) */
long model_param_count(const Model *m);
/* multiply-adds of the matrix products of one forward step of one sequence, all layers */
double model_step_madds(const Model *m);
/* a (T,B) prefix of a work allocated for at least that (every layer's cache too) */
void model_work_use(ModelWork *w, int T, int B);
size_t model_work_size(const Model *m, int T, int B); /* bytes */
int model_work_alloc(const Model *m, int T, int B, ModelWork *w); /* -1 when out of memory */
void model_work_free(ModelWork *w);

/* Uniform(-scale, scale) for every parameter (scale <= 0: 1/sqrt(H), as torch),
   then the cell kind's own (cell_init): irnn's identity R and zero bias, the
   LSTM forget-gate bias (forget_bias; NAN leaves the random value). */
void model_init(const Model *m, real *params, Rng *rng, double scale, double forget_bias);
/* the same with every initialisation option of the cell (chrono, ...) */
void model_init_cell(const Model *m, real *params, Rng *rng, double scale, const CellInit *init);

/* Forward over a batch: fills w->y and returns the loss. h_0 = c_0 = 0
   unless the caller wrote w->cc.h[0] / w->cc.c[0] after a previous call to
   model_zero_state. */
void model_zero_state(const Model *m, ModelWork *w);
double model_forward(const Model *m, const real *params, const real *x, const real *target,
                     const real *mask, ModelWork *w);
/* Backward after model_forward, from the dL/dy that forward left in w->dy:
   accumulates into grads; writes w->dx (unless w->no_dx), w->dh0, w->dc0 and, when not NULL,
   the gradient flow (L,T) of ||dL/dh_t||, ||dL/dc_t||, layer by layer from the bottom. */
void model_backward(const Model *m, const real *params, const real *x, ModelWork *w, real *grads,
                    real *flow_h, real *flow_c);

/* The stack alone, without readout or loss: forward over every layer, and
   backward from a given gradient above the top layer (the benchmark's
   layer-only mode; model_forward/backward run these). */
void model_stack_forward(const Model *m, const real *params, const real *x, ModelWork *w);
void model_stack_backward(const Model *m, const real *params, const real *x, ModelWork *w,
                          const Upstream *top, real *grads, real *flow_h, real *flow_c);

const ParamTensor *model_tensor(const Model *m, const char *name);

#endif
