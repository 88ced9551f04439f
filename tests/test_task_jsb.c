/* test_task_jsb.c: what only the JSB Chorales task has (harness/tasks/
   jsb.c, harness/dataset.c, harness/pianoroll.c): the shipped file (its
   checksum against SHA256SUMS, split sizes, lengths, pitch range), the
   batches (frames shifted by one step, padding), the held-out splits, the
   marginal baseline, the frame accuracy, and one clear line for a file that
   is missing, damaged or not the expected JSON. */
#include "task_batch.h"
#include "../harness/dataset.h"
#include "../harness/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define JSB_SHA256 "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"

static SeqData load_shipped(void) {
    char path[4300], err[1024];
    cr_assert_eq(data_path("jsb-chorales/jsb-chorales-quarter.json", path, sizeof path, err, sizeof err), 0,
                 "%s", err);
    char *bytes;
    size_t len;
    cr_assert_eq(data_read_checked(path, JSB_SHA256, &bytes, &len, err, sizeof err), 0, "%s", err);
    SeqData d;
    cr_assert_eq(pianoroll_parse(bytes, len, path, 21, 88, 2, &d, err, sizeof err), 0, "%s", err);
    free(bytes);
    return d;
}

Test(jsb, shipped_file_has_the_published_splits) {
    SeqData d = load_shipped();
    static const int seqs[] = {229, 76, 77};
    static const long steps[] = {13807, 4602, 4725};
    static const int shortest[] = {25, 32, 32}, longest[] = {129, 144, 160};
    for (int s = 0; s < N_SPLITS; s++) {
        const SeqSplit *sp = &d.split[s];
        cr_assert_eq(sp->n_seqs, seqs[s], "%s: %d sequences", SPLIT_NAMES[s], sp->n_seqs);
        cr_assert_eq(sp->n_steps, steps[s], "%s: %ld steps", SPLIT_NAMES[s], sp->n_steps);
        cr_assert_eq(sp->min_len, shortest[s]);
        cr_assert_eq(sp->max_len, longest[s]);
        long total = 0;
        for (int i = 0; i < sp->n_seqs; i++) {
            cr_assert_eq(sp->start[i], total);
            total += sp->len[i];
        }
        cr_assert_eq(total, sp->n_steps);
        /* the README's pitch range: MIDI 43..96, keys 22..75 */
        for (long f = 0; f < sp->n_steps; f++)
            for (int k = 0; k < 88; k++)
                if (sp->frames[f * 88 + k]) cr_assert(k >= 43 - 21 && k <= 96 - 21, "key %d sounds", k);
    }
    /* the first test chorale opens on MIDI 72 76 79 84 */
    const unsigned char *first = d.split[SPLIT_TEST].frames;
    int on = 0;
    for (int k = 0; k < 88; k++) on += first[k];
    cr_assert(on == 4 && first[72 - 21] && first[76 - 21] && first[79 - 21] && first[84 - 21]);
    seqdata_free(&d);
}

