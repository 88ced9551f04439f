/* test_protocol.c: the training options of Greff et al.'s protocol that are
   settings of ADDED_SETTINGS (harness/settings.h): lr_scale_momentum,
   patience (early stopping on the evaluation loss) and max_epochs (passes
   over a data-set task's train split); and that such settings, at their
   default, leave the canonical text (run ids, seeds) as it was. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/config.h"
#include "../harness/optim.h"
#include "../harness/settings.h"
#include "../harness/train.h"

Test(protocol, added_settings_at_their_default_leave_the_id_alone) {
    RunConfig c;
    config_default(&c);
    char text[2048];
    config_canonical(&c, text, sizeof text);
    cr_assert_null(strstr(text, "patience"), "%s", text);
    cr_assert_null(strstr(text, "max_epochs"));
    cr_assert_null(strstr(text, "lr_scale_momentum"));
    cr_assert_null(strstr(text, "sum_over_time"));
    config_finalize(&c);
    char id[17];
    snprintf(id, sizeof id, "%s", c.id);
    c.patience = 3;
    config_finalize(&c);
    config_canonical(&c, text, sizeof text);
    cr_assert_not_null(strstr(text, " patience=3 trial="), "%s", text);
    cr_assert_str_neq(c.id, id);
    c.patience = 0;
    config_finalize(&c);
    cr_assert_str_eq(c.id, id);
}

Test(protocol, lr_scale_momentum_is_the_step_times_one_minus_momentum) {
    RunConfig scaled, plain;
    config_default(&scaled);
    scaled.optimizer = OPT_SGD;
    scaled.momentum = 0.75;
    scaled.nesterov = 1;
    scaled.lr = 0.1;
    scaled.lr_scale_momentum = 1;
    plain = scaled;
    plain.lr_scale_momentum = 0;
    plain.lr = 0.1 * (1 - 0.75);
    enum { N = 5 };
    real pa[N] = {1, -2, 3, 0.5, 0}, pb[N], sa[N], sb[N];
    memcpy(pb, pa, sizeof pa);
    Optimizer a, b;
    optim_init(&a, &scaled, N, sa);
    optim_init(&b, &plain, N, sb);
    for (int step = 0; step < 4; step++) {
        real g[N];
        for (int k = 0; k < N; k++) g[k] = (real)(0.3 * (k + 1) - step);
        optim_step(&a, pa, g);
        optim_step(&b, pb, g);
    }
    cr_assert(!memcmp(pa, pb, sizeof pa), "scaled and pre-scaled learning rates differ");
    /* Adam has no momentum to scale by: unchanged */
    RunConfig adam = scaled;
    adam.optimizer = OPT_ADAM;
    Optimizer o;
    real state[2 * N];
    optim_init(&o, &adam, N, state);
    cr_assert(o.lr == 0.1);
}

static RunConfig jsb_config(void) {
    RunConfig c;
    config_default(&c);
    snprintf(c.task, sizeof c.task, "jsb");
    snprintf(c.cell, sizeof c.cell, "lstm");
    c.hidden = 16;
    c.batch = 8;
    c.steps = 400;
    c.eval_every = 10;
    c.optimizer = OPT_SGD;
    c.lr = 0.5;
    c.momentum = 0.9;
    c.nesterov = 1;
    config_finalize(&c);
    return c;
}

/* patience p: the run ends at the p-th evaluation in a row without a new
   best (or at its budget when that never happens), and its test loss is
   the one of the best evaluation. With lr 0.5 the validation loss wobbles:
   at patience 1 and 2 these runs stop early (float, oneDNN: at steps 40
   and 140). */
Test(protocol, early_stopping_ends_patience_evaluations_after_the_best) {
    int stopped_early = 0;
    for (int patience = 1; patience <= 2; patience++) {
        RunConfig c = jsb_config();
        c.patience = patience;
        RunResult r;
        cr_assert_eq(train_run(&c, &r, NULL), 0, "%s", r.error);
        int best = 0, since = 0, stop_at = -1;
        for (int k = 1; k < r.n_evals && stop_at < 0; k++) {
            if (r.eval_loss[k] < r.eval_loss[best]) best = k, since = 0;
            else if (++since >= patience) stop_at = k;
        }
        if (stop_at >= 0) {
            cr_assert_eq(stop_at, r.n_evals - 1, "patience %d: evaluation %d should have been the last of %d",
                         patience, stop_at, r.n_evals);
            cr_assert_eq(best, r.n_evals - 1 - patience);
            cr_assert_eq(r.steps_done, r.eval_step[r.n_evals - 1]);
            stopped_early += r.steps_done < c.steps;
        } else {
            cr_assert_eq(r.steps_done, c.steps, "patience %d: stopped with no reason", patience);
        }
        cr_assert_eq(r.test_step, r.eval_step[best]);
        cr_assert(r.best_eval_loss == r.eval_loss[best]);
        cr_assert_str_eq(r.status, "done");
        run_result_free(&r);
    }
    cr_assert_gt(stopped_early, 0, "neither run stopped early: the test checks nothing");
}

/* max_epochs 2 at batch 8: 2 x ceil(229 / 8) = 58 steps, evaluated at the end */
Test(protocol, max_epochs_bounds_the_steps_of_a_data_set_task) {
    RunConfig c = jsb_config();
    c.max_epochs = 2;
    c.lr = 0.01;
    RunResult r;
    cr_assert_eq(train_run(&c, &r, NULL), 0, "%s", r.error);
    cr_assert_eq(r.steps_done, 58);
    cr_assert_eq(r.eval_step[r.n_evals - 1], 58);
    run_result_free(&r);
}

Test(protocol, max_epochs_on_a_generated_task_is_refused) {
    RunConfig c;
    config_default(&c);
    c.max_epochs = 2;
    config_finalize(&c);
    RunResult r;
    cr_assert_eq(train_run(&c, &r, NULL), -1);
    cr_assert_str_eq(r.status, "failed");
    cr_assert(strstr(r.error, "max_epochs: adding generates its sequences"), "%s", r.error);
    run_result_free(&r);
}

/* what a progress display reads of a run in flight: its last step, budget
   and loss (max_epochs 2 makes the budget 58 steps, not c.steps) */
Test(protocol, a_watched_run_publishes_its_step_budget_and_loss) {
    RunConfig c = jsb_config();
    c.max_epochs = 2;
    c.lr = 0.01;
    TrainWatch watch;
    memset(&watch, 0, sizeof watch);
    RunResult r;
    cr_assert_eq(train_run_watched(&c, &r, NULL, &watch), 0, "%s", r.error);
    cr_expect_eq(watch.last_step, 58);
    cr_expect_eq(watch.step, r.steps_done);
    cr_expect(watch.loss == (double)r.train_loss[r.steps_done - 1] ||
                  (float)watch.loss == r.train_loss[r.steps_done - 1],
              "loss %g, the run's last %g", (double)watch.loss, (double)r.train_loss[r.steps_done - 1]);
    cr_expect_gt(watch.started, 0);
    run_result_free(&r);
}
