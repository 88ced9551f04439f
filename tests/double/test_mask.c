/* test_mask.c: variable-length sequences in one batch (data-set tasks such
   as jsb pad each batch to its longest sequence with mask 0 past each end).
   Checked, in double precision, for the rnn, an LSTM with peepholes and the
   GRU under every loss:
   - padded steps contribute exactly zero: garbage inputs and targets in
     them leave the loss, every parameter gradient and dL/dx of the real
     steps bit for bit unchanged, and dL/dx at padded steps is exactly 0;
   - the padded batch is the sequences on their own: its loss times its
     scored rows, and its gradient so weighted, equal the sums over the
     sequences run alone at their own lengths (to rounding);
   - the gradient of a padded batch under bce_sum (the jsb loss) matches
     central finite differences. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cells/model.h"

#define T_MAX 12
#define B_SEQ 3
#define N_IN 5
#define N_HID 4
#define N_OUT 6

static const int lengths[B_SEQ] = {12, 7, 3}; /* the batch is as long as the first */
static const char *const cells[] = {"rnn", "lstm-peep", "gru"};
static const LossKind losses[] = {LOSS_MSE, LOSS_XENT, LOSS_BCE, LOSS_BCE_SUM};

typedef struct {
    Model m;
    ModelWork w;
    int T, B;
    real *params, *grads, *x, *target, *mask;
} Net;

static void net_make(Net *n, const char *cell, LossKind loss, int T, int B) {
    memset(n, 0, sizeof *n); /* dL/dx computed, readout only where scored */
    char err[256];
    cr_assert_eq(model_make(&n->m, cell, N_IN, N_HID, N_OUT, loss, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_work_alloc(&n->m, T, B, &n->w), 0);
    n->T = T;
    n->B = B;
    size_t TB = (size_t)T * B;
    n->params = calloc(n->m.n_params, sizeof(real));
    n->grads = calloc(n->m.n_params, sizeof(real));
    n->x = calloc(TB * N_IN, sizeof(real));
    n->target = calloc(TB * N_OUT, sizeof(real));
    n->mask = calloc(TB, sizeof(real));
    cr_assert(n->params && n->grads && n->x && n->target && n->mask);
    Rng rng;
    rng_seed(&rng, 11);
    model_init(&n->m, n->params, &rng, 0.6, NAN);
}

static void net_free(Net *n) {
    model_work_free(&n->w);
    free(n->params); free(n->grads); free(n->x); free(n->target); free(n->mask);
}

/* the input and target of sequence `seq` at step t (the same whatever batch
   it is put in) */
static void step_values(LossKind loss, int seq, int t, real *x, real *target) {
    Rng rng;
    rng_seed(&rng, 1000 + 100 * (uint64_t)seq + (uint64_t)t);
    for (int k = 0; k < N_IN; k++) x[k] = (real)rng_range(&rng, -1, 1);
    memset(target, 0, N_OUT * sizeof(real));
    if (loss == LOSS_XENT) target[rng_int(&rng, N_OUT)] = 1;
    else if (loss == LOSS_MSE) for (int k = 0; k < N_OUT; k++) target[k] = (real)rng_range(&rng, -1, 1);
    else for (int k = 0; k < N_OUT; k++) target[k] = (real)(rng_uniform(&rng) < 0.5);
}

/* sequence seq into column b of n; its padded steps (t >= its length) get
   `pad`: 0 for zeros, else garbage of that size */
static void put_sequence(Net *n, LossKind loss, int seq, int b, double pad) {
    Rng junk;
    rng_seed(&junk, 77 + (uint64_t)b);
    for (int t = 0; t < n->T; t++) {
        size_t row = (size_t)t * n->B + b;
        real *x = n->x + row * N_IN, *target = n->target + row * N_OUT;
        if (t < lengths[seq]) {
            step_values(loss, seq, t, x, target);
            n->mask[row] = 1;
        } else {
            for (int k = 0; k < N_IN; k++) x[k] = (real)(pad * rng_range(&junk, -1, 1));
            for (int k = 0; k < N_OUT; k++) target[k] = (real)(pad * rng_range(&junk, -1, 1));
            n->mask[row] = 0;
        }
    }
}

/* forward and backward from h_0 = 0; the loss */
static double net_grad(Net *n) {
    model_work_use(&n->w, n->T, n->B);
    model_zero_state(&n->m, &n->w);
    memset(n->grads, 0, n->m.n_params * sizeof(real));
    double loss = model_forward(&n->m, n->params, n->x, n->target, n->mask, &n->w);
    model_backward(&n->m, n->params, n->x, &n->w, n->grads, NULL, NULL);
    return loss;
}

Test(mask, padded_steps_contribute_exactly_zero) {
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++) {
            Net clean, dirty;
            net_make(&clean, cells[c], losses[l], T_MAX, B_SEQ);
            net_make(&dirty, cells[c], losses[l], T_MAX, B_SEQ);
            for (int b = 0; b < B_SEQ; b++) {
                put_sequence(&clean, losses[l], b, b, 0);
                put_sequence(&dirty, losses[l], b, b, 50);
            }
            double lc = net_grad(&clean), ld = net_grad(&dirty);
            const char *what = loss_name(losses[l]);
            cr_assert(lc == ld, "%s %s: loss %.17g with garbage in the padding, %.17g without",
                      cells[c], what, ld, lc);
            /* == rather than memcmp: a zero may come out as -0 */
            for (size_t i = 0; i < clean.m.n_params; i++)
                cr_assert(clean.grads[i] == dirty.grads[i],
                          "%s %s: garbage in the padding changes gradient %zu (%.17g, %.17g)", cells[c], what,
                          i, (double)clean.grads[i], (double)dirty.grads[i]);
            for (int t = 0; t < T_MAX; t++)
                for (int b = 0; b < B_SEQ; b++) {
                    const real *dx_c = clean.w.dx + ((size_t)t * B_SEQ + b) * N_IN;
                    const real *dx_d = dirty.w.dx + ((size_t)t * B_SEQ + b) * N_IN;
                    for (int k = 0; k < N_IN; k++)
                        cr_assert(dx_c[k] == dx_d[k], "%s %s: dL/dx t=%d b=%d differs", cells[c], what, t, b);
                    if (t >= lengths[b])
                        for (int k = 0; k < N_IN; k++)
                            cr_assert(dx_d[k] == 0, "%s %s: dL/dx at padded t=%d b=%d is %g", cells[c], what,
                                      t, b, (double)dx_d[k]);
                }
            net_free(&clean);
            net_free(&dirty);
        }
}

