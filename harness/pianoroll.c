/* pianoroll.c: a piano-roll JSON (dataset.h) into a SeqData, with jansson.
   Two passes per split: sizes and checks first, then one allocation each
   and the frames. */
#include "dataset.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* checks split `name` of root and counts its sequences and frames */
static int split_measure(const json_t *list, const char *path, const char *name, int lowest, int width,
                         int min_len, SeqSplit *s, char *err, size_t err_len) {
    if (!json_is_array(list)) {
        snprintf(err, err_len, "%s: \"%s\" is not a list of sequences", path, name);
        return -1;
    }
    size_t n = json_array_size(list);
    if (n == 0 || n > 1000000) {
        snprintf(err, err_len, "%s: \"%s\" has %zu sequences", path, name, n);
        return -1;
    }
    s->n_seqs = (int)n;
    s->n_steps = 0;
    s->min_len = 0;
    s->max_len = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *seq = json_array_get(list, i);
        if (!json_is_array(seq)) {
            snprintf(err, err_len, "%s: %s[%zu] is not a list of time steps", path, name, i);
            return -1;
        }
        size_t len = json_array_size(seq);
        if (len < (size_t)min_len || len > 1000000) {
            snprintf(err, err_len, "%s: %s[%zu] has %zu time steps (at least %d needed)", path, name, i,
                     len, min_len);
            return -1;
        }
        for (size_t t = 0; t < len; t++) {
            const json_t *step = json_array_get(seq, t);
            if (!json_is_array(step)) {
                snprintf(err, err_len, "%s: %s[%zu][%zu] is not a list of notes", path, name, i, t);
                return -1;
            }
            for (size_t k = 0; k < json_array_size(step); k++) {
                const json_t *note = json_array_get(step, k);
                json_int_t v = json_is_integer(note) ? json_integer_value(note) : -1;
                if (!json_is_integer(note) || v < lowest || v >= (json_int_t)lowest + width) {
                    snprintf(err, err_len, "%s: %s[%zu][%zu] has a note that is not an integer in %d..%d",
                             path, name, i, t, lowest, lowest + width - 1);
                    return -1;
                }
            }
        }
        s->n_steps += (long)len;
        if (s->min_len == 0 || (int)len < s->min_len) s->min_len = (int)len;
        if ((int)len > s->max_len) s->max_len = (int)len;
    }
    return 0;
}

/* the frames of a measured split (its lists already checked) */
static void split_fill(const json_t *list, int lowest, int width, SeqSplit *s) {
    long at = 0;
    for (int i = 0; i < s->n_seqs; i++) {
        const json_t *seq = json_array_get(list, (size_t)i);
        s->start[i] = at;
        s->len[i] = (int)json_array_size(seq);
        for (int t = 0; t < s->len[i]; t++, at++) {
            const json_t *step = json_array_get(seq, (size_t)t);
            unsigned char *frame = s->frames + (size_t)at * width;
            for (size_t k = 0; k < json_array_size(step); k++)
                frame[json_integer_value(json_array_get(step, k)) - lowest] = 1;
        }
    }
}

int pianoroll_parse(const char *bytes, size_t len, const char *path, int lowest, int width, int min_len,
                    SeqData *d, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    d->width = width;
    json_error_t jerr;
    json_t *root = json_loadb(bytes, len, 0, &jerr);
    if (!root) {
        snprintf(err, err_len, "%s: not valid JSON at line %d, column %d: %s", path, jerr.line,
                 jerr.column, jerr.text);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        snprintf(err, err_len, "%s: expected a JSON object with keys train, valid, test", path);
        rc = -1;
    }
    for (int s = 0; s < N_SPLITS && rc == 0; s++) {
        const json_t *list = json_object_get(root, SPLIT_NAMES[s]);
        if (!list) {
            snprintf(err, err_len, "%s: no \"%s\" split", path, SPLIT_NAMES[s]);
            rc = -1;
            break;
        }
        SeqSplit *sp = &d->split[s];
        rc = split_measure(list, path, SPLIT_NAMES[s], lowest, width, min_len, sp, err, err_len);
        if (rc) break;
        sp->start = malloc((size_t)sp->n_seqs * sizeof *sp->start);
        sp->len = malloc((size_t)sp->n_seqs * sizeof *sp->len);
        sp->frames = calloc((size_t)sp->n_steps * width, 1);
        if (!sp->start || !sp->len || !sp->frames) {
            snprintf(err, err_len, "%s: out of memory for the %s split", path, SPLIT_NAMES[s]);
            rc = -1;
            break;
        }
        split_fill(list, lowest, width, sp);
    }
    json_decref(root);
    if (rc) seqdata_free(d);
    return rc;
}
