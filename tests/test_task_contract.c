/* test_task_contract.c: what every task of the registry (task_all) must do,
   whatever it is. Each test runs once per variant: every registered task
   with each form its check() accepts at the default parameters, so a task
   added to harness/task.c is tested here with no edit. A variant must:
   - be found by its name, with every field of its Task set;
   - accept the defaults, and reject delay 0, -5, 2e9 and form 7 with a
     one-line reason;
   - accept every delay from a small minimum (at most 5) to 40 and 10 000,
     and write every entry of the first T steps of its batches (masks 0/1,
     every sequence scored, cross-entropy targets one-hot, BCE targets 0/1);
   - give batches no longer than shape()'s max_len, itself at least the
     delay (for a generated task: a data-set task's lengths are its data's);
   - generate the same batch from the same seed and another from another;
   - generate 100 000 steps in well under a second (linear in the delay);
   - have a baseline that is positive and finite, or NaN where the task
     documents none;
   - count every item of an exact output correct, with a fixed number of
     items per sequence (generated tasks: a data-set task's sequences differ
     in length), adding to the counts it is given; call an exact
     output solved and an all-zero output not.
   What is specific to one task (its shapes, baselines, layout) is in
   tests/test_task_<name>.c. */
#include "task_batch.h"

#include <criterion/parameterized.h>

#include <stdio.h>
#include <time.h>

/* the form values task.h defines (adding 1997, temporal-order 6b) */
static const int FORMS_TRIED[] = {0, 1, 1997};
#define MAX_VARIANTS 64

/* held by value: Criterion copies the parameters into each test's process */
typedef struct {
    char task[24];
    int form;
} Variant;

static void variant_params(const Variant *v, TaskParams *p) {
    task_params_default(p);
    p->form = v->form;
}

/* every registered task with every form it accepts at the defaults */
static struct criterion_test_params registry_variants(void) {
    static Variant variants[MAX_VARIANTS];
    static size_t n_variants;
    if (n_variants == 0) {
        int n;
        const Task *const *all = task_all(&n);
        for (int i = 0; i < n; i++)
            for (size_t f = 0; f < sizeof FORMS_TRIED / sizeof FORMS_TRIED[0]; f++) {
                TaskParams p;
                task_params_default(&p);
                p.form = FORMS_TRIED[f];
                char err[256];
                if (all[i]->check(&p, err, sizeof err) != 0) continue;
                if (n_variants == MAX_VARIANTS || strlen(all[i]->name) >= sizeof variants[0].task)
                    break; /* every_task_is_complete_and_found_by_its_name says which */
                Variant *v = &variants[n_variants++];
                snprintf(v->task, sizeof v->task, "%s", all[i]->name);
                v->form = FORMS_TRIED[f];
            }
    }
    return cr_make_param_array(Variant, variants, n_variants);
}

static void log_variant(const Variant *v) { cr_log_info("task=%s form=%d", v->task, v->form); }

Test(task_contract, every_task_is_complete_and_found_by_its_name) {
    int n = 0;
    const Task *const *all = task_all(&n);
    cr_assert(n > 0, "no task registered");
    for (int i = 0; i < n; i++) {
        const Task *t = all[i];
        cr_assert(t->name && t->desc && t->params && t->check && t->shape && t->generate &&
                      t->baseline && t->count && t->solved,
                  "task %d has an unset field", i);
        cr_assert(strlen(t->name) > 0 && strlen(t->name) < sizeof ((Variant *)0)->task,
                  "name '%s' empty or too long for these tests", t->name);
        cr_assert(strlen(t->desc) > 0 && strlen(t->params) > 0, "%s: empty desc or params",
                  t->name);
        cr_assert_eq(task_find(t->name), t, "%s: task_find finds another task", t->name);
        TaskParams p;
        task_params_default(&p);
        find_checked(t->name, &p);
    }
    cr_assert(n * 3 <= MAX_VARIANTS, "more variants than MAX_VARIANTS");
    cr_assert_null(task_find("nope"));
    cr_assert_null(task_find(""));
}

