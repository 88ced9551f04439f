/* test_params.c: `params = N` in an experiment file (config_resolve_params,
   grid_read.c, grid_expand.c).

   Covers: for every listed cell kind on tasks of different input and output
   sizes, the chosen hidden size is the argmin of |count - N| over every
   hidden size the cell builds at (brute force through model_make, ties to
   the smaller), and the count is the model's exact one; the budget is
   recorded (params_target) and not part of the run's identity (a budget and
   its explicit hidden give one id); a list is an axis; the errors with file
   and line (params with hidden in one section, either order; a budget
   outside the cell's counts; `--set` replacing one by the other); `train`'s
   refusal of an unresolved budget. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/grid.h"
#include "../harness/settings.h"
#include "../cells/model.h"

static Experiment load_ok(const char *text) {
    Experiment ex;
    char err[2048] = "";
    int rc = grid_load_string("x.ini", text, &ex, err, sizeof err);
    cr_assert_eq(rc, 0, "unexpected error: %s\nfor:\n%s", err, text);
    return ex;
}

static void expect_error(const char *text, const char *expected) {
    Experiment ex;
    char err[2048] = "";
    int rc = grid_load_string("x.ini", text, &ex, err, sizeof err);
    cr_expect_eq(rc, -1, "no error for:\n%s", text);
    cr_expect_str_eq(err, expected, "got:\n%s\nexpected:\n%s", err, expected);
    grid_free(&ex);
}

/* the count of cell at H on task, independently of config.c: the model's own
   (0 when the cell does not build at H) */
static long model_count(const char *task_name, const TaskParams *tp, const char *cell, int L, int H) {
    const Task *task = task_find(task_name);
    cr_assert(task, "no task %s", task_name);
    TaskShape s = {0};
    task->shape(tp, &s);
    Model m;
    char why[256];
    if (model_make_stack(&m, cell, s.X, H, L, s.Y, s.loss, why, sizeof why) != 0) return 0;
    return (long)(m.n_params - m.n_fixed); /* cwrnn's zero blocks are no parameters */
}

/* the brute-force answer: argmin over every H the cell builds at, ties to the smaller */
static int brute_hidden(const char *task, const TaskParams *tp, const char *cell, int L, long want) {
    int best = 0;
    long gap_best = 0;
    for (int H = 1; H <= CONFIG_MAX_HIDDEN; H++) {
        long c = model_count(task, tp, cell, L, H);
        if (!c) continue;
        long gap = labs(c - want);
        if (!best || gap < gap_best) best = H, gap_best = gap;
    }
    return best;
}

Test(params, the_chosen_hidden_is_the_closest_count_for_every_cell_and_task) {
    /* tasks with different X and Y: adding (2 in, 1 out), copy (A + 2 in, A out), recall */
    const char *tasks[] = {"adding", "copy", "recall"};
    const long budgets[] = {60, 500, 2000, 8001, 100000};
    int checked = 0;
    for (int k = 0; k < cell_kind_count(); k++) {
        const CellOps *ops = cell_kind_at(k);
        for (int n = 0; n < ops->n_names; n++) {
            const char *cell = ops->names[n].name;
            /* one layer, or the fewest a stacked kind has (dglstm: 2); and
               every cell once more as a stack of 3 */
            const int stack_sizes[2] = {ops->min_layers > 1 ? ops->min_layers : 1, 3};
            for (int si = 0; si < 2; si++)
            for (size_t t = 0; t < sizeof tasks / sizeof *tasks; t++) {
                const int L = stack_sizes[si];
                for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
                    RunConfig c;
                    config_default(&c);
                    c.layers = L;
                    snprintf(c.task, sizeof c.task, "%s", tasks[t]);
                    snprintf(c.cell, sizeof c.cell, "%s", cell);
                    c.params = (int)budgets[b];
                    long fewest = 0;
                    for (int H = 1; H <= CONFIG_MAX_HIDDEN && !fewest; H++)
                        fewest = model_count(c.task, &c.task_params, cell, L, H);
                    char err[512] = "";
                    int rc = config_resolve_params(&c, err, sizeof err);
                    long most = config_count_params(&c, CONFIG_MAX_HIDDEN);
                    if (budgets[b] < fewest || (most && budgets[b] > most)) {
                        cr_expect_eq(rc, -1, "%s on %s: budget %ld outside %ld..%ld accepted", cell, c.task,
                                     budgets[b], fewest, most);
                        continue;
                    }
                    cr_assert_eq(rc, 0, "%s*%d on %s, %ld: %s", cell, L, c.task, budgets[b], err);
                    int want = brute_hidden(c.task, &c.task_params, cell, L, budgets[b]);
                    cr_expect_eq(c.hidden, want, "%s*%d on %s, budget %ld: hidden %d, the closest is %d", cell, L,
                                 c.task, budgets[b], c.hidden, want);
                    cr_expect_eq(c.params_target, budgets[b]);
                    cr_expect_eq(c.params, 0, "a resolved run keeps no budget to resolve");
                    cr_expect_eq(config_count_params(&c, c.hidden),
                                 model_count(c.task, &c.task_params, cell, L, c.hidden));
                    checked++;
                }
            }
        }
    }
    cr_expect_gt(checked, 50, "only %d cases checked", checked);
}

