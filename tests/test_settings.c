/* test_settings.c: the run-settings table (harness/settings.c) and the
   suggestions for unknown keys (harness/suggest.c).

   Pinned: the canonical text (hence every run id and seed) of the default
   config and of a config with every field changed, and the ids of
   tests/data/small-grid.ini, all as the code wrote them before the settings
   became one table: a run id that moves would orphan every results file. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../harness/grid.h"
#include "../harness/settings.h"
#include "../harness/suggest.h"

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

/* ------------------------------------------------------------------------- */
/* the table */

Test(settings, every_key_is_a_grid_key_and_its_default_reads_back_as_the_default) {
    /* one [grid] line per setting, its default as the canonical text writes
       it: the one run is the default config */
    char text[4096] = "[grid]\n";
    for (int k = 0; k < N_SETTINGS; k++) {
        char value[96];
        setting_format(k, &SETTINGS[k].def, value, sizeof value);
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s = %s\n", SETTINGS[k].key, value);
    }
    Experiment ex;
    char err[1024] = "";
    cr_assert_eq(grid_load_string("x.ini", text, &ex, err, sizeof err), 0, "%s\n%s", err, text);
    cr_assert_eq(ex.n_runs, 1);
    RunConfig def;
    config_default(&def);
    char want[1024], have[1024];
    config_canonical(&def, want, sizeof want);
    config_canonical(&ex.runs[0], have, sizeof have);
    cr_expect_str_eq(have, want);
    grid_free(&ex);
}

Test(settings, keys_are_distinct_and_every_setting_has_its_own_field_and_help) {
    for (int k = 0; k < N_SETTINGS; k++) {
        cr_expect(SETTINGS[k].help && *SETTINGS[k].help, "%s has no help", SETTINGS[k].key);
        cr_expect_eq(setting_find(SETTINGS[k].key, strlen(SETTINGS[k].key)), k);
        for (int j = 0; j < k; j++) {
            cr_expect_str_neq(SETTINGS[j].key, SETTINGS[k].key);
            cr_expect_neq(SETTINGS[j].offset, SETTINGS[k].offset, "%s and %s share a field",
                          SETTINGS[j].key, SETTINGS[k].key);
        }
    }
}

Test(settings, task_parameters_keep_their_defaults) {
    TaskParams p;
    task_params_default(&p);
    cr_expect_eq(p.delay, 100);
    cr_expect_eq(p.n_classes, 4);
    cr_expect_eq(p.form, 0);
    cr_expect_eq(p.n_symbols, 10);
    cr_expect_eq(p.alphabet, 8);
    int n_task_params = 0;
    for (int k = 0; k < N_SETTINGS; k++) n_task_params += setting_is_task_param(k);
    cr_expect_eq(n_task_params, 5);
}

/* ------------------------------------------------------------------------- */
/* suggestions for unknown keys */

Test(settings, edit_distance_counts_insertions_deletions_substitutions_and_swaps) {
    cr_expect_eq(edit_distance("seeds", "seeds", 2), 0);
    cr_expect_eq(edit_distance("sedes", "seeds", 2), 1, "a swap of neighbours is one edit");
    cr_expect_eq(edit_distance("celll", "cell", 2), 1);
    cr_expect_eq(edit_distance("hiden", "hidden", 2), 1);
    cr_expect_eq(edit_distance("lr", "xr", 2), 1);
    cr_expect_eq(edit_distance("kitten", "sitting", 5), 3);
    cr_expect_eq(edit_distance("learning_rate", "lr", 2), 3, "capped at limit + 1");
    cr_expect_eq(edit_distance("", "abc", 5), 3);
}

Test(settings, closest_name_only_when_close) {
    static const char *const NAMES[] = {"seeds", "trials", "lr", "hidden", "eval_size", "eval_every"};
    size_t n = sizeof NAMES / sizeof NAMES[0];
    cr_expect_str_eq(closest_name("sedes", NAMES, n), "seeds");
    cr_expect_str_eq(closest_name("hiden", NAMES, n), "hidden");
    cr_expect_str_eq(closest_name("eval_sise", NAMES, n), "eval_size");
    cr_expect_str_eq(closest_name("l", NAMES, n), "lr");
    cr_expect_null(closest_name("learning_rate", NAMES, n));
    cr_expect_null(closest_name("xy", NAMES, n), "2 edits from a 2-letter name is another name");
    cr_expect_null(closest_name("", NAMES, n));
}

static void expect_error(const char *text, const char *expected) {
    Experiment ex;
    char err[2048] = "";
    cr_expect_eq(grid_load_string("x.ini", text, &ex, err, sizeof err), -1, "no error for:\n%s", text);
    cr_expect_str_eq(err, expected, "for:\n%s", text);
    grid_free(&ex);
}

Test(settings, an_unknown_key_names_the_closest_known_one) {
    expect_error("[grid]\nsedes = 2\n", "x.ini:2: sedes: unknown key (did you mean 'seeds'?)");
    expect_error("[grid]\ntask = adding\nhiden = 8\n", "x.ini:3: hiden: unknown key (did you mean 'hidden'?)");
    expect_error("[grid]\nforget_bais = 2\n", "x.ini:2: forget_bais: unknown key (did you mean 'forget_bias'?)");
    expect_error("[grid]\ntrails = 2\n", "x.ini:2: trails: unknown key (did you mean 'trials'?)");
    expect_error("[experiment]\nnmae = x\n[grid]\n", "x.ini:2: nmae: unknown key (did you mean 'name'?)");
    /* nothing close: no guess */
    expect_error("[grid]\nlearning_rate = 0.1\n", "x.ini:2: learning_rate: unknown key");
    /* a key of the other section is no typo of this one's */
    expect_error("[grid]\nseed = 3\n", "x.ini:2: seed: unknown key in [grid] (it is a key of [experiment])");
    expect_error("[grid]\nname = x\n", "x.ini:2: name: unknown key in [grid] (it is a key of [experiment])");
    expect_error("[experiment]\nseeds = 3\n[grid]\n", "x.ini:2: seeds: unknown key in [experiment] (it is a key of [grid])");
}
