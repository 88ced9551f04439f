/* dataset.h: sequence data sets read from files (the data of data-set tasks
   such as jsb): train / valid / test splits of variable-length sequences of
   binary frames, held as bytes in one array per split.

   A file is found under the project's experiments/data/ (or the folder
   $RNNBENCH_DATA_DIR names), checked against the SHA-256 its task was
   written for, then parsed; every fault is one line that names the file. */
#ifndef RNNBENCH_DATASET_H
#define RNNBENCH_DATASET_H

#include <stddef.h>

typedef enum { SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST, N_SPLITS } SplitId;

extern const char *const SPLIT_NAMES[N_SPLITS]; /* "train", "valid", "test": the keys in a file */

typedef struct {
    int n_seqs;
    long n_steps;          /* frames over all its sequences */
    int min_len, max_len;
    long *start;           /* (n_seqs) index of each sequence's first frame */
    int *len;              /* (n_seqs) frames of each sequence */
    unsigned char *frames; /* (n_steps, width) 0 or 1 */
} SeqSplit;

typedef struct {
    int width;             /* values per frame (88 piano keys) */
    SeqSplit split[N_SPLITS];
} SeqData;

/* the path of `relative` (e.g. "jsb-chorales/jsb-chorales-quarter.json")
   under the data folder: $RNNBENCH_DATA_DIR when set, else the first of
   <exe>/../experiments/data, <exe>/../../experiments/data (the test runners
   in build/) and ./experiments/data where it exists. 0, or -1 with the
   places looked at in err. */
int data_path(const char *relative, char *path, size_t path_len, char *err, size_t err_len);

/* the whole file at path into a new buffer (*len bytes, NUL added), after
   checking that its SHA-256 is sha256_hex (64 lower-case hex digits).
   0, or -1 with "PATH: what is wrong" in err (nothing to free). */
int data_read_checked(const char *path, const char *sha256_hex, char **bytes, size_t *len, char *err,
                      size_t err_len);

/* Parses a piano-roll JSON (experiments/data/jsb-chorales/README.md): an
   object whose keys train, valid, test are lists of sequences of time steps,
   each a list of the note numbers sounding. Note n sets value n - lowest of
   a frame of `width`; a note outside [lowest, lowest + width) or a sequence
   shorter than min_len is an error. 0, or -1 with "PATH: what is wrong"
   (path only names the file in messages) and d empty. */
int pianoroll_parse(const char *bytes, size_t len, const char *path, int lowest, int width, int min_len,
                    SeqData *d, char *err, size_t err_len);

void seqdata_free(SeqData *d);

#endif
