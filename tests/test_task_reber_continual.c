/* test_task_reber_continual.c: what only the continual embedded Reber
   grammar has (harness/tasks/reber_continual.c): streams of T + 4 symbols
   parsed by an acceptor of back-to-back embedded strings written here (not
   from reber_grammar.c), every target the acceptor's set of legal next
   symbols, whole strings, no separator and no reset within a stream, the
   fair-coin draw conditioned on the length, the baseline against a renewal
   computation over string lengths, and the count and solved criterion. */
#include "task_cases.h"

#define NAME "reber-continual"
#define SYMBOLS 7
static const char *const symbols = "BTPSXVE";

static Case cases[] = {
    {NAME, 20, 0, 4, 7, 7, LOSS_BCE, 24},
    {NAME, 100, 0, 4, 7, 7, LOSS_BCE, 104},
};

/* the inner Reber grammar as (state, symbol) -> state; 7 is past the E */
static const struct { int from; char sym; int to; } edges[] = {
    {0, 'B', 1}, {1, 'T', 2}, {1, 'P', 3}, {2, 'S', 2}, {2, 'X', 4}, {3, 'T', 3},
    {3, 'V', 5}, {4, 'X', 3}, {4, 'S', 6}, {5, 'P', 4}, {5, 'V', 6}, {6, 'E', 7},
};
#define N_EDGES (sizeof edges / sizeof edges[0])
#define INNER_END 7

/* ---- the closed form of the baseline, from docs/tasks.md ---- */

/* An embedded string of length l has an inner string of m = l - 4 symbols,
   m - 2 of them at a fair fork, and a fair branch: P(l) = c_m 2^-(m - 2),
   with c_m the number of inner strings of length m, counted on the edges
   (as c_m 2^-m, which neither overflows nor loses precision). */
static void string_length_probabilities(int max_len, double *p_len) {
    double ways[INNER_END + 1] = {1}, next[INNER_END + 1];
    for (int l = 0; l <= max_len; l++) p_len[l] = 0;
    for (int m = 1; m + 4 <= max_len; m++) {
        memset(next, 0, sizeof next);
        for (size_t e = 0; e < N_EDGES; e++) next[edges[e].to] += ways[edges[e].from] / 2;
        memcpy(ways, next, sizeof ways);
        p_len[m + 4] = 4 * ways[INNER_END];
    }
}

/* E[number of strings] in a fair-coin stream conditioned to end at a string
   boundary after n symbols: u(n) = sum_l P(l) u(n - l) is the chance of a
   boundary at n, k(n) = sum_l P(l) (k(n - l) + u(n - l)) the same weighted
   by the strings so far; the expectation is k(n) / u(n). */
static double expected_strings(int n) {
    double *p_len = malloc(((size_t)n + 1) * sizeof(double));
    double *u = calloc((size_t)n + 1, sizeof(double)), *k = calloc((size_t)n + 1, sizeof(double));
    cr_assert(p_len && u && k, "out of memory");
    string_length_probabilities(n, p_len);
    u[0] = 1;
    for (int i = 1; i <= n; i++)
        for (int l = 1; l <= i; l++) {
            u[i] += p_len[l] * u[i - l];
            k[i] += p_len[l] * (k[i - l] + u[i - l]);
        }
    double e = k[n] / u[n];
    free(p_len);
    free(u);
    free(k);
    return e;
}

/* tasks.md: ln 2 on each of T and P after each inner E, over 7 (T + 4) outputs */
static double closed_form(const Case *c) {
    int n = c->delay + 4;
    return 2 * log(2.0) * expected_strings(n) / (7.0 * n);
}

/* ---- an acceptor of embedded strings back to back ---- */

enum { EXPECT_B, EXPECT_BRANCH, INNER, EXPECT_CLOSE, EXPECT_E };
typedef struct {
    int phase, inner;
    char branch;
    int strings; /* strings begun */
} Parse;

/* 1 when symbol s may follow; advances the parse */
static int parse_step(Parse *ps, char s) {
    switch (ps->phase) {
    case EXPECT_B:
        if (s != 'B') return 0;
        ps->strings++;
        ps->phase = EXPECT_BRANCH;
        return 1;
    case EXPECT_BRANCH:
        if (s != 'T' && s != 'P') return 0;
        ps->branch = s;
        ps->phase = INNER;
        ps->inner = 0;
        return 1;
    case INNER:
        for (size_t e = 0; e < N_EDGES; e++)
            if (edges[e].from == ps->inner && edges[e].sym == s) {
                ps->inner = edges[e].to;
                if (ps->inner == INNER_END) ps->phase = EXPECT_CLOSE;
                return 1;
            }
        return 0;
    case EXPECT_CLOSE:
        if (s != ps->branch) return 0;
        ps->phase = EXPECT_E;
        return 1;
    default:
        if (s != 'E') return 0;
        ps->phase = EXPECT_B;
        return 1;
    }
}

