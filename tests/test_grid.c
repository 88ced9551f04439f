/* test_grid.c: experiment files -> runs (harness/grid.c).

   Covers: every key reaching its RunConfig field; products (size, order: the
   first key listed varies slowest, then trials, then seeds); sections in file
   order; [experiment]; distributions (inside their bounds, integers rounded,
   loguniform uniform in log, the same draws for every point of the product,
   draws that depend only on (seed, section, key, trial)); ids and seeds that
   do not move when sections or keys are reordered or other sections added;
   repeated runs kept once; every error message, exactly, with its line
   (invisible and control characters in it shown as <U+XXXX>); long lines
   read whole, the line-length, UTF-8 and run-count limits; reading a real
   file. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/grid.h"

/* ------------------------------------------------------------------------- */
/* helpers */

static Experiment load_ok(const char *text) {
    Experiment ex;
    char err[2048] = "";
    int rc = grid_load_string("x.ini", text, &ex, err, sizeof err);
    cr_assert_eq(rc, 0, "unexpected error: %s\nfor:\n%s", err, text);
    cr_assert_str_empty(err, "an error message on success: %s", err);
    return ex;
}

/* loads text (as "x.ini"), which must fail with exactly `expected`; a failed
   load leaves nothing to free */
static void expect_error(const char *text, const char *expected) {
    Experiment ex;
    char err[2048] = "";
    int rc = grid_load_string("x.ini", text, &ex, err, sizeof err);
    cr_expect_eq(rc, -1, "no error for:\n%s", text);
    cr_expect_str_eq(err, expected, "got:\n%s\nexpected:\n%s\nfor:\n%s", err, expected, text);
    cr_expect(ex.runs == NULL && ex.text == NULL && ex.n_runs == 0, "failed load left data behind");
    grid_free(&ex);
}

static int find_canonical(const Experiment *ex, const RunConfig *c) {
    char want[1024], have[1024];
    config_canonical(c, want, sizeof want);
    for (int i = 0; i < ex->n_runs; i++) {
        config_canonical(&ex->runs[i], have, sizeof have);
        if (!strcmp(want, have)) return i;
    }
    return -1;
}