Test(jsb, sha256sums_file_agrees_with_the_task) {
    char path[4300], err[1024];
    cr_assert_eq(data_path("jsb-chorales/SHA256SUMS", path, sizeof path, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[256] = "";
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_assert_str_eq(line, JSB_SHA256 "  jsb-chorales-quarter.json\n");
}

/* a batch: x at t is the frame at t, target the frame at t + 1, mask 1 on
   the n - 1 predictions of a sequence of n frames, all zero after */
Test(jsb, batches_are_frames_shifted_by_one_and_padded) {
    SeqData d = load_shipped();
    const Task *task = task_find("jsb");
    TaskParams p;
    task_params_default(&p);
    find_checked("jsb", &p);
    TaskShape s;
    task->shape(&p, &s);
    cr_assert_eq(s.max_len, 159);
    cr_assert(s.X == 88 && s.Y == 88 && s.loss == LOSS_BCE_SUM);
    for (int which = 0; which < 2; which++) {
        const SeqSplit *sp = &d.split[which == HELD_OUT_VALID ? SPLIT_VALID : SPLIT_TEST];
        cr_assert_eq(task->held_out->n_sequences(&p, (HeldOutSplit)which), sp->n_seqs);
        const int first = 5, B = 7;
        Batch bt;
        batch_alloc(task, &p, B, &bt);
        int T = task->held_out->batch(&p, (HeldOutSplit)which, first, B, bt.x, bt.target, bt.mask);
        check_batch("jsb", T, &bt);
        int longest = 0;
        for (int b = 0; b < B; b++) longest = sp->len[first + b] > longest ? sp->len[first + b] : longest;
        cr_assert_eq(T, longest - 1);
        for (int b = 0; b < B; b++) {
            int n = sp->len[first + b];
            const unsigned char *frames = sp->frames + (size_t)sp->start[first + b] * 88;
            for (int t = 0; t < T; t++) {
                size_t row = (size_t)t * B + b;
                cr_assert_eq(bt.mask[row], t < n - 1 ? 1 : 0);
                for (int k = 0; k < 88; k++) {
                    real want_x = t < n - 1 ? frames[t * 88 + k] : 0;
                    real want_y = t < n - 1 ? frames[(t + 1) * 88 + k] : 0;
                    cr_assert(bt.x[row * 88 + k] == want_x && bt.target[row * 88 + k] == want_y,
                              "sequence %d t=%d key %d", first + b, t, k);
                }
            }
        }
        batch_free(&bt);
    }
    seqdata_free(&d);
}

/* training draws whole train sequences: each column is one of them */
Test(jsb, training_batches_are_train_sequences) {
    SeqData d = load_shipped();
    const SeqSplit *tr = &d.split[SPLIT_TRAIN];
    TaskParams p;
    task_params_default(&p);
    Batch bt;
    const int B = 16;
    int T = generate_case("jsb", &p, B, 99, &bt);
    for (int b = 0; b < B; b++) {
        int n = 0;
        while (n < T && bt.mask[(size_t)n * B + b] != 0) n++;
        int found = 0;
        for (int i = 0; i < tr->n_seqs && !found; i++) {
            if (tr->len[i] - 1 != n) continue;
            const unsigned char *frames = tr->frames + (size_t)tr->start[i] * 88;
            int same = 1;
            for (int t = 0; t < n && same; t++)
                for (int k = 0; k < 88 && same; k++)
                    same = bt.x[((size_t)t * B + b) * 88 + k] == frames[t * 88 + k] &&
                           bt.target[((size_t)t * B + b) * 88 + k] == frames[(t + 1) * 88 + k];
            found = same;
        }
        cr_assert(found, "column %d (%d predictions) is no train sequence", b, n);
    }
    batch_free(&bt);
    seqdata_free(&d);
}

/* the marginal model, computed here from the frames: 11.0923 nats per step
   (numpy on the JSON gives 11.09232321793289) */
Test(jsb, baseline_is_the_marginal_model_on_test) {
    TaskParams p;
    task_params_default(&p);
    const Task *task = find_checked("jsb", &p);
    double b = task->baseline(&p);
    cr_assert(fabs(b - 11.09232321793289) < 1e-9, "baseline %.12g", b);
}

/* Bay et al.'s accuracy: TP / (TP + FP + FN) */
Test(jsb, accuracy_counts_notes_predicted_or_sounding) {
    TaskParams p;
    task_params_default(&p);
    const Task *task = find_checked("jsb", &p);
    real y[2 * 88], target[2 * 88], mask[2] = {1, 0};
    for (int k = 0; k < 2 * 88; k++) y[k] = -1, target[k] = 0;
    target[10] = target[11] = target[12] = 1; /* 3 sounding */
    y[10] = y[11] = 2;                         /* 2 of them predicted */
    y[20] = 1;                                 /* and one that is not sounding */
    y[88 + 5] = 1, target[88 + 6] = 1;         /* a padded row: not counted */
    long correct = 0, total = 0;
    task->count(&p, 1, 2, y, target, mask, &correct, &total);
    cr_assert(correct == 2 && total == 4, "%ld / %ld", correct, total);
}

/* ------------------------------------------------------------------------- */
/* faults of the file: one line naming it */

static char tmp_dir[64];

static void write_file(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void expect_read_error(const char *path, const char *sha, const char *needle) {
    char err[1024] = "";
    char *bytes = (char *)1;
    size_t len = 1;
    cr_assert_eq(data_read_checked(path, sha, &bytes, &len, err, sizeof err), -1);
    cr_assert(bytes == NULL && len == 0);
    cr_assert(strstr(err, path) == err, "'%s' does not start with the file", err);
    cr_assert(strstr(err, needle), "'%s' lacks '%s'", err, needle);
    cr_assert_null(strchr(err, '\n'), "more than one line: %s", err);
}

Test(jsb, a_missing_or_damaged_file_is_one_line_naming_it) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/rnnbench-jsb-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
    char path[128];
    snprintf(path, sizeof path, "%s/missing.json", tmp_dir);
    expect_read_error(path, JSB_SHA256, "cannot open");
    snprintf(path, sizeof path, "%s/damaged.json", tmp_dir);
    write_file(path, "{\"train\": []}", 13);
    expect_read_error(path, JSB_SHA256, "SHA-256");
    unlink(path);
    rmdir(tmp_dir);
}

static void expect_parse_error(const char *json, const char *needle) {
    char err[1024] = "";
    SeqData d;
    cr_assert_eq(pianoroll_parse(json, strlen(json), "x.json", 21, 88, 2, &d, err, sizeof err), -1, "%s accepted", json);
    cr_assert(strstr(err, "x.json: ") == err && strstr(err, needle), "%s: '%s' lacks '%s'", json, err, needle);
    cr_assert_null(strchr(err, '\n'));
    for (int s = 0; s < N_SPLITS; s++) cr_assert_null(d.split[s].frames);
}

Test(jsb, json_faults_are_named) {
    const char *ok_valid = "\"valid\": [[[60], [62]]], \"test\": [[[60], []]]";
    char text[512];
    expect_parse_error("{\"train\": [[[60], [62]]", "not valid JSON at line 1");
    expect_parse_error("[1, 2]", "expected a JSON object");
    snprintf(text, sizeof text, "{%s}", ok_valid);
    expect_parse_error(text, "no \"train\" split");
    snprintf(text, sizeof text, "{\"train\": 3, %s}", ok_valid);
    expect_parse_error(text, "\"train\" is not a list of sequences");
    snprintf(text, sizeof text, "{\"train\": [[[60]]], %s}", ok_valid);
    expect_parse_error(text, "train[0] has 1 time steps (at least 2 needed)");
    snprintf(text, sizeof text, "{\"train\": [[[60], [120]]], %s}", ok_valid);
    expect_parse_error(text, "train[0][1] has a note that is not an integer in 21..108");
    snprintf(text, sizeof text, "{\"train\": [[[60], [\"C4\"]]], %s}", ok_valid);
    expect_parse_error(text, "train[0][1] has a note");
    snprintf(text, sizeof text, "{\"train\": [[[60], 5]], %s}", ok_valid);
    expect_parse_error(text, "train[0][1] is not a list of notes");
    /* and a good one */
    snprintf(text, sizeof text, "{\"train\": [[[60, 64], [], [21, 108]]], %s}", ok_valid);
    SeqData d;
    char err[256];
    cr_assert_eq(pianoroll_parse(text, strlen(text), "x.json", 21, 88, 2, &d, err, sizeof err), 0, "%s", err);
    cr_assert(d.split[SPLIT_TRAIN].n_steps == 3 && d.split[SPLIT_TRAIN].frames[39] && d.split[SPLIT_TRAIN].frames[43]);
    cr_assert(d.split[SPLIT_TRAIN].frames[2 * 88 + 0] && d.split[SPLIT_TRAIN].frames[2 * 88 + 87]);
    seqdata_free(&d);
}

/* a short run: the test loss is recorded at the best validation evaluation */
Test(jsb, a_run_records_the_test_loss_at_the_best_validation) {
    RunConfig c;
    config_default(&c);
    snprintf(c.task, sizeof c.task, "jsb");
    snprintf(c.cell, sizeof c.cell, "lstm");
    c.hidden = 8;
    c.batch = 4;
    c.steps = 20;
    c.eval_every = 5;
    config_finalize(&c);
    RunResult r;
    cr_assert_eq(train_run(&c, &r, NULL), 0, "%s", r.error);
    cr_assert_eq(r.n_evals, 5);
    int best = 0;
    for (int k = 1; k < r.n_evals; k++)
        if (r.eval_loss[k] < r.eval_loss[best]) best = k;
    cr_assert_eq(r.test_step, r.eval_step[best]);
    cr_assert(isfinite(r.test_loss) && r.test_loss > 0);
    cr_assert(r.best_eval_loss == r.eval_loss[best]);
    cr_assert_str_eq(r.loss_kind, "bce_sum");
    cr_assert(fabs(r.baseline - 11.09232321793289) < 1e-9);
    run_result_free(&r);
}
