/* grid_private.h: what the parts of the experiment-file reader share (not
   for other code: grid.h is the interface).

   grid.c         the interface: file -> text -> parse -> expand, messages
   grid_read.c    reading: the line reader feeding inih, sections, keys
   grid_values.c  values: one item, comma lists, distributions and their draws
   grid_expand.c  expansion of the sections into runs */
#ifndef RNNBENCH_GRID_PRIVATE_H
#define RNNBENCH_GRID_PRIVATE_H

#include "grid.h"
#include "settings.h"

#include <stddef.h>
#include <stdint.h>

/* the keys of a [grid] section: every setting (settings.h, same index),
   then seeds and trials, which repeat runs rather than set a field, and
   draws, which says whose the trials' draws are */
enum { GRID_SEEDS = N_SETTINGS, GRID_TRIALS, GRID_DRAWS, N_GRID_KEYS };
const char *grid_key_name(int k);

/* the keys of [experiment] */
/* preregistration: a study's pre-registered checks (experiments/<study>.prereg),
   hashed into the results file when the runs are made (grid.c) */
enum { E_NAME, E_DESCRIPTION, E_SEED, E_PREREGISTRATION, N_EXPERIMENT_KEYS };
extern const char *const EXPERIMENT_KEYS[N_EXPERIMENT_KEYS];

/* V_ONE_MINUS_LOGUNIFORM: 1 - loguniform(a, b), Greff et al.'s momentum draw */
typedef enum { V_LIST, V_LOGUNIFORM, V_ONE_MINUS_LOGUNIFORM, V_UNIFORM, V_CHOICE } ValueKind;

/* one `key = value` line of a [grid] section, read */
typedef struct {
    int key;               /* a setting's index */
    int line;
    ValueKind kind;
    SettingValue *values;  /* V_LIST: 1 or more (an axis of the product); V_CHOICE: the choices */
    int n_values;
    double lo, hi;         /* V_LOGUNIFORM, V_ONE_MINUS_LOGUNIFORM, V_UNIFORM: a and b */
    SettingValue *draws;   /* distributions: the value of each trial (filled when expanding) */
} Assignment;

typedef struct {
    char name[64];
    int line;                            /* of the header */
    Assignment assignments[N_SETTINGS];  /* in file order; never seeds or trials */
    int n_assignments;
    int key_line[N_GRID_KEYS];           /* where each key was set, 0 when it was not */
    int seeds, trials;                   /* trials 0 when not given */
    /* draws = shared (0): every point of the product gets the same draws;
       per_point (1): each point its own, a random search per variant */
    int draws_per_point;
} Section;

/* IN_CELL: a [cell NAME] section, a cell written as equations (cells/graph.h) */
typedef enum { IN_NOTHING, IN_EXPERIMENT, IN_GRID, IN_CELL } Where;

struct GraphDef;

typedef struct {
    /* the reader's position in the text */
    const char *text;
    size_t len, pos;
    int line;
    Where where;
    /* the current line, whole (inih's buffer holds 200 bytes), and for a
       longer key line the name and value inih was not handed (see stand_in) */
    char *line_text;
    size_t line_cap;
    int indent;                          /* characters of whitespace before line_text */
    const char *long_name, *long_value;
    /* [experiment] */
    int experiment_line;                 /* its header, 0 when there is none */
    int experiment_key_line[N_EXPERIMENT_KEYS];
    char name[128];
    uint64_t seed;
    char prereg[1024];                   /* `preregistration =` as written, "" when absent */
    /* the [cell NAME] being read, registered when the next section starts
       or the file ends (so that [grid] may name it) */
    struct GraphDef *cell;
    /* [grid] sections in file order */
    Section *sections;
    int n_sections, cap_sections;
    /* the first error found (the reader stops at it) */
    int err_line;
    char err[768];
} Parser;

/* records the first error (at line); returns 0, to return from a handler */
int fail_at(Parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define fail(p, ...) fail_at((p), (p)->line, __VA_ARGS__)

/* grid_read.c */
char *grid_next_line(char *buf, int num, void *stream); /* inih's ini_reader */
int grid_on_key(void *user, const char *section, const char *name, const char *value); /* inih's handler */
/* `run --set name=value`, as if written in every [grid] section (replacing
   the section's own line of it); line (negative) names the option in errors */
int grid_override(Parser *p, int line, const char *name, const char *value);
void grid_parser_free(Parser *p);
/* why name cannot name an experiment (a phrase after "name: "), or NULL */
const char *grid_name_problem(const char *name, char *why, size_t n);

/* grid_values.c */
/* the value of a [grid] key: a distribution, else one item or a comma list */
int grid_parse_assignment(Parser *p, Assignment *a, const char *value);
/* trial t of a distribution; point is "" for shared draws, else the text of
   the point's list values (draws = per_point) */
SettingValue grid_draw(const Section *sec, const Assignment *a, uint64_t experiment_seed, int t,
                       const char *point);
const char *grid_skip_space(const char *s);

/* grid_expand.c: the checks that need a whole section, the size of the grid, then the runs */
int grid_expand(Parser *p, Experiment *ex);

#endif