/* "key = 1,2,...,n" */
static void append_list(char *buf, size_t cap, const char *key, int n) {
    size_t len = strlen(buf);
    len += (size_t)snprintf(buf + len, cap - len, "%s = ", key);
    for (int i = 1; i <= n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d%s", i, i < n ? "," : "\n");
}

/* ------------------------------------------------------------------------- */
/* values and products */

Test(grid, every_key_reaches_its_field) {
    Experiment ex = load_ok("[grid]\n"
                            "task = recall\n"
                            "delay = 20\n"
                            "n_classes = 3\n"
                            "cell = gru\n"
                            "hidden = 12\n"
                            "batch = 4\n"
                            "steps = 77\n"
                            "optimizer = sgd\n"
                            "lr = 0.5\n"
                            "momentum = 0.9\n"
                            "nesterov = true\n"
                            "beta1 = 0.8\n"
                            "beta2 = 0.99\n"
                            "adam_eps = 1e-6\n"
                            "clip = 0\n"
                            "init_scale = 0.1\n"
                            "forget_bias = 2.5\n"
                            "input_noise = 0.01\n"
                            "eval_every = 7\n"
                            "eval_size = 33\n"
                            "stop_when_solved = 1\n");
    cr_assert_eq(ex.n_runs, 1);
    const RunConfig *c = &ex.runs[0];
    cr_expect_str_eq(c->task, "recall");
    cr_expect_eq(c->task_params.delay, 20);
    cr_expect_eq(c->task_params.n_classes, 3);
    cr_expect_str_eq(c->cell, "gru");
    cr_expect_eq(c->hidden, 12);
    cr_expect_eq(c->batch, 4);
    cr_expect_eq(c->steps, 77);
    cr_expect_eq(c->optimizer, OPT_SGD);
    cr_expect_eq(c->lr, 0.5);
    cr_expect_eq(c->momentum, 0.9);
    cr_expect_eq(c->nesterov, 1);
    cr_expect_eq(c->beta1, 0.8);
    cr_expect_eq(c->beta2, 0.99);
    cr_expect_eq(c->adam_eps, 1e-6);
    cr_expect_eq(c->clip, 0);
    cr_expect_eq(c->init_scale, 0.1);
    cr_expect_eq(c->forget_bias, 2.5);
    cr_expect_eq(c->forget_chrono, 0);
    cr_expect_eq(c->input_noise, 0.01);
    cr_expect_eq(c->eval_every, 7);
    cr_expect_eq(c->eval_size, 33);
    cr_expect_eq(c->stop_when_solved, 1);
    cr_expect_eq(c->trial, -1);
    cr_expect_eq(c->seed_index, 0);
    cr_expect_eq(c->experiment_seed, 1);
    cr_expect_str_eq(c->section, "grid");
    grid_free(&ex);

    ex = load_ok("[grid]\ntask = copy\nn_symbols = 5\nalphabet = 6\nnesterov = false\n"
                 "stop_when_solved = 0\noptimizer = adam\n");
    cr_expect_eq(ex.runs[0].task_params.n_symbols, 5);
    cr_expect_eq(ex.runs[0].task_params.alphabet, 6);
    cr_expect_eq(ex.runs[0].nesterov, 0);
    cr_expect_eq(ex.runs[0].optimizer, OPT_ADAM);
    grid_free(&ex);
}

Test(grid, an_empty_section_is_one_default_run) {
    Experiment ex = load_ok("[grid]\n");
    cr_assert_eq(ex.n_runs, 1);
    RunConfig d;
    config_default(&d);
    config_finalize(&d);
    cr_expect_str_eq(ex.runs[0].id, d.id, "the default run must be config_default's");
    cr_expect_eq(ex.runs[0].seed, d.seed);
    cr_expect_eq(ex.seed, 1);
    cr_expect_str_eq(ex.name, "x");
    cr_expect_str_eq(ex.path, "x.ini");
    cr_expect_str_eq(ex.text, "[grid]\n");
    grid_free(&ex);
}

Test(grid, named_forms_chrono_and_the_syntax_inih_allows) {
    Experiment ex = load_ok("[grid]\ntask = adding\nform = modern, 1997\n");
    cr_assert_eq(ex.n_runs, 2);
    cr_expect_eq(ex.runs[0].task_params.form, 0);
    cr_expect_eq(ex.runs[1].task_params.form, 1997);
    grid_free(&ex);
    ex = load_ok("[grid]\ntask = temporal-order\nform = 6a, 6b, 1\n");
    cr_assert_eq(ex.n_runs, 2, "6b and 1 are the same run");
    cr_expect_eq(ex.runs[0].task_params.form, 0);
    cr_expect_eq(ex.runs[1].task_params.form, 1);
    grid_free(&ex);
    ex = load_ok("[grid]\nforget_bias = 0.5, chrono\n");
    cr_assert_eq(ex.n_runs, 2);
    cr_expect(ex.runs[0].forget_bias == 0.5 && !ex.runs[0].forget_chrono);
    cr_expect(ex.runs[1].forget_chrono == 1);
    grid_free(&ex);
    /* comments, inline comments, indentation, ':' and CRLF line ends */
    ex = load_ok("\xEF\xBB\xBF; a comment\r\n# another\r\n  [grid lstm]  ; the header\r\n"
                 "    hidden = 8 ; inline\r\n\tlr: 0.5\r\n\r\n");
    cr_assert_eq(ex.n_runs, 1);
    cr_expect_eq(ex.runs[0].hidden, 8);
    cr_expect_eq(ex.runs[0].lr, 0.5);
    cr_expect_str_eq(ex.runs[0].section, "lstm");
    grid_free(&ex);
    /* a last line without '\n', and UTF-8 text */
    ex = load_ok("[experiment]\nname = Hochreiter–Schmidhuber ✓\ndescription = größer\n"
                 "[grid]\nhidden = 9");
    cr_expect_str_eq(ex.name, "Hochreiter–Schmidhuber ✓");
    cr_expect_eq(ex.runs[0].hidden, 9);
    grid_free(&ex);
}

Test(grid, product_size_and_order) {
    Experiment ex = load_ok("[grid]\ncell = lstm, gru\nbatch = 4\nhidden = 8, 16, 32\n");
    cr_assert_eq(ex.n_runs, 6);
    const char *cells[] = {"lstm", "lstm", "lstm", "gru", "gru", "gru"};
    const int hidden[] = {8, 16, 32, 8, 16, 32};
    for (int i = 0; i < 6; i++) {
        cr_expect_str_eq(ex.runs[i].cell, cells[i], "run %d", i);
        cr_expect_eq(ex.runs[i].hidden, hidden[i], "run %d", i);
        cr_expect_eq(ex.runs[i].batch, 4);
        cr_expect_eq(ex.runs[i].trial, -1);
        cr_expect_eq(ex.runs[i].seed_index, 0);
        for (int j = 0; j < i; j++) cr_expect_str_neq(ex.runs[i].id, ex.runs[j].id);
    }
    grid_free(&ex);
    /* the order follows the file, not the key table */
    ex = load_ok("[grid]\nhidden = 8, 16\ncell = lstm, gru\n");
    cr_assert_eq(ex.n_runs, 4);
    cr_expect_eq(ex.runs[1].hidden, 8);
    cr_expect_str_eq(ex.runs[1].cell, "gru");
    grid_free(&ex);
}

Test(grid, sections_in_file_order) {
    Experiment ex = load_ok("[grid small]\nhidden = 8, 16\n\n[grid]\nhidden = 64\n\n"
                            "[grid big]\nhidden = 128\nseeds = 2\n");
    cr_assert_eq(ex.n_runs, 5);
    const char *section[] = {"small", "small", "grid", "big", "big"};
    const int hidden[] = {8, 16, 64, 128, 128};
    for (int i = 0; i < 5; i++) {
        cr_expect_str_eq(ex.runs[i].section, section[i], "run %d", i);
        cr_expect_eq(ex.runs[i].hidden, hidden[i], "run %d", i);
    }
    grid_free(&ex);
}

Test(grid, seeds_repeat_every_point) {
    Experiment ex = load_ok("[experiment]\nseed = 42\n[grid]\ncell = lstm, gru\nseeds = 3\n");
    cr_assert_eq(ex.n_runs, 6);
    for (int i = 0; i < 6; i++) {
        cr_expect_str_eq(ex.runs[i].cell, i < 3 ? "lstm" : "gru");
        cr_expect_eq(ex.runs[i].seed_index, i % 3, "seeds vary fastest");
        cr_expect_eq(ex.runs[i].experiment_seed, 42);
        for (int j = 0; j < i; j++) {
            cr_expect_str_neq(ex.runs[i].id, ex.runs[j].id);
            cr_expect_neq(ex.runs[i].seed, ex.runs[j].seed);
        }
    }
    grid_free(&ex);
}

Test(grid, experiment_name_and_seed) {
    Experiment ex = load_ok("[grid]\n[experiment]\nname = study one\ndescription = what it is\n"
                            "seed = 18446744073709551615\n");
    cr_expect_str_eq(ex.name, "study one");
    cr_expect_eq(ex.seed, UINT64_MAX);
    cr_expect_eq(ex.runs[0].experiment_seed, UINT64_MAX);
    grid_free(&ex);
    char err[1024] = "";
    cr_assert_eq(grid_load_string("experiments/sub/my-study.ini", "[grid]\n", &ex, err, sizeof err), 0);
    cr_expect_str_eq(ex.name, "my-study");
    cr_expect_str_eq(ex.path, "experiments/sub/my-study.ini");
    grid_free(&ex);
    cr_assert_eq(grid_load_string("notes.txt", "[grid]\n", &ex, err, sizeof err), 0);
    cr_expect_str_eq(ex.name, "notes.txt");
    grid_free(&ex);
    /* a name taken from the file's name is held to the rules of `name =` */
    const struct { const char *path, *expected; } bad[] = {
        {"dir/.hidden.ini", "dir/.hidden.ini: the experiment name '.hidden' (from the file name) must not start "
                            "with '.' (it names the results file); set one with `name =` in [experiment]"},
        {"..ini", "..ini: the experiment name '.' (from the file name) must not start with '.' (it names the "
                  "results file); set one with `name =` in [experiment]"},
        {".ini", ".ini: the experiment name '.ini' (from the file name) must not start with '.' (it names the "
                 "results file); set one with `name =` in [experiment]"},
        {"a\xc2\xa0" "b.ini", "a<U+00A0>b.ini: the experiment name 'a<U+00A0>b' (from the file name) contains an "
                           "invisible or control character (<U+00A0>); set one with `name =` in [experiment]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(grid_load_string(bad[i].path, "[grid]\n", &ex, err, sizeof err), -1, "%s", bad[i].path);
        cr_expect_str_eq(err, bad[i].expected);
        cr_expect_null(ex.runs);
    }
    char long_path[300], expected[700];
    memset(long_path, 'n', 200);
    snprintf(long_path + 200, sizeof long_path - 200, ".ini");
    snprintf(expected, sizeof expected,
             "%s: the experiment name '%.200s' (from the file name) is longer than 127 characters; set one "
             "with `name =` in [experiment]", long_path, long_path);
    cr_expect_eq(grid_load_string(long_path, "[grid]\n", &ex, err, sizeof err), -1);
    cr_expect_str_eq(err, expected);
    cr_assert_eq(grid_load_string("dir/.hidden.ini", "[experiment]\nname = shown\n[grid]\n", &ex, err,
                                  sizeof err), 0, "%s", err);
    cr_expect_str_eq(ex.name, "shown");
    grid_free(&ex);
    grid_free(&ex); /* twice is harmless */
}

/* ------------------------------------------------------------------------- */
/* distributions */

Test(grid, distributions_inside_bounds_and_paired) {
    Experiment ex = load_ok("[experiment]\nseed = 5\n[grid]\ncell = lstm, gru\n"
                            "lr = loguniform(1e-4, 1e-1)\nhidden = loguniform(8, 256)\n"
                            "momentum = uniform(0, 0.9)\noptimizer = choice(sgd, adam)\n"
                            "forget_bias = choice(1, chrono)\ntrials = 50\nseeds = 2\n");
    cr_assert_eq(ex.n_runs, 2 * 50 * 2);
    int n_low = 0, n_sgd = 0, n_chrono = 0, n_distinct = 0;
    for (int i = 0; i < ex.n_runs; i++) {
        const RunConfig *c = &ex.runs[i];
        cr_expect_str_eq(c->cell, i < 100 ? "lstm" : "gru", "the product varies slowest");
        cr_expect_eq(c->trial, (i / 2) % 50, "then trials");
        cr_expect_eq(c->seed_index, i % 2, "then seeds");
        cr_expect(c->lr >= 1e-4 && c->lr < 1e-1, "lr %g", c->lr);
        cr_expect(c->hidden >= 8 && c->hidden <= 256, "hidden %d", c->hidden);
        cr_expect(c->momentum >= 0 && c->momentum < 0.9, "momentum %g", c->momentum);
        /* paired: every point of the product gets the same draw for a trial */
        const RunConfig *twin = &ex.runs[(i + 100) % 200];
        cr_expect_eq(c->lr, twin->lr);
        cr_expect_eq(c->hidden, twin->hidden);
        cr_expect_eq(c->momentum, twin->momentum);
        cr_expect_eq(c->optimizer, twin->optimizer);
        cr_expect_eq(c->forget_chrono, twin->forget_chrono);
        /* and so do the seeds of one trial */
        const RunConfig *other_seed = &ex.runs[i ^ 1];
        cr_expect_eq(c->lr, other_seed->lr);
        if (i < 100 && i % 2 == 0) {
            n_low += c->lr < sqrt(1e-4 * 1e-1);
            n_sgd += c->optimizer == OPT_SGD;
            n_chrono += c->forget_chrono;
            int fresh = 1;
            for (int j = 0; j < i; j += 2) fresh &= ex.runs[j].lr != c->lr;
            n_distinct += fresh;
        }
    }
    cr_expect_eq(n_distinct, 50, "every trial draws its own lr");
    /* loguniform: half the draws below the geometric mean (uniform would give 3%) */
    cr_expect(n_low >= 15 && n_low <= 35, "%d of 50 below the geometric mean", n_low);
    cr_expect(n_sgd >= 10 && n_sgd <= 40, "choice picked sgd %d times of 50", n_sgd);
    cr_expect(n_chrono >= 10 && n_chrono <= 40, "choice picked chrono %d times of 50", n_chrono);
    grid_free(&ex);
}

Test(grid, integer_draws_are_rounded) {
    Experiment ex = load_ok("[grid]\neval_every = uniform(1, 3)\nsteps = loguniform(10, 10000)\n"
                            "hidden = uniform(7.6, 8.4)\ntrials = 300\n");
    cr_assert_eq(ex.n_runs, 300);
    int count[4] = {0}, n_low = 0;
    for (int i = 0; i < ex.n_runs; i++) {
        const RunConfig *c = &ex.runs[i];
        cr_assert(c->eval_every >= 1 && c->eval_every <= 3, "eval_every %d", c->eval_every);
        count[c->eval_every]++;
        cr_expect(c->steps >= 10 && c->steps <= 10000, "steps %ld", c->steps);
        n_low += c->steps < 316;
        cr_expect_eq(c->hidden, 8, "7.6..8.4 rounds to 8, got %d", c->hidden);
    }
    /* rounding x in [1, 3): 1 from [1, 1.5), 2 from [1.5, 2.5), 3 from [2.5, 3) */
    cr_expect(count[1] > 40 && count[1] < 110, "eval_every 1: %d of 300", count[1]);
    cr_expect(count[2] > 110 && count[2] < 190, "eval_every 2: %d of 300", count[2]);
    cr_expect(count[3] > 40 && count[3] < 110, "eval_every 3: %d of 300", count[3]);
    cr_expect(n_low > 110 && n_low < 190, "%d of 300 steps below the geometric mean", n_low);
    grid_free(&ex);
}

Test(grid, draws_depend_only_on_seed_section_key_and_trial) {
    Experiment a = load_ok("[grid s]\nlr = loguniform(1e-4, 1)\ntrials = 5\n");
    /* more keys, more axes, another section before: the same lr draws */
    Experiment b = load_ok("[grid first]\nhidden = 4\n[grid s]\ncell = rnn, gru\n"
                           "momentum = uniform(0, 0.5)\nlr = loguniform(1e-4, 1)\ntrials = 5\n");
    Experiment c = load_ok("[grid t]\nlr = loguniform(1e-4, 1)\ntrials = 5\n");
    Experiment d = load_ok("[experiment]\nseed = 2\n[grid s]\nlr = loguniform(1e-4, 1)\ntrials = 5\n");
    cr_assert_eq(b.n_runs, 1 + 10);
    for (int t = 0; t < 5; t++) {
        cr_expect_eq(a.runs[t].lr, b.runs[1 + t].lr, "trial %d", t);
        cr_expect_eq(a.runs[t].lr, b.runs[6 + t].lr, "trial %d", t);
        cr_expect_neq(a.runs[t].lr, c.runs[t].lr, "another section name draws anew");
        cr_expect_neq(a.runs[t].lr, d.runs[t].lr, "another experiment seed draws anew");
    }
    grid_free(&a);
    grid_free(&b);
    grid_free(&c);
    grid_free(&d);
}

Test(grid, one_minus_loguniform_draws_near_one) {
    /* Greff et al.'s momentum: 1 - m with m log-uniform in [0.01, 1] */
    Experiment ex = load_ok("[grid]\noptimizer = sgd\nmomentum = 1 - loguniform(0.01, 1)\ntrials = 200\n");
    cr_assert_eq(ex.n_runs, 200);
    int n_above = 0;
    for (int i = 0; i < ex.n_runs; i++) {
        double m = ex.runs[i].momentum;
        cr_expect(m >= 0 && m <= 0.99, "momentum %g outside [0, 0.99]", m);
        n_above += m > 0.9; /* 1 - m < 0.1: half of the log range */
    }
    cr_expect(n_above > 70 && n_above < 130, "%d of 200 above 0.9 (log-uniform distance: about 100)", n_above);
    grid_free(&ex);
}

Test(grid, draws_per_point_give_each_point_its_own_search) {
    const char *per_point = "[grid s]\ncell = lstm, gru\nhidden = 4, 8\nlr = loguniform(1e-4, 1)\n"
                            "trials = 4\ndraws = per_point\n";
    Experiment a = load_ok(per_point);
    cr_assert_eq(a.n_runs, 2 * 2 * 4);
    /* 16 runs, 16 different draws: no two points share a search */
    for (int i = 0; i < a.n_runs; i++)
        for (int j = 0; j < i; j++) cr_expect_neq(a.runs[i].lr, a.runs[j].lr, "runs %d and %d", i, j);
    /* a value added to a list, another order, a default written out: the
       draws of the points already there stay */
    Experiment b = load_ok("[grid s]\nhidden = 8, 4\ncell = rnn, gru, lstm\nclip = 1.0\n"
                           "lr = loguniform(1e-4, 1)\ntrials = 4\ndraws = per_point\n");
    for (int i = 0; i < a.n_runs; i++)
        cr_expect_geq(find_canonical(&b, &a.runs[i]), 0, "run %d of the smaller grid is not in the larger", i);
    /* shared (the default) is what it was: every point the same draws */
    Experiment c = load_ok("[grid s]\ncell = lstm, gru\nhidden = 4, 8\nlr = loguniform(1e-4, 1)\ntrials = 4\n"
                           "draws = shared\n");
    Experiment d = load_ok("[grid s]\nlr = loguniform(1e-4, 1)\ntrials = 4\n");
    for (int i = 0; i < c.n_runs; i++) cr_expect_eq(c.runs[i].lr, d.runs[i % 4].lr, "run %d", i);
    grid_free(&a);
    grid_free(&b);
    grid_free(&c);
    grid_free(&d);
}

/* ------------------------------------------------------------------------- */
/* identity */

Test(grid, ids_do_not_move_with_order_or_other_sections) {
    Experiment a = load_ok("[experiment]\nseed = 3\n"
                           "[grid a]\ncell = lstm, gru\nhidden = 8, 16\n"
                           "[grid b]\ncell = rnn\nlr = 0.1, 0.01\nseeds = 2\n"
                           "[grid c]\nlr = loguniform(0.001, 0.1)\ntrials = 3\n");
    Experiment b = load_ok("[grid new]\ntask = copy\nsteps = 7\n"
                           "[grid c]\ntrials = 3\nlr = loguniform(0.001, 0.1)\n"
                           "[grid b]\nseeds = 2\nlr = 0.01, 0.1\ncell = rnn\n"
                           "[experiment]\nseed = 3\n"
                           "[grid renamed]\nhidden = 16, 8\ncell = gru, lstm\n");
    cr_assert_eq(a.n_runs, 4 + 4 + 3);
    cr_assert_eq(b.n_runs, 1 + 3 + 4 + 4);
    for (int i = 0; i < a.n_runs; i++) {
        int j = find_canonical(&b, &a.runs[i]);
        cr_assert(j >= 0, "run %d of a not in b", i);
        cr_expect_str_eq(a.runs[i].id, b.runs[j].id, "run %d", i);
        cr_expect_eq(a.runs[i].seed, b.runs[j].seed, "run %d", i);
        for (int k = 0; k < i; k++) cr_expect_str_neq(a.runs[i].id, a.runs[k].id);
    }
    grid_free(&a);
    grid_free(&b);
}

Test(grid, different_parameters_or_seed_different_ids) {
    Experiment a = load_ok("[grid]\nlr = 0.1\n");
    Experiment b = load_ok("[grid]\nlr = 0.1000001\n");
    Experiment c = load_ok("[experiment]\nseed = 2\n[grid]\nlr = 0.1\n");
    Experiment d = load_ok("[grid]\nlr = 1e-1\n");
    cr_expect_str_neq(a.runs[0].id, b.runs[0].id);
    cr_expect_neq(a.runs[0].seed, b.runs[0].seed);
    cr_expect_str_neq(a.runs[0].id, c.runs[0].id);
    cr_expect_neq(a.runs[0].seed, c.runs[0].seed);
    cr_expect_str_eq(a.runs[0].id, d.runs[0].id, "the same number written otherwise");
    grid_free(&a);
    grid_free(&b);
    grid_free(&c);
    grid_free(&d);
}

Test(grid, a_run_given_twice_is_kept_once) {
    Experiment ex = load_ok("[grid a]\ncell = lstm, gru\n[grid b]\ncell = gru, rnn\nhidden = 32\n"
                            "[grid c]\ncell = rnn, rnn\n");
    cr_assert_eq(ex.n_runs, 3);
    cr_expect_str_eq(ex.runs[0].cell, "lstm");
    cr_expect_str_eq(ex.runs[1].cell, "gru");
    cr_expect_str_eq(ex.runs[1].section, "a", "the first one is kept");
    cr_expect_str_eq(ex.runs[2].cell, "rnn");
    cr_expect_str_eq(ex.runs[2].section, "b");
    grid_free(&ex);
}

/* ------------------------------------------------------------------------- */
/* errors */

typedef struct {
    const char *text, *expected;
} Case;

static const Case ERRORS[] = {
    /* structure */
    {"", "x.ini:1: no [grid] section (see experiments/quickstart.ini)"},
    {"; nothing\n\n", "x.ini:1: no [grid] section (see experiments/quickstart.ini)"},
    {"[experiment]\nname = a\n", "x.ini:1: no [grid] section (see experiments/quickstart.ini)"},
    {"lr = 0.1\n[grid]\n", "x.ini:1: lr: key outside a section"},
    {"\n\n[grid]\nhidden 32\n", "x.ini:4: syntax error"},
    {"[grid\nhidden = 32\n", "x.ini:1: syntax error"},
    {"[grid ; comment]\n", "x.ini:1: syntax error"},
    {"[grid] junk\n", "x.ini:1: syntax error"},
    {"[grid]\n= 3\n", "x.ini:2: syntax error"},
    {"[grid]\nlr = 0.1\n  0.01\n", "x.ini:3: syntax error"},
    {"[grid]\nhidden 32\nlr = fast\n", "x.ini:2: syntax error"},
    {"[grid]\nlr = fast\nhidden 32\n", "x.ini:2: lr: expected a number or a distribution, got 'fast'"},
    {"[grid]\nlr = 0.1\n\nlr = 0.2\n", "x.ini:4: lr: given twice (first on line 2)"},
    {"[experiment]\nseed = 1\nseed = 2\n[grid]\n", "x.ini:3: seed: given twice (first on line 2)"},
    {"[grid]\n[grids]\n", "x.ini:2: unknown section [grids] (expected [experiment] or [grid ...])"},
    {"[Grid]\n", "x.ini:1: unknown section [Grid] (expected [experiment] or [grid ...])"},
    {"[]\n", "x.ini:1: unknown section [] (expected [experiment] or [grid ...])"},
    {"[experiment]\n[grid]\n[experiment]\n", "x.ini:3: [experiment] given twice (first on line 1)"},
    {"[grid two words]\n", "x.ini:1: [grid two words]: a section name is one word, got 'two words'"},
    {"[grid a234567890123456789012345678901234567890123456789012345678901234]\n",
     "x.ini:1: [grid a234567890123456789012345678901234567890123456789012345678901234]: section name "
     "longer than 63 characters"},
    {"[grid]\nlearning_rate = 0.1\n", "x.ini:2: learning_rate: unknown key"},
    {"[grid]\nseed = 3\n", "x.ini:2: seed: unknown key in [grid] (it is a key of [experiment])"},
    {"[experiment]\nseeds = 3\n[grid]\n", "x.ini:2: seeds: unknown key in [experiment] (it is a key of [grid])"},
    /* values */
    {"[experiment]\nname = x\n\n[grid]\ntask = adding\ncell = lstm\nlr = fast\n",
     "x.ini:7: lr: expected a number or a distribution, got 'fast'"},
    {"[grid]\nlr = nan\n", "x.ini:2: lr: expected a number or a distribution, got 'nan'"},
    {"[grid]\nlr = 0.1 0.01\n", "x.ini:2: lr: expected a number or a distribution, got '0.1 0.01'"},
    {"[grid]\nlr =\n", "x.ini:2: lr: expected a number or a distribution, got ''"},
    {"[grid]\nhidden = 3.5\n", "x.ini:2: hidden: expected an integer, got '3.5'"},
    {"[grid]\nhidden = 8, 3.5\n", "x.ini:2: hidden: expected an integer, got '3.5'"},
    {"[grid]\nsteps = 1e3\n", "x.ini:2: steps: expected an integer, got '1e3'"},
    {"[grid]\nbatch = 99999999999\n",
     "x.ini:2: batch: expected an integer from -2147483648 to 2147483647, got '99999999999'"},
    {"[grid]\ndelay = 2147483648\n", "x.ini:2: delay: expected an integer from 1 to 2147483647, got '2147483648'"},
    {"[grid]\nsteps = 9223372036854775808\n",
     "x.ini:2: steps: expected an integer from -9223372036854775808 to 9223372036854775807, got "
     "'9223372036854775808'"},
    {"[grid]\nhidden = 08x\n", "x.ini:2: hidden: expected an integer, got '08x'"},
    {"[grid]\ndelay = 0\n", "x.ini:2: delay: expected an integer >= 1, got '0'"},
    {"[grid]\nhidden = 8,,16\n", "x.ini:2: hidden: empty item in the list '8,,16'"},
    {"[grid]\nhidden = 8, 16,\n", "x.ini:2: hidden: empty item in the list '8, 16,'"},
    {"[grid]\nnesterov = yes\n", "x.ini:2: nesterov: expected 0, 1, true or false, got 'yes'"},
    {"[grid]\noptimizer = sdg\n", "x.ini:2: optimizer: expected sgd or adam, got 'sdg'"},
    {"[grid]\nforget_bias = big\n", "x.ini:2: forget_bias: expected a number, chrono or a distribution, got 'big'"},
    {"[grid]\nform = old\n", "x.ini:2: form: expected modern, 1997, 6a, 6b or an integer, got 'old'"},
    {"[grid]\ntask = abcdefghijabcdefghijabcdefghijab\n",
     "x.ini:2: task: longer than 31 characters, got 'abcdefghijabcdefghijabcdefghijab'"},
    {"[grid]\nseeds = 0\n", "x.ini:2: seeds: expected an integer >= 1, got '0'"},
    {"[grid]\nseeds = 1, 2\n", "x.ini:2: seeds: expected an integer >= 1, got '1, 2'"},
    {"[grid]\nseeds = 4294967297\n", "x.ini:2: seeds: expected an integer from 1 to 2147483647, got '4294967297'"},
    {"[grid]\nlr = uniform(0.1, 1)\ntrials = uniform(1, 5)\n",
     "x.ini:3: trials: expected an integer >= 1, got 'uniform(1, 5)'"},
    {"[experiment]\nseed = -1\n[grid]\n",
     "x.ini:2: seed: expected an integer from 0 to 18446744073709551615, got '-1'"},
    {"[experiment]\nseed = 18446744073709551616\n[grid]\n",
     "x.ini:2: seed: expected an integer from 0 to 18446744073709551615, got '18446744073709551616'"},
    /* numbers past what a double holds: not "expected a number" */
    {"[grid]\nlr = 1e-400\n", "x.ini:2: lr: '1e-400' is too small: below the smallest normal double (2.2e-308)"},
    {"[grid]\nlr = 0.1, -1e-400\n",
     "x.ini:2: lr: '-1e-400' is too small: below the smallest normal double (2.2e-308)"},
    {"[grid]\nlr = 1e-310\n", "x.ini:2: lr: '1e-310' is too small: below the smallest normal double (2.2e-308)"},
    {"[grid]\nlr = 1e400\n", "x.ini:2: lr: '1e400' is too large: above the largest double (1.8e+308)"},
    {"[grid]\nforget_bias = -1e999\n",
     "x.ini:2: forget_bias: '-1e999' is too large: above the largest double (1.8e+308)"},
    {"[grid]\nlr = uniform(1e-400, 1)\ntrials = 2\n",
     "x.ini:2: lr: bad distribution 'uniform(1e-400, 1)': '1e-400' is too small: below the smallest normal "
     "double (2.2e-308)"},
    /* names that would hide the results file */
    {"[experiment]\nname = .\n[grid]\n",
     "x.ini:2: name: must not start with '.' (it names the results file), got '.'"},
    {"[experiment]\nname = ..\n[grid]\n",
     "x.ini:2: name: must not start with '.' (it names the results file), got '..'"},
    {"[experiment]\nname = .study\n[grid]\n",
     "x.ini:2: name: must not start with '.' (it names the results file), got '.study'"},
    /* invisible, bidirectional and control characters: an error, and shown as <U+XXXX> */
    {"[experiment]\nname = my\xc2\xa0study\n[grid]\n",
     "x.ini:2: name: contains an invisible or control character (<U+00A0>), got 'my<U+00A0>study'"},
    {"[experiment]\nname = \xe2\x80\xae" "evil\n[grid]\n",
     "x.ini:2: name: contains an invisible or control character (<U+202E>), got '<U+202E>evil'"},
    {"[grid a\xe2\x80\x8b]\n",
     "x.ini:1: [grid a<U+200B>]: the section name contains an invisible or control character (<U+200B>)"},
    {"[grid]\nlr = 0.1\xc2\xa0\n", "x.ini:2: lr: expected a number or a distribution, got '0.1<U+00A0>'"},
    {"[grid]\nhidden = 8\xe2\x81\xa6\n", "x.ini:2: hidden: expected an integer, got '8<U+2066>'"},
    {"[grid]\noptimizer = adam\xef\xbb\xbf\n", "x.ini:2: optimizer: expected sgd or adam, got 'adam<U+FEFF>'"},
    {"[grid]\ntask = add\xe2\x80\x8bing\n",
     "x.ini:2: task: unknown task 'add<U+200B>ing' (try: rnnbench list tasks)"},
    {"[grid]\ncell = lstm\xe2\x80\xae\n", "x.ini:2: cell: unknown cell 'lstm<U+202E>' (try: rnnbench list cells)"},
    {"[grid]\ncell = gru\xf3\xa0\x81\x81\n", "x.ini:2: cell: unknown cell 'gru<U+E0041>' (try: rnnbench list cells)"},
    {"[grid]\nl\xe2\x80\x8dr = 0.1\n", "x.ini:2: l<U+200D>r: unknown key"},
    {"[experiment]\nname =\n[grid]\n", "x.ini:2: name: expected a name, got ''"},
    {"[experiment]\nname = a/b\n[grid]\n",
     "x.ini:2: name: must not contain '/' (it names the results file), got 'a/b'"},
    /* distributions */
    {"[grid]\nlr = loguniform(1e-4, 1e-1\ntrials = 2\n",
     "x.ini:2: lr: bad distribution 'loguniform(1e-4, 1e-1': missing ')'"},
    {"[grid]\nlr = loguniform(1e-4, 1e-1) * 2\ntrials = 2\n",
     "x.ini:2: lr: bad distribution 'loguniform(1e-4, 1e-1) * 2': text after ')'"},
    {"[grid]\nlr = loguniform((1e-4, 1e-1))\ntrials = 2\n",
     "x.ini:2: lr: bad distribution 'loguniform((1e-4, 1e-1))': '(' inside"},
    {"[grid]\nlr = loguniform(1e-4)\n",
     "x.ini:2: lr: bad distribution 'loguniform(1e-4)': loguniform takes 2 arguments (a, b), got 1"},
    {"[grid]\nlr = uniform(1, 2, 3)\n",
     "x.ini:2: lr: bad distribution 'uniform(1, 2, 3)': uniform takes 2 arguments (a, b), got 3"},
    {"[grid]\nlr = uniform( )\n",
     "x.ini:2: lr: bad distribution 'uniform( )': uniform takes 2 arguments (a, b), got 0"},
    {"[grid]\nlr = loguniform(0, 1)\n", "x.ini:2: lr: bad distribution 'loguniform(0, 1)': needs 0 < a < b"},
    {"[grid]\nlr = loguniform(0.1, 0.01)\n",
     "x.ini:2: lr: bad distribution 'loguniform(0.1, 0.01)': needs 0 < a < b"},
    {"[grid]\nmomentum = uniform(0.5, 0.5)\n",
     "x.ini:2: momentum: bad distribution 'uniform(0.5, 0.5)': needs a < b"},
    {"[grid]\nlr = uniform(x, 1)\n", "x.ini:2: lr: bad distribution 'uniform(x, 1)': expected a number, got 'x'"},
    {"[grid]\ndelay = uniform(0, 10)\n", "x.ini:2: delay: bad distribution 'uniform(0, 10)': needs a >= 1"},
    {"[grid]\nhidden = loguniform(1, 1e10)\n",
     "x.ini:2: hidden: bad distribution 'loguniform(1, 1e10)': needs b <= 2147483647"},
    {"[grid]\ncell = uniform(1, 2)\n",
     "x.ini:2: cell: bad distribution 'uniform(1, 2)': cell is not a number key, use choice(...)"},
    {"[grid]\noptimizer = choice()\n",
     "x.ini:2: optimizer: bad distribution 'choice()': choice needs at least one value"},
    {"[grid]\noptimizer = choice(sgd, adma)\ntrials = 2\n", "x.ini:2: optimizer: expected sgd or adam, got 'adma'"},
    {"[grid]\nhidden = choice(8, , 16)\ntrials = 2\n",
     "x.ini:2: hidden: empty item in the list 'choice(8, , 16)'"},
    {"[grid]\nlr = normal(0, 1)\n",
     "x.ini:2: lr: unknown distribution 'normal' (expected loguniform, uniform or choice)"},
    {"[grid]\ncell = lstm, gru\nlr = loguniform(1e-4, 1e-1)\nhidden = uniform(8, 9)\n",
     "x.ini:3: lr: a distribution needs `trials = N` in the section"},
    {"[grid a]\nlr = uniform(0.1, 1)\ntrials = 2\n[grid b]\n\nmomentum = uniform(0, 0.5)\n",
     "x.ini:6: momentum: a distribution needs `trials = N` in the section"},
    {"[grid]\ncell = lstm\ntrials = 5\n", "x.ini:3: trials: no key of the section is a distribution"},
    {"[grid]\nmomentum = 1 - uniform(0, 1)\ntrials = 2\n",
     "x.ini:2: momentum: bad distribution '1 - uniform(0, 1)': only loguniform can follow '1 -'"},
    {"[grid]\nmomentum = 1 - loguniform(0, 1)\ntrials = 2\n",
     "x.ini:2: momentum: bad distribution '1 - loguniform(0, 1)': needs 0 < a < b"},
    {"[grid]\nhidden = 1 - loguniform(0.1, 1)\ntrials = 2\n",
     "x.ini:2: hidden: bad distribution '1 - loguniform(0.1, 1)': 1 - loguniform draws fractions, hidden is an "
     "integer key"},
    {"[grid]\nmomentum = 1 - x(0.1, 1)\ntrials = 2\n",
     "x.ini:2: momentum: unknown distribution 'x' (expected loguniform, uniform or choice)"},
    {"[grid]\nmomentum = 1 - lots\n", "x.ini:2: momentum: '1 -' must be followed by loguniform(a, b), got '1 - lots'"},
    {"[grid]\nlr = 1e-3\ndraws = own\n", "x.ini:3: draws: expected shared or per_point, got 'own'"},
    /* config_check, at the line that set the key */
    {"[grid]\ncell = lstm\nhidden = 8, 0\n", "x.ini:3: hidden: must be between 1 and 1024, got 0"},
    {"[grid]\nsteps = 0\n", "x.ini:2: steps: must be between 1 and 100000000, got 0"},
    {"[grid]\nlr = 0.1, -1\n", "x.ini:2: lr: must be > 0, got -1"},
    {"[grid]\n\ntask = nosuch\n", "x.ini:3: task: unknown task 'nosuch' (try: rnnbench list tasks)"},
    {"[grid]\nform = modern\ntask = temporal-order\n",
     "x.ini:2: form: 'modern' is a form of the adding task, not of temporal-order"},
    {"[grid]\ntask = adding, temporal-order\nform = 6b\n",
     "x.ini:3: form: '6b' is a form of the temporal-order task, not of adding"},
    /* the reader */
    {"[grid]\ncell = l\xffstm\n", "x.ini:2: not valid UTF-8 text"},
    {"[grid]\n# \xc0\xaf is an overlong '/'\n", "x.ini:2: not valid UTF-8 text"},
    {"[grid]\n\n# \xed\xa0\x80 is a surrogate\n", "x.ini:3: not valid UTF-8 text"},
    {"[grid]\n# \xe2\x9c is cut short\n", "x.ini:2: not valid UTF-8 text"},
    {"\xEF\xBB\xBF[grid]\nlr = 0.1\n\xEF\xBB\xBF\n", "x.ini:3: syntax error"},
};

Test(grid, error_messages_name_the_line_the_key_and_the_value) {
    for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) expect_error(ERRORS[i].text, ERRORS[i].expected);
}

/* errors that config_check words: the line is ours, the reason theirs */
Test(grid, check_errors_point_at_the_parameter_at_fault) {
    const struct {
        const char *text;
        int line;
        const char *cell, *task;
        int delay, form;
    } cases[] = {
        {"[grid]\nhidden = 8\ncell = lstm-nxg\n", 3, "lstm-nxg", "adding", 100, 0},
        /* "task: ..." from the task's check: the parameter it names that the section set */
        {"[grid]\ntask = adding\nform = 1997\ndelay = 3\n", 4, "lstm", "adding", 3, 1997},
        {"[grid]\ndelay = 1\ntask = temporal-order\n", 2, "lstm", "temporal-order", 1, 0},
        {"[grid]\nform = 3\n", 2, "lstm", "adding", 100, 3},
        {"[grid]\ntask = copy\nform = 1\n", 3, "lstm", "copy", 100, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RunConfig c;
        config_default(&c);
        snprintf(c.cell, sizeof c.cell, "%s", cases[i].cell);
        snprintf(c.task, sizeof c.task, "%s", cases[i].task);
        c.task_params.delay = cases[i].delay;
        c.task_params.form = cases[i].form;
        char why[512], expected[600];
        cr_assert_neq(config_check(&c, why, sizeof why), 0, "case %zu must fail config_check", i);
        snprintf(expected, sizeof expected, "x.ini:%d: %s", cases[i].line, why);
        expect_error(cases[i].text, expected);
    }
}

/* "lr = v1, ..., v40" with the 40 learning rates 1e-4 * 1.2^i: 40 values need ~400 characters */
static void lr_list_40(char *buf, size_t cap, double *lr) {
    size_t len = (size_t)snprintf(buf, cap, "lr = ");
    for (int i = 0; i < 40; i++) {
        lr[i] = 1e-4 * pow(1.2, i);
        len += (size_t)snprintf(buf + len, cap - len, "%.17g%s", lr[i], i < 39 ? ", " : "");
    }
}

static void expect_lrs(const Experiment *ex, const double *lr, const char *what) {
    cr_assert_eq(ex->n_runs, 40, "%s: %d runs", what, ex->n_runs);
    for (int i = 0; i < 40; i++) cr_expect_eq(ex->runs[i].lr, lr[i], "%s: run %d", what, i);
}

Test(grid, long_lines_are_read_whole) {
    char list[2048], text[8192], pad[400];
    double lr[40];
    lr_list_40(list, sizeof list, lr);
    cr_assert_gt(strlen(list), 400, "the list is longer than inih's 200-byte line buffer");
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';

    snprintf(text, sizeof text, "[grid]\n%s\nhidden = 8\n", list);
    Experiment ex = load_ok(text);
    expect_lrs(&ex, lr, "a 40-value list");
    cr_expect_eq(ex.runs[39].hidden, 8, "the line after a long one is read");
    grid_free(&ex);
    /* the same rules as a short line: an inline comment, CRLF, ':' and indentation */
    snprintf(text, sizeof text, "[grid]\r\n   %s   ; %s\r\nhidden = 8\r\n", list, pad);
    ex = load_ok(text);
    expect_lrs(&ex, lr, "with an inline comment and CRLF");
    grid_free(&ex);
    snprintf(text, sizeof text, "[grid]\nlr:%s\n", list + strlen("lr ="));
    ex = load_ok(text);
    expect_lrs(&ex, lr, "with ':'");
    grid_free(&ex);
    /* a short value on a long line: long comments, a long header, a last line without '\n' */
    snprintf(text, sizeof text, "; %s\n[grid a]   ; %s\nhidden = 8 ; %s\n# %s", pad, pad, pad, pad);
    ex = load_ok(text);
    cr_assert_eq(ex.n_runs, 1);
    cr_expect_eq(ex.runs[0].hidden, 8);
    cr_expect_str_eq(ex.runs[0].section, "a");
    grid_free(&ex);
    snprintf(text, sizeof text, "[experiment]\ndescription = %s\n[grid]\n", pad);
    ex = load_ok(text);
    grid_free(&ex);

    /* errors on a long line are those of a short one */
    snprintf(text, sizeof text, "[grid]\n\n%s\n", pad);
    expect_error(text, "x.ini:3: syntax error");
    snprintf(text, sizeof text, "[grid]\nlr ;%s = 0.1\n", pad);
    expect_error(text, "x.ini:2: syntax error");
    snprintf(text, sizeof text, "[grid]\n= %s\n", pad);
    expect_error(text, "x.ini:2: syntax error");
    snprintf(text, sizeof text, "[grid]\n%s = 1\n", pad);
    char expected[1024];
    snprintf(expected, sizeof expected, "x.ini:2: %s: unknown key", pad);
    expect_error(text, expected);
    snprintf(text, sizeof text, "[grid]\nhidden = 8, 16, 3.5 ; %s\n", pad);
    expect_error(text, "x.ini:2: hidden: expected an integer, got '3.5'");
    snprintf(text, sizeof text, "%s\n[grid]\n", list);
    expect_error(text, "x.ini:1: lr: key outside a section");
    snprintf(text, sizeof text, "[grid]\n%s\n%s\n", list, list);
    expect_error(text, "x.ini:3: lr: given twice (first on line 2)");
    snprintf(text, sizeof text, "[grid %s]\n", pad);
    snprintf(expected, sizeof expected, "x.ini:1: [grid %s]: section name longer than 63 characters", pad);
    expect_error(text, expected);
}

Test(grid, line_length_limit) {
    /* GRID_MAX_LINE characters are read, one more is refused (not cut: a cut
       value would silently be another value) */
    size_t n = GRID_MAX_LINE + 64;
    char *text = malloc(n), *line = malloc(GRID_MAX_LINE + 2);
    cr_assert(text && line);
    memset(line, ' ', GRID_MAX_LINE + 1);
    memcpy(line, "hidden = 8", 10);
    line[GRID_MAX_LINE] = '\0';
    snprintf(text, n, "[grid]\n%s\n", line);
    Experiment ex = load_ok(text);
    cr_expect_eq(ex.runs[0].hidden, 8);
    grid_free(&ex);
    line[GRID_MAX_LINE] = ' ';
    line[GRID_MAX_LINE + 1] = '\0';
    snprintf(text, n, "[grid]\n\n%s\nhidden = 8\n", line);
    char expected[128];
    snprintf(expected, sizeof expected, "x.ini:3: line longer than %d bytes", GRID_MAX_LINE);
    expect_error(text, expected);
    free(text);
    free(line);
}

Test(grid, run_count_limit) {
    /* 7 keys of 20 values: 20^7 runs, refused before anything is expanded */
    char text[4096] = "[grid]\n";
    const char *keys[] = {"hidden", "batch", "steps", "delay", "eval_every", "eval_size", "lr"};
    for (int k = 0; k < 7; k++) append_list(text, sizeof text, keys[k], 20);
    expect_error(text, "x.ini:1: grid of 1280000000 runs exceeds the limit of 100000");

    /* more than 2^64 runs: 14 keys of 50 values */
    char huge[8192] = "\n[grid huge]\n";
    const char *more[] = {"hidden", "batch", "steps", "delay", "eval_every", "eval_size", "lr",
                          "momentum", "beta1", "beta2", "adam_eps", "clip", "init_scale", "input_noise"};
    for (int k = 0; k < 14; k++) append_list(huge, sizeof huge, more[k], 50);
    expect_error(huge, "x.ini:2: grid of more than 18446744073709551615 runs exceeds the limit of 100000");

    /* the sections add up; the message is at the section that crosses the limit */
    expect_error("[grid a]\nseeds = 60000\n[grid b]\nseeds = 60000\n",
                 "x.ini:3: grid of 120000 runs exceeds the limit of 100000");
    expect_error("[grid]\nlr = uniform(0.1, 1)\ntrials = 1000\nseeds = 101\n",
                 "x.ini:1: grid of 101000 runs exceeds the limit of 100000");
    expect_error("[grid]\nseeds = 100001\n", "x.ini:1: grid of 100001 runs exceeds the limit of 100000");
    Experiment ex = load_ok("[grid]\nseeds = 100000\n");
    cr_expect_eq(ex.n_runs, GRID_MAX_RUNS);
    cr_expect_eq(ex.runs[GRID_MAX_RUNS - 1].seed_index, GRID_MAX_RUNS - 1);
    grid_free(&ex);
}

/* ------------------------------------------------------------------------- */
/* files */

Test(grid, loads_a_file) {
    char dir[] = "/tmp/rnnbench-grid-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], err[2048] = "", expected[512];
    Experiment ex;

    snprintf(path, sizeof path, "%s/study.ini", dir);
    const char text[] = "; a study\n[grid]\ncell = rnn, lstm\n";
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    cr_assert_eq(grid_load(path, &ex, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(ex.text, text);
    cr_expect_str_eq(ex.path, path);
    cr_expect_str_eq(ex.name, "study");
    cr_expect_eq(ex.n_runs, 2);
    grid_free(&ex);

    /* a NUL byte: not a text file (the string interface cannot hold one) */
    snprintf(path, sizeof path, "%s/nul.ini", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("[grid]\nhidden = 8\0\n", 1, 19, f);
    fclose(f);
    cr_expect_eq(grid_load(path, &ex, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "%s:2: contains a NUL byte (not a text file)", path);
    cr_expect_str_eq(err, expected);
    cr_expect_null(ex.runs);
    unlink(path);

    snprintf(path, sizeof path, "%s/missing.ini", dir);
    cr_expect_eq(grid_load(path, &ex, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "%s: cannot open: No such file or directory", path);
    cr_expect_str_eq(err, expected);

    snprintf(path, sizeof path, "%s/study.ini", dir);
    unlink(path);
    rmdir(dir);
}