/* the symbols that may follow, found by trying each on a copy */
static void legal_next(const Parse *ps, int legal[SYMBOLS]) {
    for (int k = 0; k < SYMBOLS; k++) {
        Parse trial = *ps;
        legal[k] = parse_step(&trial, symbols[k]);
    }
}

/* Decodes stream b into str (T symbols) and checks it: one-hot inputs, a
   stream of whole embedded strings with nothing between them, the mask 1 and
   the target the legal next symbols at every step. Returns the strings. */
static int check_stream(const Batch *bt, int T, int b, char *str) {
    const int B = bt->B, Y = SYMBOLS;
    Parse ps = {EXPECT_B, 0, 0, 0};
    for (int t = 0; t < T; t++) {
        str[t] = symbols[one_hot_index(AT(bt->x, Y, t, b), Y)];
        cr_assert(parse_step(&ps, str[t]), "symbol %d of '%.*s' breaks the grammar", t, t + 1,
                  str);
        int legal[SYMBOLS];
        legal_next(&ps, legal);
        for (int k = 0; k < Y; k++)
            cr_assert_eq(AT(bt->target, Y, t, b)[k], legal[k],
                         "step %d ('%.*s'): target of %c is %g", t, t + 1, str, symbols[k],
                         (double)AT(bt->target, Y, t, b)[k]);
        cr_assert_eq(bt->mask[(size_t)t * B + b], 1);
    }
    str[T] = 0;
    cr_assert_eq(ps.phase, EXPECT_B, "the stream ends inside a string: ...%s", str + (T > 40 ? T - 40 : 0));
    return ps.strings;
}

/* ---- the case tests ---- */

/* The baseline's predictor: the targets exactly, except after each inner E
   (input E, target T or P), where it answers T and P at 1/2 (logit 0). */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    const int B = bt->B, Y = SYMBOLS;
    perfect_predictor(T, bt);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const real *target = AT(bt->target, Y, t, b);
            if (AT(bt->x, Y, t, b)[6] == 1 && (target[1] == 1 || target[2] == 1))
                AT(bt->y, Y, t, b)[1] = AT(bt->y, Y, t, b)[2] = 0;
        }
}

TASK_CASE_TESTS(reber_continual, cases, closed_form, trivial, 1)

Test(reber_continual, rejects_a_stream_shorter_than_one_string) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 4;
    expect_rejected(NAME, &p, "delay 4");
}

/* every stream parses, whole strings back to back; the longer ones hold
   many strings in one sequence (no reset between them) */
Test(reber_continual, streams_of_whole_embedded_strings_back_to_back) {
    static const int delays[] = {5, 6, 7, 14, 40, 300, 3000};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        TaskParams p;
        task_params_default(&p);
        p.delay = delays[i];
        const int B = p.delay > 100 ? 8 : 100;
        Batch bt;
        int T = generate_case(NAME, &p, B, 21, &bt);
        cr_assert_eq(T, p.delay + 4);
        char *str = malloc((size_t)T + 1);
        cr_assert(str, "out of memory");
        int fewest = T, most = 0;
        for (int b = 0; b < B; b++) {
            int n = check_stream(&bt, T, b, str);
            fewest = n < fewest ? n : fewest;
            most = n > most ? n : most;
        }
        cr_log_info("delay %d: %d to %d strings a stream; %.60s", p.delay, fewest, most, str);
        if (p.delay < 14) cr_assert_eq(most, 1, "delay %d: %d strings", p.delay, most);
        if (p.delay >= 300) cr_assert(fewest >= p.delay / 24, "delay %d: only %d strings", p.delay, fewest);
        free(str);
        batch_free(&bt);
    }
}

/* Conditioning on the length: at T + 4 = 18 a stream is either two of the
   shortest strings (9 + 9) or one of inner length 14, with odds P(9)^2 :
   P(18) under the fair coin. */
Test(reber_continual, two_short_strings_or_one_long_with_the_fair_coins_odds) {
    double p_len[19];
    string_length_probabilities(18, p_len);
    double p_two = p_len[9] * p_len[9] / (p_len[9] * p_len[9] + p_len[18]);
    TaskParams p;
    task_params_default(&p);
    p.delay = 14;
    const int B = 4000;
    Batch bt;
    int T = generate_case(NAME, &p, B, 22, &bt);
    char str[32];
    int n_two = 0;
    for (int b = 0; b < B; b++) n_two += check_stream(&bt, T, b, str) == 2;
    double sd = sqrt(B * p_two * (1 - p_two));
    cr_log_info("two strings: %d of %d, expected %.1f", n_two, B, B * p_two);
    cr_assert(p_two > 0.05 && p_two < 0.95, "P(two strings) = %g tests little", p_two);
    cr_assert(fabs(n_two - B * p_two) < 5 * sd, "two strings in %d of %d, expected %.1f", n_two,
              B, B * p_two);
    batch_free(&bt);
}

