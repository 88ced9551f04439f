/* test_task_reber.c: what only the embedded Reber grammar has (harness/
   tasks/reber.c): its shape and absent baseline, the minimum inner length,
   strings checked by an acceptor written here, uniform strings given the
   length, and the branch as the one prediction that needs memory. */
#include "task_cases.h"

static Case cases[] = {
    {"reber", 20, 0, 4, 7, 7, LOSS_BCE, 23},
};

/* tasks.md gives no baseline for Reber */
static double closed_form(const Case *c) {
    (void)c;
    return NAN;
}

/* all-zero logits serve as its trivial predictor */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0);
}

TASK_CASE_TESTS(reber, cases, closed_form, trivial, 1)

Test(reber, rejects_an_inner_string_shorter_than_5) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 4;
    expect_rejected("reber", &p, "delay 4");
}

/* an acceptor of the embedded Reber grammar written independently of
   reber.c: transitions as (state, symbol) -> state */
static const char *const reber_symbols = "BTPSXVE";
static int reber_accepts_inner(const char *s, int len) {
    static const struct { int from; char sym; int to; } edges[] = {
        {0, 'B', 1}, {1, 'T', 2}, {1, 'P', 3}, {2, 'S', 2}, {2, 'X', 4}, {3, 'T', 3},
        {3, 'V', 5}, {4, 'X', 3}, {4, 'S', 6}, {5, 'P', 4}, {5, 'V', 6}, {6, 'E', 7},
    };
    int state = 0;
    for (int i = 0; i < len; i++) {
        int next = -1;
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++)
            if (edges[e].from == state && edges[e].sym == s[i]) next = edges[e].to;
        if (next < 0) return 0;
        state = next;
    }
    return state == 7;
}

/* decodes sequence b of a reber batch into a string and checks it: the
   embedded form, the inner string in the grammar, each next symbol among the
   targets, the branch alone after the inner E */
static void check_reber_string(const Batch *bt, int T, int b, int inner_len, char *str) {
    const int B = bt->B, Y = 7;
    for (int t = 0; t < T; t++) str[t] = reber_symbols[one_hot_index(AT(bt->x, Y, t, b), Y)];
    str[T] = 0;
    cr_assert_eq(T, inner_len + 3);
    cr_assert(str[0] == 'B' && (str[1] == 'T' || str[1] == 'P') && str[T - 1] == str[1],
              "not embedded: %s", str);
    cr_assert(reber_accepts_inner(str + 2, inner_len), "inner string not Reber: %s", str);
    for (int t = 0; t + 1 < T; t++) {
        int next = (int)(strchr(reber_symbols, str[t + 1]) - reber_symbols);
        cr_assert_eq(AT(bt->target, Y, t, b)[next], 1, "%s: symbol %d not a target", str, t + 1);
    }
    const real *after_e = AT(bt->target, Y, T - 2, b), *last = AT(bt->target, Y, T - 1, b);
    for (int k = 0; k < Y; k++) {
        cr_assert_eq(after_e[k], reber_symbols[k] == str[1], "after the inner E: only the branch");
        cr_assert_eq(last[k], reber_symbols[k] == 'E', "after the branch: only E");
    }
}

Test(reber, strings_of_the_embedded_grammar) {
    static const int inner_lens[] = {5, 6, 9, 40, 300, 3000};
    for (size_t i = 0; i < sizeof inner_lens / sizeof inner_lens[0]; i++) {
        TaskParams p;
        task_params_default(&p);
        p.delay = inner_lens[i];
        const int B = p.delay > 100 ? 4 : 100;
        Batch bt;
        int T = generate_case("reber", &p, B, 11, &bt);
        char *str = malloc((size_t)T + 1);
        for (int b = 0; b < B; b++) check_reber_string(&bt, T, b, p.delay, str);
        cr_log_info("reber T=%d: %.60s", p.delay, str);
        free(str);
        batch_free(&bt);
    }
}

/* conditioned on the length, inner strings are equally likely: the three
   of length 6 (BTSXSE, BPTVVE, BPVPSE) each about a third */
Test(reber, inner_strings_uniform_given_the_length) {
    static const char *const strings[] = {"BTSXSE", "BPTVVE", "BPVPSE"};
    TaskParams p;
    task_params_default(&p);
    p.delay = 6;
    const int B = 3000;
    Batch bt;
    int T = generate_case("reber", &p, B, 12, &bt);
    int counts[3] = {0};
    char str[16];
    for (int b = 0; b < B; b++) {
        check_reber_string(&bt, T, b, 6, str);
        int found = 0;
        for (int k = 0; k < 3; k++)
            if (!strncmp(str + 2, strings[k], 6)) {
                counts[k]++;
                found = 1;
            }
        cr_assert(found, "unexpected inner string %s", str);
    }
    double sd = sqrt(B * (1.0 / 3) * (2.0 / 3));
    for (int k = 0; k < 3; k++)
        cr_assert(fabs(counts[k] - B / 3.0) < 5 * sd, "%s drawn %d times of %d", strings[k],
                  counts[k], B);
    batch_free(&bt);
}

/* knowing the grammar but not the branch (both T and P after the inner E)
   scores no string */
Test(reber, forgetting_the_branch_fails_every_string) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 12;
    const int B = 30, Y = 7;
    Batch bt;
    int T = generate_case("reber", &p, B, 13, &bt);
    for (size_t i = 0; i < (size_t)T * B * Y; i++) bt.y[i] = bt.target[i] > 0.5f ? 5 : -5;
    for (int b = 0; b < B; b++) AT(bt.y, Y, T - 2, b)[1] = AT(bt.y, Y, T - 2, b)[2] = 5;
    long n_correct = 0, n_total = 0;
    task_find("reber")->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert_eq(n_total, B);
    cr_assert_eq(n_correct, 0);
    batch_free(&bt);
}