ParameterizedTestParameters(task_contract, check_rejects_invalid_params) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, check_rejects_invalid_params) {
    log_variant(v);
    TaskParams p;
    variant_params(v, &p);
    find_checked(v->task, &p);
    p.delay = 0;
    expect_rejected(v->task, &p, "delay 0");
    p.delay = -5;
    expect_rejected(v->task, &p, "delay -5");
    p.delay = 2000000000;
    expect_rejected(v->task, &p, "delay 2e9");
    task_params_default(&p);
    p.form = 7;
    expect_rejected(v->task, &p, "form 7");
}

/* BCE targets are probabilities of 0 or 1 (check_batch covers the others) */
static void check_bce_targets(const char *name, int T, const Batch *bt) {
    if (bt->shape.loss != LOSS_BCE && bt->shape.loss != LOSS_BCE_SUM) return;
    for (size_t i = 0; i < (size_t)T * bt->B * bt->shape.Y; i++)
        cr_assert(bt->target[i] == 0 || bt->target[i] == 1, "%s: BCE target %g", name,
                  (double)bt->target[i]);
}

/* every delay 1..40 and 10 000: accepted from a small minimum on (at most
   5, the shortest Reber string), and then every entry of the first T steps
   written */
ParameterizedTestParameters(task_contract, generates_every_delay_from_its_minimum_to_10000) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, generates_every_delay_from_its_minimum_to_10000) {
    log_variant(v);
    const Task *task = task_find(v->task);
    int first_ok = 0;
    for (int delay = 1; delay <= 41; delay++) {
        TaskParams p;
        variant_params(v, &p);
        p.delay = delay == 41 ? 10000 : delay;
        char err[256] = "";
        if (task->check(&p, err, sizeof err) != 0) {
            cr_assert(first_ok == 0 && delay <= 5, "%s form %d rejects delay %d: %s", task->name,
                      p.form, p.delay, err);
            continue;
        }
        if (!first_ok) first_ok = delay;
        Batch bt;
        batch_alloc(task, &p, 3, &bt);
        Rng rng;
        rng_seed(&rng, 1000 + delay);
        int T = task->generate(&p, &rng, 3, bt.x, bt.target, bt.mask);
        check_batch(task->name, T, &bt);
        check_bce_targets(task->name, T, &bt);
        batch_free(&bt);
    }
    cr_log_info("%s form %d: delays from %d accepted", task->name, v->form, first_ok);
}

ParameterizedTestParameters(task_contract, batches_fit_the_shape) { return registry_variants(); }

ParameterizedTest(Variant *v, task_contract, batches_fit_the_shape) {
    log_variant(v);
    TaskParams p;
    variant_params(v, &p);
    const Task *task = find_checked(v->task, &p);
    TaskShape s, again;
    task->shape(&p, &s);
    task->shape(&p, &again);
    cr_assert(!memcmp(&s, &again, sizeof s), "%s: shape() differs between calls", v->task);
    cr_assert(s.X >= 1 && s.Y >= 1, "%s: X=%d Y=%d", v->task, s.X, s.Y);
    cr_assert(s.loss == LOSS_MSE || s.loss == LOSS_XENT || s.loss == LOSS_BCE || s.loss == LOSS_BCE_SUM,
              "%s: loss %d", v->task, (int)s.loss);
    cr_assert(task->held_out || s.max_len >= p.delay, "%s: max_len %d below the delay %d", v->task, s.max_len,
              p.delay);
    Rng rng;
    rng_seed(&rng, 7);
    for (int rep = 0; rep < 20; rep++) { /* lengths drawn per batch vary */
        Batch bt;
        batch_alloc(task, &p, 5, &bt);
        int T = task->generate(&p, &rng, 5, bt.x, bt.target, bt.mask);
        check_batch(v->task, T, &bt);
        check_bce_targets(v->task, T, &bt);
        batch_free(&bt);
    }
}

ParameterizedTestParameters(task_contract, deterministic_in_the_seed) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, deterministic_in_the_seed) {
    log_variant(v);
    TaskParams p;
    variant_params(v, &p);
    check_deterministic(v->task, &p);
}

