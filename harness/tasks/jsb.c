/* jsb.c: JSB Chorales, the first data-set task (docs/tasks.md). The 382
   Bach chorales of experiments/data/jsb-chorales/ as 88-key binary piano
   rolls, split 229 / 76 / 77 (Boulanger-Lewandowski et al. 2012). Input:
   the frame at t; target: the frame at t + 1; 88 sigmoid outputs; loss
   bce_sum, the binary cross-entropy summed over the keys and averaged over
   the predicted steps (NLL per time step). A sequence of n frames is n - 1
   predictions; a batch is padded to its longest with mask 0.

   Training batches draw sequences uniformly (with replacement) from the
   train split with the run's stream; evaluation is the whole valid split,
   and the test split is scored at each new best validation loss.

   Baseline: the per-key marginal model (key k on with its frequency among
   the train split's targets, add-one smoothed so that a key never on in
   training costs a finite amount), scored on the test targets.
   Accuracy: Bay et al.'s frame-level measure TP / (TP + FP + FN) over all
   keys of all predicted steps, output on when its logit is > 0 (an item is
   a note predicted or sounding). Solved: accuracy >= 99% (never, in
   practice: the task is scored by its NLL). */
#include "common.h"
#include "../dataset.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSB_FILE "jsb-chorales/jsb-chorales-quarter.json"
#define JSB_SHA256 "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"
#define JSB_LOWEST_NOTE 21 /* A0, the piano's lowest key */
#define JSB_KEYS 88
#define JSB_MIN_LEN 2      /* one prediction */

/* the data, loaded once per process (runs on several threads share it) */
typedef struct {
    int ok;
    char err[768];
    SeqData data;
    double marginal_nll;   /* the baseline */
} JsbData;

static JsbData jsb;
static pthread_once_t jsb_once = PTHREAD_ONCE_INIT;

/* NLL per step on split `eval` of the marginal model fitted on `fit` */
static double marginal_nll(const SeqData *d, SplitId fit, SplitId eval) {
    double on[JSB_KEYS] = {0}, n = 0;
    const SeqSplit *f = &d->split[fit];
    for (int i = 0; i < f->n_seqs; i++)
        for (int t = 1; t < f->len[i]; t++, n++)
            for (int k = 0; k < JSB_KEYS; k++) on[k] += f->frames[(size_t)(f->start[i] + t) * JSB_KEYS + k];
    double log_on[JSB_KEYS], log_off[JSB_KEYS];
    for (int k = 0; k < JSB_KEYS; k++) {
        double p = (on[k] + 1) / (n + 2);
        log_on[k] = log(p);
        log_off[k] = log1p(-p);
    }
    const SeqSplit *e = &d->split[eval];
    double nll = 0, steps = 0;
    for (int i = 0; i < e->n_seqs; i++)
        for (int t = 1; t < e->len[i]; t++, steps++) {
            const unsigned char *frame = e->frames + (size_t)(e->start[i] + t) * JSB_KEYS;
            for (int k = 0; k < JSB_KEYS; k++) nll -= frame[k] ? log_on[k] : log_off[k];
        }
    return nll / steps;
}

static void jsb_load(void) {
    char path[4300], where[600];
    char *bytes = NULL;
    size_t len = 0;
    if (data_path(JSB_FILE, path, sizeof path, where, sizeof where)) {
        snprintf(jsb.err, sizeof jsb.err, "%s", where);
        return;
    }
    if (data_read_checked(path, JSB_SHA256, &bytes, &len, jsb.err, sizeof jsb.err)) return;
    int rc = pianoroll_parse(bytes, len, path, JSB_LOWEST_NOTE, JSB_KEYS, JSB_MIN_LEN, &jsb.data, jsb.err,
                             sizeof jsb.err);
    free(bytes);
    if (rc) return;
    jsb.marginal_nll = marginal_nll(&jsb.data, SPLIT_TRAIN, SPLIT_TEST);
    jsb.ok = 1;
}

static const JsbData *jsb_data(void) {
    pthread_once(&jsb_once, jsb_load);
    return &jsb;
}

static int jsb_check(const TaskParams *p, char *err, size_t err_len) {
    if (task_check_no_form("jsb", p->form, err, err_len)) return -1;
    /* the data fixes the lengths; delay is ignored, but held to the range
       every task accepts so that a typo is still an error */
    if (task_check_delay("jsb", p->delay, 1, "any value: jsb ignores it", err, err_len)) return -1;
    const JsbData *j = jsb_data();
    if (!j->ok) {
        snprintf(err, err_len, "jsb: %s", j->err);
        return -1;
    }
    return 0;
}

