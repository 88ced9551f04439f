/* test_progress.c: what the progress line of `run` and `train` says of a
   run in flight (harness/runner.c), from what train_run_watched publishes:
   its step against its budget, its last loss and its own ETA. */
#include <criterion/criterion.h>
#include <string.h>

#include "../harness/runner.h"
#include "../harness/train.h"

static RunConfig adding_100(void) {
    RunConfig c;
    config_default(&c);
    snprintf(c.cell, sizeof c.cell, "lstm");
    snprintf(c.task, sizeof c.task, "adding");
    c.task_params.delay = 100;
    return c;
}

Test(progress, a_run_in_flight_says_its_step_loss_and_eta) {
    RunConfig c = adding_100();
    TrainWatch w;
    memset(&w, 0, sizeof w);
    w.step = 340;
    w.last_step = 1000;
    w.loss = 0.0521;
    w.started = 1000.0;
    char text[256];
    double share;
    /* 34 s for 340 steps: 0.1 s a step, 660 steps to go */
    progress_flight_text(&c, &w, 1034.0, 0, text, sizeof text, &share);
    cr_expect_str_eq(text, "lstm adding 100: step 340/1000, loss 0.0521, ETA 01:06");
    cr_expect_float_eq(share, 0.34, 1e-12);
    progress_flight_text(&c, &w, 1034.0, 1, text, sizeof text, &share);
    cr_expect_str_eq(text, "lstm adding 100 340/1000 0.0521");
}

Test(progress, a_run_before_its_first_step_is_starting) {
    RunConfig c = adding_100();
    TrainWatch w;
    memset(&w, 0, sizeof w);
    char text[256];
    double share = -1;
    progress_flight_text(&c, &w, 5.0, 0, text, sizeof text, &share);
    cr_expect_str_eq(text, "lstm adding 100: starting");
    cr_expect_float_eq(share, 0.0, 1e-12);
    /* a cut-short buffer stays a string */
    char tiny[8];
    progress_flight_text(&c, &w, 5.0, 0, tiny, sizeof tiny, &share);
    cr_expect_eq(strlen(tiny), sizeof tiny - 1);
}
