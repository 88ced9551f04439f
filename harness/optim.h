/* optim.h: the update rules over one flat parameter array: SGD with
   optional (Nesterov) momentum, as Greff et al. trained, and Adam; plus the
   global gradient norm and clipping by it. State mirrors the parameters. */
#ifndef RNNBENCH_OPTIM_H
#define RNNBENCH_OPTIM_H

#include <stddef.h>
#include "config.h"

typedef struct {
    OptimizerKind kind;
    double lr, momentum, beta1, beta2, eps;
    int nesterov;
    long t;          /* updates done */
    size_t n;
    real *m, *v;     /* momentum / first moment, second moment (Adam) */
} Optimizer;

/* reals of state the update rule keeps: 2n (Adam), n (momentum), 0 (SGD) */
size_t optim_state_reals(const RunConfig *cfg, size_t n);
/* state is optim_state_reals() reals owned by the caller (NULL when 0) */
void optim_init(Optimizer *o, const RunConfig *cfg, size_t n, real *state);
void optim_step(Optimizer *o, real *params, const real *grads);

double grad_norm(const real *g, size_t n);   /* sqrt(sum g^2), accumulated in double */
void grad_scale(real *g, size_t n, double s);

#endif