static void jsb_shape(const TaskParams *p, TaskShape *s) {
    (void)p;
    const JsbData *j = jsb_data();
    int longest = 1;
    for (int sp = 0; j->ok && sp < N_SPLITS; sp++)
        if (j->data.split[sp].max_len - 1 > longest) longest = j->data.split[sp].max_len - 1;
    s->max_len = longest;
    s->X = JSB_KEYS;
    s->Y = JSB_KEYS;
    s->loss = LOSS_BCE_SUM;
}

/* sequence i of split s into column b of a batch of width B (its steps
   already cleared) */
static void put_sequence(const SeqSplit *s, int i, int b, int B, real *x, real *target, real *mask) {
    const unsigned char *frames = s->frames + (size_t)s->start[i] * JSB_KEYS;
    for (int t = 0; t + 1 < s->len[i]; t++) {
        size_t row = (size_t)t * B + b;
        const unsigned char *now = frames + (size_t)t * JSB_KEYS, *next = now + JSB_KEYS;
        for (int k = 0; k < JSB_KEYS; k++) {
            x[row * JSB_KEYS + k] = now[k];
            target[row * JSB_KEYS + k] = next[k];
        }
        mask[row] = 1;
    }
}

static int jsb_generate(const TaskParams *p, Rng *rng, int B, real *x, real *target, real *mask) {
    (void)p;
    const SeqSplit *s = &jsb_data()->data.split[SPLIT_TRAIN];
    /* the batch's length first, from a copy of the stream: the draws below
       repeat these */
    Rng probe = *rng;
    int T = 1;
    for (int b = 0; b < B; b++) {
        int len = s->len[rng_int(&probe, s->n_seqs)] - 1;
        if (len > T) T = len;
    }
    task_clear_steps(T, B, JSB_KEYS, JSB_KEYS, x, target, mask);
    for (int b = 0; b < B; b++) put_sequence(s, rng_int(rng, s->n_seqs), b, B, x, target, mask);
    return T;
}

static const SeqSplit *held_out_split(HeldOutSplit which) {
    return &jsb_data()->data.split[which == HELD_OUT_VALID ? SPLIT_VALID : SPLIT_TEST];
}

static int jsb_n_sequences(const TaskParams *p, HeldOutSplit which) {
    (void)p;
    return held_out_split(which)->n_seqs;
}

static int jsb_n_train(const TaskParams *p) {
    (void)p;
    return jsb_data()->data.split[SPLIT_TRAIN].n_seqs;
}

static int jsb_held_out_batch(const TaskParams *p, HeldOutSplit which, int first, int B, real *x,
                              real *target, real *mask) {
    (void)p;
    const SeqSplit *s = held_out_split(which);
    int T = 1;
    for (int b = 0; b < B; b++)
        if (s->len[first + b] - 1 > T) T = s->len[first + b] - 1;
    task_clear_steps(T, B, JSB_KEYS, JSB_KEYS, x, target, mask);
    for (int b = 0; b < B; b++) put_sequence(s, first + b, b, B, x, target, mask);
    return T;
}

static double jsb_baseline(const TaskParams *p) {
    (void)p;
    const JsbData *j = jsb_data();
    return j->ok ? j->marginal_nll : NAN;
}

static void jsb_count(const TaskParams *p, int T, int B, const real *y, const real *target,
                      const real *mask, long *n_correct, long *n_total) {
    (void)p;
    for (size_t r = 0; r < (size_t)T * B; r++) {
        if (mask[r] == 0) continue;
        for (int k = 0; k < JSB_KEYS; k++) {
            int on = y[r * JSB_KEYS + k] > 0, sounding = target[r * JSB_KEYS + k] != 0;
            *n_correct += on && sounding;
            *n_total += on || sounding;
        }
    }
}

static const TaskHeldOut jsb_held_out = {
    .n_sequences = jsb_n_sequences,
    .n_train = jsb_n_train,
    .batch = jsb_held_out_batch,
};

const Task task_jsb = {
    .name = "jsb",
    .desc = "JSB Chorales: next 88-key piano-roll frame, NLL per step (Boulanger-Lewandowski 2012 split)",
    .params = "none: the data set fixes the sequences (delay is ignored)",
    .check = jsb_check,
    .shape = jsb_shape,
    .generate = jsb_generate,
    .baseline = jsb_baseline,
    .count = jsb_count,
    .solved = task_solved_by_accuracy,
    .held_out = &jsb_held_out,
};