/* generation is linear in T: 100 000 steps of every task well under a
   second (quadratic work would take minutes) */
ParameterizedTestParameters(task_contract, generation_is_linear_in_the_delay) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, generation_is_linear_in_the_delay) {
    log_variant(v);
    TaskParams p;
    variant_params(v, &p);
    p.delay = 100000;
    const Task *task = find_checked(v->task, &p);
    Batch bt;
    batch_alloc(task, &p, 2, &bt);
    Rng rng;
    rng_seed(&rng, 3);
    clock_t start = clock();
    int T = task->generate(&p, &rng, 2, bt.x, bt.target, bt.mask);
    double cpu_s = (double)(clock() - start) / CLOCKS_PER_SEC;
    cr_log_info("%s form %d: T=%d in %.4f s", task->name, p.form, T, cpu_s);
    cr_assert(cpu_s < 0.5, "%s: %.2f s for T=%d", task->name, cpu_s, T);
    check_batch(task->name, T, &bt);
    batch_free(&bt);
}

ParameterizedTestParameters(task_contract, baseline_positive_or_nan) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, baseline_positive_or_nan) {
    log_variant(v);
    static const int delays[] = {5, 100, 10000};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        TaskParams p;
        variant_params(v, &p);
        p.delay = delays[i];
        const Task *task = find_checked(v->task, &p);
        double b = task->baseline(&p);
        cr_assert(isnan(b) || (isfinite(b) && b > 0), "%s delay %d: baseline %g", v->task,
                  p.delay, b);
    }
}

/* the items an output of `bt` scores, counted once onto (n_correct, n_total) */
static void count_once(const Task *task, const TaskParams *p, int T, const Batch *bt,
                       long *n_correct, long *n_total) {
    task->count(p, T, bt->B, bt->y, bt->target, bt->mask, n_correct, n_total);
}

ParameterizedTestParameters(task_contract, count_and_solved_agree_with_the_output) {
    return registry_variants();
}

ParameterizedTest(Variant *v, task_contract, count_and_solved_agree_with_the_output) {
    log_variant(v);
    TaskParams p;
    variant_params(v, &p);
    p.delay = 30;
    const Task *task = find_checked(v->task, &p);
    const int B = 64;
    Batch bt;
    batch_alloc(task, &p, B, &bt);
    Rng rng;
    rng_stream(&rng, 9, "eval");
    int T = task->generate(&p, &rng, B, bt.x, bt.target, bt.mask);

    perfect_predictor(T, &bt);
    long n_correct = 0, n_total = 0;
    count_once(task, &p, T, &bt, &n_correct, &n_total);
    cr_assert(n_total > 0 && (task->held_out || n_total % B == 0), "%s: %ld items for %d sequences", v->task, n_total,
              B);
    cr_assert_eq(n_correct, n_total, "%s: exact output %ld/%ld", v->task, n_correct, n_total);
    /* the evaluation set is scored batch by batch: counts add up */
    long once = n_total;
    count_once(task, &p, T, &bt, &n_correct, &n_total);
    cr_assert(n_total == 2 * once && n_correct == 2 * once, "%s: count does not add (%ld/%ld)",
              v->task, n_correct, n_total);
    double loss = reference_loss(bt.shape.loss, T, B, bt.shape.Y, bt.y, bt.target, bt.mask);
    cr_assert(task->solved(&p, loss, 1.0), "%s: exact output not solved (loss %g)", v->task, loss);

    constant_predictor(T, &bt, 0);
    n_correct = n_total = 0;
    count_once(task, &p, T, &bt, &n_correct, &n_total);
    cr_assert_eq(n_total, once, "%s: items depend on the output", v->task);
    loss = reference_loss(bt.shape.loss, T, B, bt.shape.Y, bt.y, bt.target, bt.mask);
    double accuracy = (double)n_correct / n_total;
    cr_log_info("%s all-zero output: loss %.4f, accuracy %.3f", v->task, loss, accuracy);
    cr_assert(!task->solved(&p, loss, accuracy), "%s: all-zero output solved", v->task);
    batch_free(&bt);
}
