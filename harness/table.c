/* table.c: the comparison table of a results file, printed by `run` at the
   end and by `show`. One row per group of runs that differ only in their seed
   (task, delay, cell, and whichever other parameters vary in the file), with
   the median over seeds of the final evaluation loss, that loss over the
   task's baseline, the fraction solved and the median steps to solve among
   the solved runs. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of the finite values; NAN when none */
static double median(double *v, int n) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) v[m++] = v[i];
    if (m == 0) return NAN;
    qsort(v, m, sizeof(double), cmp_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

/* optional columns: shown only when they vary across the file */
enum { C_SECTION, C_LAYERS, C_PARAMS, C_HIDDEN, C_NPARAMS, C_BATCH, C_STEPS, C_OPT, C_LR, C_MOM, C_CLIP, C_FB,
       C_TRIAL, N_OPT };

static void opt_value(const SummaryRow *r, int c, char *out, size_t n) {
    switch (c) {
    case C_SECTION: snprintf(out, n, "%s", r->section); break;
    case C_LAYERS: snprintf(out, n, "%d", r->layers > 0 ? r->layers : 1); break; /* 0: a file from before stacks */
    case C_PARAMS:
        if (r->params_target) snprintf(out, n, "%lld", (long long)r->params_target);
        else snprintf(out, n, "-");
        break;
    case C_HIDDEN: snprintf(out, n, "%d", r->hidden); break;
    case C_NPARAMS: snprintf(out, n, "%lld", (long long)r->n_params); break;
    case C_BATCH: snprintf(out, n, "%d", r->batch); break;
    case C_STEPS: snprintf(out, n, "%lld", (long long)r->steps); break;
    case C_OPT: snprintf(out, n, "%s", r->optimizer); break;
    case C_LR: snprintf(out, n, "%.3g", r->lr); break;
    case C_MOM: snprintf(out, n, "%.3g", r->momentum); break;
    case C_CLIP: snprintf(out, n, "%.3g", r->clip); break;
    case C_FB: if (isnan(r->forget_bias)) snprintf(out, n, "chrono"); else snprintf(out, n, "%.3g", r->forget_bias); break;
    case C_TRIAL: snprintf(out, n, "%d", r->trial); break;
    }
}

static const char *opt_names[N_OPT] = {"section", "layers", "params", "hidden", "n_params", "batch", "steps",
                                       "opt", "lr", "momentum", "clip", "f_bias", "trial"};

typedef struct { const char *key; int index; } KeyRef; /* a row's group key, or a group's first row */

static int cmp_key_then_index(const void *a, const void *b) {
    const KeyRef *x = a, *y = b;
    int c = x->key && y->key ? strcmp(x->key, y->key) : 0;
    return c ? c : x->index - y->index;
}

static void group_key(const SummaryRow *r, const int *shown, char *out, size_t n) {
    size_t len = (size_t)snprintf(out, n, "%s|%d|%s", r->task, r->delay, r->cell);
    for (int c = 0; c < N_OPT && len < n; c++) {
        if (!shown[c]) continue;
        char v[64];
        opt_value(r, c, v, sizeof v);
        len += (size_t)snprintf(out + len, n - len, "|%s", v);
    }
}

/* the grouped table of rows[0..n) (finished runs only) */
static void print_groups(const SummaryRow *rows, int n, FILE *out) {
    int shown[N_OPT] = {0};
    for (int c = 0; c < N_OPT; c++) {
        char a[64], b[64];
        opt_value(&rows[0], c, a, sizeof a);
        for (int i = 1; i < n && !shown[c]; i++) {
            opt_value(&rows[i], c, b, sizeof b);
            shown[c] = strcmp(a, b) != 0;
        }
    }
    /* runs sized by a parameter budget: the budget, the hidden size it chose
       and the exact count, always (the point of such a file is that they differ
       by cell); n_params is otherwise the cell's and hidden's business */
    int budget = 0;
    for (int i = 0; i < n; i++) budget |= rows[i].params_target != 0;
    if (budget) shown[C_PARAMS] = shown[C_HIDDEN] = shown[C_NPARAMS] = 1;
    else shown[C_NPARAMS] = 0;
    /* groups in order of first appearance (the experiment's run order) */
    char (*keys)[512] = malloc((size_t)n * sizeof *keys);
    int *group = malloc((size_t)n * sizeof(int)), *first = malloc((size_t)n * sizeof(int));
    double *buf = malloc((size_t)n * sizeof(double));
    if (!keys || !group || !first || !buf) {
        fprintf(stderr, "rnnbench: out of memory printing the table\n");
        free(keys); free(group); free(first); free(buf);
        return;
    }
    /* group by sorting rows on their key (n log n: a file may hold 100 000
       runs), then number the groups in order of their first row */
    KeyRef *refs = malloc((size_t)n * sizeof(KeyRef));
    if (!refs) {
        fprintf(stderr, "rnnbench: out of memory printing the table\n");
        free(keys); free(group); free(first); free(buf);
        return;
    }
    for (int i = 0; i < n; i++) {
        group_key(&rows[i], shown, keys[i], sizeof keys[i]);
        refs[i] = (KeyRef){keys[i], i};
    }
    qsort(refs, n, sizeof(KeyRef), cmp_key_then_index);
    int n_groups = 0;
    for (int q = 0; q < n; q++) {
        if (q == 0 || strcmp(refs[q - 1].key, refs[q].key)) first[n_groups++] = refs[q].index;
        group[refs[q].index] = n_groups - 1;
    }
    /* groups sorted by first row; rank maps the sorted-key numbering to that order */
    for (int g = 0; g < n_groups; g++) refs[g] = (KeyRef){NULL, first[g]};
    qsort(refs, n_groups, sizeof(KeyRef), cmp_key_then_index);
    int *rank = (int *)buf; /* buf holds n doubles, room enough for n ints; unused until below */
    for (int g = 0; g < n_groups; g++) first[g] = refs[g].index;
    for (int g = 0; g < n_groups; g++) rank[group[first[g]]] = g;
    for (int i = 0; i < n; i++) group[i] = rank[group[i]];
    free(refs);
    fprintf(out, "%-15s %6s %-20s", "task", "delay", "cell");
    for (int c = 0; c < N_OPT; c++) if (shown[c]) fprintf(out, " %9s", opt_names[c]);
    fprintf(out, " %5s %11s %9s %7s %9s %4s\n", "runs", "final_loss", "/baseline", "solved",
            "to_solve", "div");
    /* the rows of each group, contiguous: a counting sort on the group number */
    int *start = calloc((size_t)n_groups + 1, sizeof(int)), *members = malloc((size_t)n * sizeof(int));
    if (!start || !members) {
        fprintf(stderr, "rnnbench: out of memory printing the table\n");
        free(keys); free(group); free(first); free(buf); free(start); free(members);
        return;
    }
    for (int i = 0; i < n; i++) start[group[i] + 1]++;
    for (int g = 0; g < n_groups; g++) start[g + 1] += start[g];
    for (int i = 0; i < n; i++) members[start[group[i]]++] = i;
    for (int g = n_groups; g > 0; g--) start[g] = start[g - 1];
    start[0] = 0;
    for (int g = 0; g < n_groups; g++) {
        const SummaryRow *r0 = &rows[first[g]];
        const int *mem = members + start[g];
        int cnt = start[g + 1] - start[g], solved = 0, diverged = 0, m;
        for (int q = 0; q < cnt; q++) {
            solved += rows[mem[q]].solved != 0;
            diverged += !strcmp(rows[mem[q]].status, "diverged");
        }
        for (int q = 0; q < cnt; q++) buf[q] = rows[mem[q]].final_loss;
        double med_loss = median(buf, cnt);
        for (int q = 0; q < cnt; q++) buf[q] = rows[mem[q]].loss_over_baseline;
        double med_ratio = median(buf, cnt);
        m = 0;
        for (int q = 0; q < cnt; q++)
            if (rows[mem[q]].solved) buf[m++] = (double)rows[mem[q]].steps_to_solve;
        double med_solve = median(buf, m);
        fprintf(out, "%-15s %6d %-20s", r0->task, r0->delay, r0->cell);
        for (int c = 0; c < N_OPT; c++) if (shown[c]) {
            char val[64];
            opt_value(r0, c, val, sizeof val);
            fprintf(out, " %9s", val);
        }
        char solve_s[32];
        if (isnan(med_solve)) snprintf(solve_s, sizeof solve_s, "-");
        else snprintf(solve_s, sizeof solve_s, "%.0f", med_solve);
        fprintf(out, " %5d %11.4g %9.3f %3d/%-3d %9s %4d\n", cnt, med_loss, med_ratio, solved, cnt,
                solve_s, diverged);
    }
    fprintf(out, "final_loss: median over seeds of the last evaluation loss; /baseline: the same over the\n"
                 "task's trivial baseline (below 1 beats it); to_solve: median step at which solved runs first met\n"
                 "the task's criterion; div: runs that diverged (NaN/Inf), whose loss is their last finite one.\n");
    for (int i = 0; i < n; i++)
        if (rows[i].params_target) {
            fprintf(out, "params: the parameter budget (readout included) each run's hidden size was chosen for, the\n"
                         "closest count; n_params: the run's exact count.\n");
            break;
        }
    free(keys); free(group); free(first); free(buf); free(start); free(members);
}

void results_print_table(const ResultsView *v, FILE *out) {
    int n_done = v->n_rows - v->n_failed;
    fprintf(out, "%s: %d of %ld runs finished%s\n", v->experiment, n_done, v->n_planned,
            v->complete && !v->n_failed ? "" : " (incomplete: run the same command again to resume)");
    if (v->n_failed)
        fprintf(out, "%d run%s failed (see their `error` attribute); running the same command again retries them\n",
                v->n_failed, v->n_failed == 1 ? "" : "s");
    if (n_done == 0) return;
    SummaryRow *done = malloc((size_t)n_done * sizeof(SummaryRow));
    if (!done) {
        fprintf(stderr, "rnnbench: out of memory printing the table\n");
        return;
    }
    int m = 0;
    for (int i = 0; i < v->n_rows; i++)
        if (summary_row_finished(&v->rows[i])) done[m++] = v->rows[i];
    print_groups(done, m, out);
    free(done);
}