Test(mask, padded_batch_equals_the_sequences_alone) {
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++) {
            LossKind loss = losses[l];
            Net batch;
            net_make(&batch, cells[c], loss, T_MAX, B_SEQ);
            for (int b = 0; b < B_SEQ; b++) put_sequence(&batch, loss, b, b, 3);
            double rows = 0;
            for (int b = 0; b < B_SEQ; b++) rows += lengths[b];
            double batch_loss = net_grad(&batch) * rows;
            double alone_loss = 0;
            real *alone_grads = calloc(batch.m.n_params, sizeof(real));
            cr_assert_not_null(alone_grads);
            for (int b = 0; b < B_SEQ; b++) {
                Net one;
                net_make(&one, cells[c], loss, lengths[b], 1);
                put_sequence(&one, loss, b, 0, 0);
                alone_loss += net_grad(&one) * lengths[b];
                for (size_t i = 0; i < one.m.n_params; i++) alone_grads[i] += one.grads[i] * lengths[b];
                net_free(&one);
            }
            const char *what = loss_name(loss);
            cr_assert(fabs(batch_loss - alone_loss) <= 1e-12 * fabs(alone_loss), "%s %s: %.17g padded, %.17g alone",
                      cells[c], what, batch_loss, alone_loss);
            for (size_t i = 0; i < batch.m.n_params; i++) {
                double g = batch.grads[i] * rows, want = alone_grads[i];
                cr_assert(fabs(g - want) <= 1e-12 * fmax(fabs(want), 1), "%s %s: gradient %zu %.17g padded, %.17g alone",
                          cells[c], what, i, g, want);
            }
            free(alone_grads);
            net_free(&batch);
        }
}

/* central differences at h, h/2, h/4, Richardson-extrapolated (as test_grad.c) */
static double numeric(Net *n, real *v) {
    real saved = *v;
    double d[3], h = 1e-3;
    for (int k = 0; k < 3; k++, h /= 2) {
        *v = saved + h; double lp = net_grad(n);
        *v = saved - h; double lm = net_grad(n);
        d[k] = (lp - lm) / (2 * h);
    }
    *v = saved;
    double r1 = (4 * d[1] - d[0]) / 3, r2 = (4 * d[2] - d[1]) / 3;
    return (16 * r2 - r1) / 15;
}

Test(mask, bce_sum_gradient_of_a_padded_batch_matches_finite_differences) {
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
        Net n;
        net_make(&n, cells[c], LOSS_BCE_SUM, T_MAX, B_SEQ);
        for (int b = 0; b < B_SEQ; b++) put_sequence(&n, LOSS_BCE_SUM, b, b, 3);
        net_grad(&n);
        real *analytic = malloc(n.m.n_params * sizeof(real));
        cr_assert_not_null(analytic);
        memcpy(analytic, n.grads, n.m.n_params * sizeof(real));
        double worst = 0;
        size_t worst_at = 0;
        for (size_t i = 0; i < n.m.n_params; i++) {
            double num = numeric(&n, &n.params[i]), a = analytic[i];
            double err = fabs(a - num) <= 1e-11 ? 0 : fabs(a - num) / fmax(fmax(fabs(a), fabs(num)), 1e-8);
            if (err > worst) worst = err, worst_at = i;
        }
        cr_log_info("%s bce_sum padded: worst relative error %.3g at parameter %zu", cells[c], worst, worst_at);
        cr_assert(worst < 1e-6, "%s: relative error %.3g at parameter %zu", cells[c], worst, worst_at);
        free(analytic);
        net_free(&n);
    }
}

Test(mask, bce_sum_is_bce_times_the_outputs) {
    Net a, b;
    net_make(&a, "lstm", LOSS_BCE, T_MAX, B_SEQ);
    net_make(&b, "lstm", LOSS_BCE_SUM, T_MAX, B_SEQ);
    for (int s = 0; s < B_SEQ; s++) {
        put_sequence(&a, LOSS_BCE, s, s, 0);
        put_sequence(&b, LOSS_BCE_SUM, s, s, 0);
    }
    double la = net_grad(&a), lb = net_grad(&b);
    cr_assert(fabs(lb - la * N_OUT) <= 1e-12 * lb, "bce_sum %.17g, bce x Y %.17g", lb, la * N_OUT);
    for (size_t i = 0; i < a.m.n_params; i++)
        cr_assert(fabs(b.grads[i] - a.grads[i] * N_OUT) <= 1e-12 * fmax(fabs(b.grads[i]), 1e-8),
                  "gradient %zu: %.17g against %.17g", i, (double)b.grads[i], (double)a.grads[i] * N_OUT);
    net_free(&a);
    net_free(&b);
}