Test(params, a_tie_goes_to_the_smaller_hidden) {
    /* a budget midway between the counts at H and H + 1 (an even gap: found
       among the cells and tasks) resolves to H; one more to H + 1 */
    const char *tasks[] = {"adding", "copy", "recall"};
    int found = 0;
    for (int k = 0; k < cell_kind_count() && !found; k++)
        for (int n = 0; n < cell_kind_at(k)->n_names && !found; n++)
            for (size_t t = 0; t < 3 && !found; t++)
                for (int H = 2; H < 40 && !found; H++) {
                    RunConfig c;
                    config_default(&c);
                    snprintf(c.task, sizeof c.task, "%s", tasks[t]);
                    snprintf(c.cell, sizeof c.cell, "%s", cell_kind_at(k)->names[n].name);
                    if (cell_kind_at(k)->min_layers > 1) c.layers = cell_kind_at(k)->min_layers;
                    long lo = config_count_params(&c, H), hi = config_count_params(&c, H + 1);
                    if (!lo || !hi || (hi - lo) % 2) continue;
                    found = 1;
                    char err[256];
                    c.params = (int)((lo + hi) / 2);
                    cr_assert_eq(config_resolve_params(&c, err, sizeof err), 0, "%s", err);
                    cr_expect_eq(c.hidden, H, "%s on %s: a tie at %ld went to %d", c.cell, c.task, (lo + hi) / 2,
                                 c.hidden);
                    c.params = (int)((lo + hi) / 2 + 1);
                    cr_assert_eq(config_resolve_params(&c, err, sizeof err), 0, "%s", err);
                    cr_expect_eq(c.hidden, H + 1);
                }
    cr_expect(found, "no cell has two counts an even number apart");
}

Test(params, a_budget_is_an_axis_and_resolves_per_cell) {
    Experiment ex = load_ok("[grid]\ntask = adding\ncell = rnn, lstm\nparams = 300, 1200\nseeds = 2\n");
    cr_assert_eq(ex.n_runs, 8);
    /* rnn 300 -> 15 (286), rnn 1200 -> 33 (1222), lstm 300 -> 7 (288), lstm 1200 -> 16 (1233) */
    const int want[4] = {15, 33, 7, 16};
    const long budget[4] = {300, 1200, 300, 1200};
    for (int i = 0; i < 8; i++) {
        cr_expect_eq(ex.runs[i].hidden, want[i / 2], "run %d: hidden %d", i, ex.runs[i].hidden);
        cr_expect_eq(ex.runs[i].params_target, budget[i / 2]);
        cr_expect_eq(ex.runs[i].params, 0);
    }
    grid_free(&ex);
}

Test(params, a_distribution_of_budgets_is_drawn_and_resolved) {
    Experiment ex = load_ok("[grid]\ntask = adding\ncell = lstm\nparams = uniform(200, 5000)\ntrials = 5\n");
    cr_assert_eq(ex.n_runs, 5);
    for (int i = 0; i < 5; i++) {
        const RunConfig *c = &ex.runs[i];
        cr_expect(c->params_target >= 200 && c->params_target <= 5000);
        cr_expect_eq(c->hidden, brute_hidden("adding", &c->task_params, "lstm", 1, c->params_target));
    }
    grid_free(&ex);
}

