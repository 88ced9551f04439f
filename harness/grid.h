/* grid.h: experiment file -> list of runs.

   An experiment file is INI (parsed with inih):
       [experiment]            optional, once: name, description, seed (default 1),
                               preregistration = FILE (relative to the experiment
                               file): its path, SHA-256 and text are kept in the
                               Experiment and recorded in the results file
       [grid] or [grid NAME]   one or more; each key takes a single value, a
                               comma list (the grid is the Cartesian product of
                               the lists) or a random-search distribution
                               loguniform(a, b), uniform(a, b), choice(a, b, ...)
                               drawn `trials = N` times; `seeds = N` repeats
                               every point with seed_index 0..N-1.
       [cell NAME]             any number: a cell written as equations (`state =`,
                               then one equation per line; docs/cells.md), which
                               `cell = NAME` may then name in any [grid]; registered
                               (cells/graph.h) as the file is read, its errors
                               name the line and the column.
   Every run's id and seed derive from (experiment seed, its parameters), never
   from its position (config_finalize). `params = N` (instead of `hidden`) is
   resolved per run into the hidden size whose parameter count is closest to
   N (config_resolve_params); the id is the resolved run's (experiments/README.md). Errors name the file, the line, the
   key and the value: "experiments/x.ini:7: lr: expected a number or a
   distribution, got 'fast'", with invisible and control characters shown as
   <U+XXXX>. Unknown keys and sections are errors (a key names the closest
   known one: "sedes: unknown key (did you mean 'seeds'?)"); the keys of a
   [grid] section are the settings of settings.h. A line may be up to
   GRID_MAX_LINE bytes long (a list of many values is one line). The
   experiment's name (`name =`, else the file's name without .ini) names
   results/<name>.h5: it may not contain '/', start with '.', or hold an
   invisible or control character. */
#ifndef RNNBENCH_GRID_H
#define RNNBENCH_GRID_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define GRID_MAX_RUNS 100000
/* the longest line of an experiment file, in bytes without its line end */
#define GRID_MAX_LINE 65536

typedef struct {
    char path[1024];
    char name[128];          /* [experiment] name, else the file's base name without .ini */
    char *text;              /* the file's full text (for the results file) */
    uint64_t seed;           /* [experiment] seed */
    /* [experiment] preregistration: the file as resolved, its SHA-256 (hex) and
       text at load time; prereg_path "" when the key is absent */
    char prereg_path[2048];
    char prereg_sha256[65];
    char *prereg_text;
    RunConfig *runs;
    int n_runs;
} Experiment;

/* 0 on success; -1 with one line "path:line: key: reason" in err. */
int grid_load(const char *path, Experiment *ex, char *err, size_t err_len);
/* the same, with `run --set KEY=VALUE` overrides: each as if written in
   every [grid] section (replacing the section's own line of KEY), its
   errors "--set KEY=VALUE: key: reason"; the experiment's text gets them
   as comment lines at its end */
int grid_load_set(const char *path, const char *const *set, int n_set, Experiment *ex, char *err,
                  size_t err_len);
/* the same from text already in memory (path is used in messages only) */
int grid_load_string(const char *path, const char *text, Experiment *ex, char *err, size_t err_len);
void grid_free(Experiment *ex);

#endif
