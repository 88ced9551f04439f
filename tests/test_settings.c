/* test_settings.c: the run-settings schema (harness/settings.c).

   Pinned: the canonical text (hence every run id and seed) of the default
   config and of a config with every field changed, and the ids of
   tests/data/small-grid.ini, all as the code wrote them before the settings
   became one table: a run id that moves would orphan every results file. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../harness/grid.h"

/* every field away from its default (steps past an int, numbers that %.17g
   writes at full length) */
static void every_field_changed(RunConfig *c, int chrono) {
    config_default(c);
    snprintf(c->task, sizeof c->task, "copy");
    c->task_params.delay = 7;
    c->task_params.n_classes = 5;
    c->task_params.form = 1997;
    c->task_params.n_symbols = 3;
    c->task_params.alphabet = 5;
    snprintf(c->cell, sizeof c->cell, "lstm-peep+cifg");
    c->hidden = 17;
    c->batch = 9;
    c->steps = 12345678901L;
    c->optimizer = OPT_SGD;
    c->lr = 0.1;
    c->momentum = 0.25;
    c->nesterov = 1;
    c->beta1 = 0.8;
    c->beta2 = 0.99;
    c->adam_eps = 1e-7;
    c->clip = 0;
    c->init_scale = 0.3;
    c->forget_bias = -2.5;
    c->forget_chrono = chrono;
    c->input_noise = 0.01;
    c->eval_every = 7;
    c->eval_size = 11;
    c->stop_when_solved = 1;
    c->diverge_factor = 0;
    c->trial = 4;
    c->seed_index = 2;
    c->experiment_seed = 5;
}

static void expect_pinned(RunConfig *c, const char *text, const char *id, unsigned long long seed) {
    char have[1024];
    config_canonical(c, have, sizeof have);
    cr_expect_str_eq(have, text);
    config_finalize(c);
    cr_expect_str_eq(c->id, id);
    cr_expect_eq((unsigned long long)c->seed, seed);
}

Test(settings, canonical_text_of_the_default_config_is_pinned) {
    RunConfig c;
    config_default(&c);
    expect_pinned(&c,
                  "task=adding delay=100 n_classes=4 form=0 n_symbols=10 alphabet=8 cell=lstm hidden=32 "
                  "batch=32 steps=1000 optimizer=adam lr=0.01 momentum=0 nesterov=0 "
                  "beta1=0.90000000000000002 beta2=0.999 adam_eps=1e-08 clip=1 init_scale=0 forget_bias=1 "
                  "input_noise=0 eval_every=100 eval_size=256 stop_when_solved=0 diverge_factor=10 "
                  "trial=-1 seed_index=0",
                  "4f465655ad8c9bda", 11692520626136830781ULL);
}

Test(settings, canonical_text_with_every_field_changed_is_pinned) {
    RunConfig c;
    every_field_changed(&c, 0);
    expect_pinned(&c,
                  "task=copy delay=7 n_classes=5 form=1997 n_symbols=3 alphabet=5 cell=lstm-peep+cifg "
                  "hidden=17 batch=9 steps=12345678901 optimizer=sgd lr=0.10000000000000001 momentum=0.25 "
                  "nesterov=1 beta1=0.80000000000000004 beta2=0.98999999999999999 "
                  "adam_eps=9.9999999999999995e-08 clip=0 init_scale=0.29999999999999999 forget_bias=-2.5 "
                  "input_noise=0.01 eval_every=7 eval_size=11 stop_when_solved=1 diverge_factor=0 "
                  "trial=4 seed_index=2",
                  "d91274e81742dd78", 13486656896438501042ULL);
    every_field_changed(&c, 1);
    expect_pinned(&c,
                  "task=copy delay=7 n_classes=5 form=1997 n_symbols=3 alphabet=5 cell=lstm-peep+cifg "
                  "hidden=17 batch=9 steps=12345678901 optimizer=sgd lr=0.10000000000000001 momentum=0.25 "
                  "nesterov=1 beta1=0.80000000000000004 beta2=0.98999999999999999 "
                  "adam_eps=9.9999999999999995e-08 clip=0 init_scale=0.29999999999999999 "
                  "forget_bias=chrono input_noise=0.01 eval_every=7 eval_size=11 stop_when_solved=1 "
                  "diverge_factor=0 trial=4 seed_index=2",
                  "174e7919c781b18d", 701726241802795359ULL);
}

Test(settings, ids_of_the_small_grid_are_pinned) {
    static const char *const IDS[] = {
        "f3fd8b535ac725fa", "021275fcecb7d037", "9bb5f0a4b4967d91", "0dca32be76ee3322",
        "8b1761ba38ef9b29", "7575e26594f5c25e", "3defa1a1fe5877a2", "49f06adad847c3ce",
        "f454792fe2fd000b", "af111f416db4ddce", "ca45971bef6cd780", "43461fa1795825f3",
        "fc7d98e64d9b3689", "a270412fbda8c70c", "562d7eb1a03c27e7", "247925a47e6ab0fa",
        "e438f399dc8614c3", "7ddc5234d7c38e7c", "2cfab320ad15d1f9", "eaa6b1d2703f5b63",
        "293f36d2172ca1cd", "248b319b8f28ac6a", "9888fec220eb09a3", "5c376c69a0e5b76d",
    };
    Experiment ex;
    char err[1024] = "";
    cr_assert_eq(grid_load("tests/data/small-grid.ini", &ex, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ex.n_runs, (int)(sizeof IDS / sizeof IDS[0]));
    for (int i = 0; i < ex.n_runs; i++) cr_expect_str_eq(ex.runs[i].id, IDS[i], "run %d", i);
    grid_free(&ex);
}