/* Far from a stream's end the conditioning fades: the strings there are the
   fair coin's, their lengths distributed as P(l), the branch even; and the
   mean count of strings is the renewal computation's. */
Test(reber_continual, long_streams_draw_the_fair_coins_strings) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 4000;
    const int B = 40, T_len = p.delay + 4, far = T_len - 600;
    Batch bt;
    int T = generate_case(NAME, &p, B, 23, &bt);
    char *str = malloc((size_t)T + 1);
    cr_assert(str, "out of memory");
    enum { MAX_L = 30 };
    double p_len[MAX_L + 1];
    string_length_probabilities(MAX_L, p_len);
    long len_counts[MAX_L + 2] = {0}, n_strings = 0, n_branch_t = 0, n_total_strings = 0;
    for (int b = 0; b < B; b++) {
        n_total_strings += check_stream(&bt, T, b, str);
        for (int start = 0; start < far;) {
            int end = start + 1;
            while (end < T && !(str[end - 1] == 'E' && str[end] == 'B')) end++; /* outer E, B */
            int l = end - start;
            len_counts[l <= MAX_L ? l : MAX_L + 1]++;
            n_branch_t += str[start + 1] == 'T';
            n_strings++;
            start = end;
        }
    }
    for (int l = 9; l <= 16; l++) {
        double want = n_strings * p_len[l], sd = sqrt(want * (1 - p_len[l]));
        cr_log_info("length %d: %ld, expected %.1f", l, len_counts[l], want);
        cr_assert(fabs(len_counts[l] - want) < 5 * sd + 1, "length %d: %ld strings, expected %.1f",
                  l, len_counts[l], want);
    }
    cr_assert(fabs(n_branch_t - n_strings / 2.0) < 5 * sqrt(n_strings / 4.0),
              "branch T in %ld of %ld strings", n_branch_t, n_strings);
    /* strings per stream: the renewal computation's mean, and by the
       renewal central limit a spread of sqrt(n var(l) / mean(l)^3) */
    double *p_all = malloc(((size_t)T_len + 1) * sizeof(double)), m1 = 0, m2 = 0;
    cr_assert(p_all, "out of memory");
    string_length_probabilities(T_len, p_all);
    for (int l = 0; l <= T_len; l++) {
        m1 += l * p_all[l];
        m2 += (double)l * l * p_all[l];
    }
    free(p_all);
    double mean = (double)n_total_strings / B, want = expected_strings(T_len);
    double sd = sqrt(T_len * (m2 - m1 * m1) / (m1 * m1 * m1));
    cr_log_info("strings per stream %.2f, expected %.2f (mean length %.4f, sd of a count %.2f)",
                mean, want, m1, sd);
    cr_assert(fabs(m1 - 12) < 1e-9, "mean string length %.12f", m1);
    cr_assert(fabs(mean - want) < 5 * sd / sqrt(B), "%.2f strings a stream, expected %.2f", mean,
              want);
    free(str);
    batch_free(&bt);
}

/* In the limit each string costs 2 ln 2 over 7 outputs per symbol and a
   string has 12 symbols on average (8 inner, 4 of the frame): the baseline
   tends to 2 ln 2 / 84. */
Test(reber_continual, baseline_tends_to_one_branch_per_12_symbols) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 100000;
    double got = find_checked(NAME, &p)->baseline(&p), limit = 2 * log(2.0) / 84;
    cr_log_info("baseline at T = 10^5: %.8f, limit %.8f", got, limit);
    cr_assert(close_to(got, limit, 0, 1e-3), "baseline %.8f, limit %.8f", got, limit);
}

/* A predictor that knows the grammar but forgets the branch fails every
   stream; one wrong symbol fails its stream and no other; solved asks for
   every stream. */
Test(reber_continual, one_wrong_symbol_fails_its_stream) {
    TaskParams p;
    task_params_default(&p);
    p.delay = 60;
    const int B = 30, Y = SYMBOLS;
    const Task *task = find_checked(NAME, &p);
    Batch bt;
    int T = generate_case(NAME, &p, B, 24, &bt);
    Case c = {NAME, 60, 0, 4, 7, 7, LOSS_BCE, 64};
    trivial(&c, T, &bt);
    long n_correct = 0, n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert(n_total == B && n_correct == 0, "branch forgotten: %ld of %ld", n_correct, n_total);

    perfect_predictor(T, &bt);
    AT(bt.y, Y, T / 2, 7)[0] *= -1; /* stream 7 gets B wrong half way */
    n_correct = n_total = 0;
    task->count(&p, T, B, bt.y, bt.target, bt.mask, &n_correct, &n_total);
    cr_assert(n_total == B && n_correct == B - 1, "one wrong symbol: %ld of %ld", n_correct,
              n_total);
    cr_assert(!task->solved(&p, 0.0, (double)n_correct / n_total), "29 of 30 streams solved");
    cr_assert(task->solved(&p, 0.0, 1.0));
    batch_free(&bt);
}
