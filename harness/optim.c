/* optim.c: see optim.h. */
#include "optim.h"

#include <math.h>
#include <string.h>

size_t optim_state_reals(const RunConfig *cfg, size_t n) {
    if (cfg->optimizer == OPT_ADAM) return 2 * n;
    return cfg->momentum > 0 ? n : 0;
}

void optim_init(Optimizer *o, const RunConfig *cfg, size_t n, real *state) {
    memset(o, 0, sizeof *o);
    o->kind = cfg->optimizer;
    o->lr = cfg->lr;
    /* Greff et al. 2015 scale the step by (1 - momentum), so that the
       momentum's geometric sum of gradients keeps the size of one step */
    if (cfg->optimizer == OPT_SGD && cfg->lr_scale_momentum) o->lr = cfg->lr * (1 - cfg->momentum);
    o->momentum = cfg->momentum;
    o->nesterov = cfg->nesterov;
    o->beta1 = cfg->beta1;
    o->beta2 = cfg->beta2;
    o->eps = cfg->adam_eps;
    o->n = n;
    size_t n_state = optim_state_reals(cfg, n);
    o->m = n_state ? state : NULL;
    o->v = n_state == 2 * n ? state + n : NULL;
    if (n_state) memset(state, 0, n_state * sizeof(real));
}

void optim_step(Optimizer *o, real *params, const real *grads) {
    o->t++;
    const size_t n = o->n;
    if (o->kind == OPT_ADAM) {
        const double b1 = o->beta1, b2 = o->beta2;
        /* bias-corrected step size of Kingma & Ba, folded into one factor */
        const double step = o->lr * sqrt(1 - pow(b2, (double)o->t)) / (1 - pow(b1, (double)o->t));
        for (size_t k = 0; k < n; k++) {
            double g = grads[k];
            double m = b1 * o->m[k] + (1 - b1) * g;
            double v = b2 * o->v[k] + (1 - b2) * g * g;
            o->m[k] = (real)m;
            o->v[k] = (real)v;
            params[k] -= (real)(step * m / (sqrt(v) + o->eps));
        }
    } else if (o->momentum > 0) {
        const double mu = o->momentum;
        for (size_t k = 0; k < n; k++) {
            double v = mu * o->m[k] + grads[k];
            o->m[k] = (real)v;
            /* Nesterov: step along the gradient plus the look-ahead momentum */
            double d = o->nesterov ? grads[k] + mu * v : v;
            params[k] -= (real)(o->lr * d);
        }
    } else {
        for (size_t k = 0; k < n; k++) params[k] -= (real)(o->lr * grads[k]);
    }
}

double grad_norm(const real *g, size_t n) {
    double s = 0;
    for (size_t k = 0; k < n; k++) s += (double)g[k] * g[k];
    return sqrt(s);
}

void grad_scale(real *g, size_t n, double s) {
    for (size_t k = 0; k < n; k++) g[k] = (real)(g[k] * s);
}