Test(params, the_budget_is_no_part_of_the_run_identity) {
    /* decided (experiments/README.md): the run is what is trained; a budget
       that resolves to hidden 7 trains the very run `hidden = 7` names, with
       the same id, seed and weights. The budget is recorded beside it. */
    Experiment a = load_ok("[grid]\ntask = adding\ncell = lstm\nparams = 300\n");
    Experiment b = load_ok("[grid]\ntask = adding\ncell = lstm\nhidden = 7\n");
    cr_assert_eq(a.n_runs, 1);
    cr_assert_eq(b.n_runs, 1);
    cr_expect_eq(a.runs[0].hidden, 7);
    cr_expect_str_eq(a.runs[0].id, b.runs[0].id);
    cr_expect_eq(a.runs[0].seed, b.runs[0].seed);
    cr_expect_eq(a.runs[0].params_target, 300);
    cr_expect_eq(b.runs[0].params_target, 0);
    char ca[1024], cb[1024];
    config_canonical(&a.runs[0], ca, sizeof ca);
    config_canonical(&b.runs[0], cb, sizeof cb);
    cr_expect_str_eq(ca, cb);
    cr_expect_null(strstr(ca, "params="), "the canonical text names the budget: %s", ca);
    /* two budgets that resolve alike are one run, kept once */
    Experiment c = load_ok("[grid]\ntask = adding\ncell = lstm\nparams = 290, 300\n");
    cr_expect_eq(c.n_runs, 1);
    grid_free(&a);
    grid_free(&b);
    grid_free(&c);
}

Test(params, the_errors_name_file_and_line) {
    expect_error("[grid]\ncell = lstm\nhidden = 8\nparams = 300\n",
                 "x.ini:4: params: not with hidden (line 3) in one section: give a hidden size or a parameter "
                 "budget");
    expect_error("[grid]\nparams = 300\ncell = lstm\nhidden = 8, 16\n",
                 "x.ini:4: hidden: not with params (line 2) in one section: give a hidden size or a parameter "
                 "budget");
    /* lstm on adding: 4(H^2 + 2H + H) + H + 1 = 4H^2 + 13H + 1: 18 at H = 1, 4207617 at H = 1024 */
    expect_error("[grid]\ntask = adding\ncell = lstm\n\nparams = 10\n",
                 "x.ini:5: params: 10 is outside what lstm can have on adding: 18 (hidden 1) to 4207617 "
                 "(hidden 1024)");
    expect_error("[grid]\ntask = adding\ncell = lstm\nparams = 300, 5000000\n",
                 "x.ini:4: params: 5000000 is outside what lstm can have on adding: 18 (hidden 1) to 4207617 "
                 "(hidden 1024)");
    expect_error("[grid]\ncell = lstm\nparams = -3\n", "x.ini:3: params: must be >= 0, got -3");
    expect_error("[grid]\ncell = lstm\nparams = many\n",
                 "x.ini:3: params: expected an integer, got 'many'");
    /* params = 0 is off, its default, and goes with hidden */
    Experiment off = load_ok("[grid]\ncell = rnn\nhidden = 8\nparams = 0\n");
    cr_expect_eq(off.runs[0].hidden, 8);
    cr_expect_eq(off.runs[0].params_target, 0);
    grid_free(&off);
    /* in separate sections they mix freely */
    Experiment ex = load_ok("[grid a]\ncell = rnn\nhidden = 8\n[grid b]\ncell = rnn\nparams = 300\n");
    cr_expect_eq(ex.n_runs, 2);
    grid_free(&ex);
}

Test(params, set_replaces_the_other_key) {
    char path[] = "/tmp/rnnbench-params-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "[grid]\ntask = adding\ncell = lstm\nhidden = 8\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    Experiment ex;
    char err[1024] = "";
    const char *set[] = {"params=300"};
    int rc = grid_load_set(path, set, 1, &ex, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(ex.n_runs, 1);
    cr_expect_eq(ex.runs[0].hidden, 7);
    cr_expect_eq(ex.runs[0].params_target, 300);
    grid_free(&ex);
    const char *back[] = {"params=300", "hidden=12"};
    rc = grid_load_set(path, back, 2, &ex, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(ex.runs[0].hidden, 12);
    cr_expect_eq(ex.runs[0].params_target, 0);
    grid_free(&ex);
    unlink(path);
}

Test(params, an_unresolved_budget_is_refused_by_the_check) {
    /* `train --params` would otherwise train at the default hidden size */
    RunConfig c;
    config_default(&c);
    c.params = 300;
    char err[512];
    cr_expect_eq(config_check(&c, err, sizeof err), -1);
    cr_expect(!strncmp(err, "params: ", 8), "%s", err);
}
