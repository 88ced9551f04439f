/* fuzz_grid.c: a libFuzzer harness for the experiment-file parser.

   Each input, copied into a NUL-terminated string, goes through grid_load_string
   and grid_free, under AddressSanitizer and UndefinedBehaviorSanitizer. Besides
   memory errors it checks the parser's contract (grid.h), aborting when it breaks:
   an error is one line "fuzz.ini:..." and leaves the Experiment empty; a success
   gives at most GRID_MAX_RUNS runs, each of which config_check accepts.
   Not here: what a message says (tests/test_bad_inputs.py), reading from a file
   (grid_load), training what was parsed.
   Build and run: tests/fuzz/run.sh [SECONDS] */
#include "../../harness/grid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH "fuzz.ini"

static void broken(const char *what, const char *err) {
    fprintf(stderr, "fuzz_grid: contract broken: %s (err: '%s')\n", what, err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    Experiment ex;
    char err[2048] = "";
    int rc = grid_load_string(PATH, text, &ex, err, sizeof err);
    free(text);
    if (rc != 0) {
        if (rc != -1) broken("returned neither 0 nor -1", err);
        if (strncmp(err, PATH ":", strlen(PATH) + 1) != 0) broken("error does not start with the path", err);
        if (strchr(err, '\n')) broken("error of more than one line", err);
        if (ex.runs || ex.text || ex.n_runs) broken("error left runs or text behind", err);
        return 0;
    }
    if (ex.n_runs < 0 || ex.n_runs > GRID_MAX_RUNS) broken("run count out of range", "");
    if (ex.n_runs > 0 && !ex.runs) broken("runs missing", "");
    /* the first and the last run suffice: checking 10^5 runs per input would slow the fuzzer tenfold */
    for (int i = 0; i < ex.n_runs; i += ex.n_runs - 1 > 0 ? ex.n_runs - 1 : 1) {
        char why[512];
        if (config_check(&ex.runs[i], why, sizeof why) != 0) broken("a parsed run fails config_check", why);
    }
    grid_free(&ex);
    return 0;
}
