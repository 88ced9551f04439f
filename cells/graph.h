/* graph.h: cells written as equations (docs/cells.md "Cells written as
   equations"). A definition is read line by line (`state = h, c`, then one
   `name = expression` per line), compiled once into a program of nodes that
   does not depend on the sizes, and registered under its name; the `graph`
   kind (graph.c) builds a Cell of any size from a registered definition.

   graph_parse.c reads and compiles; graph_registry.c keeps the definitions
   by name; graph_file.c reads [cell NAME] sections of a file by itself
   (trace and bench --cell-file) or a definition from text; graph_gen.c
   makes random definitions and mutations. The experiment-file reader
   (harness/grid_read.c) feeds its [cell] lines through the same calls. */
#ifndef RNNBENCH_GRAPH_H
#define RNNBENCH_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_MAX_STATES 2
#define GRAPH_MAX_EQS 32
#define GRAPH_MAX_NODES 128
#define GRAPH_MAX_TERMS 16
#define GRAPH_MAX_GROUPS 32
#define GRAPH_MAX_PARAMS 32   /* at most CELL_MAX_TENSORS: checked in graph.c */
#define GRAPH_IDENT_MAX 12    /* longest state or equation name, in bytes */
/* a tensor name takes "_l<k>" in a stack and must fit ParamTensor's 24 bytes */
#define GRAPH_TENSOR_NAME_MAX 20

typedef enum {
    GN_PREV,     /* a state's value at t-1 (input of the step) */
    GN_XPROJ,    /* W x_t: from the input projection over the whole sequence */
    GN_REC,      /* R a: a (B,H)x(H,H) product, grouped with others on the same a */
    GN_SUM,      /* sum of terms coef * [p ⊙] [a] */
    GN_MUL,      /* a ⊙ b */
    GN_SIGMOID,
    GN_TANH,
    GN_RELU,
    GN_IDENTITY, /* a copy (a state update that names another node) */
} GraphOp;

/* one term of a sum: coef * (param ? p : 1) * (node >= 0 ? a : 1) */
typedef struct {
    double coef;
    int node;  /* -1: none (a bias or a constant) */
    int param; /* -1: none */
} GraphTerm;

/* where a node's value lives at step t */
typedef enum { LOC_ACT, LOC_XPROJ, LOC_PREV, LOC_NEW } GraphLoc;

typedef struct {
    GraphOp op;
    int a, b;        /* operands (MUL a, b; unary and REC a) */
    int n_terms;     /* SUM */
    GraphTerm terms[GRAPH_MAX_TERMS];
    int param;       /* XPROJ, REC: its weight's tensor */
    int state;       /* PREV: which state */
    int level;       /* products of R before it: 0 = needs no product of this step */
    GraphLoc loc;
    int idx;         /* LOC_ACT: slot; LOC_XPROJ: block; LOC_PREV/LOC_NEW: state */
    int adj_slot;    /* >= 0: its adjoint's own slot (a sum computed in its activation's place) */
    int group;       /* REC: its group */
    /* backward: 1 where this node's contribution to an operand's adjoint is
       the first of the step (it assigns, so that no adjoint is zeroed):
       [0] a, [1] b, [2 + q] term q's node */
    unsigned char adj_first[2 + GRAPH_MAX_TERMS];
    int adj_in_place; /* a product or W x whose adjoint takes its value's place: no backward reads the value */
} GraphNode;

/* R products of one level on one argument: one GEMM. Members' slots and
   weights are consecutive, in the same order. */
typedef struct {
    int arg, level;
    int first_slot, n;
    int first_node;  /* the member in first_slot */
    int first_param;
    int adj_first;   /* backward: the product's d arg is the first of the step (assigns) */
} GraphGroup;

typedef struct {
    char name[GRAPH_TENSOR_NAME_MAX + 1];
    int kind; /* 0: W (H,X), 1: R (H,H), 2: a vector (H) */
} GraphParam;

/* a step of the program: a node computed elementwise, or a group's product */
typedef struct {
    int is_group, id;
} GraphStep;

typedef struct {
    char name[GRAPH_IDENT_MAX + 1];
    int line;
    int node;
    int state; /* -1: an intermediate; else the state it updates */
} GraphEq;

typedef struct GraphDef {
    char name[64];
    char *text;      /* the definition's lines, "key = value\n" each (the equations attribute) */
    size_t text_len, text_cap;
    int header_line; /* for messages about the whole definition */
    int n_states, state_line;
    char states[GRAPH_MAX_STATES][GRAPH_IDENT_MAX + 1];
    int state_node[GRAPH_MAX_STATES]; /* the node of each update, -1 before it */
    GraphEq eqs[GRAPH_MAX_EQS];
    int n_eqs;
    GraphNode nodes[GRAPH_MAX_NODES];
    int n_nodes;
    GraphParam params[GRAPH_MAX_PARAMS];
    int n_params;
    /* compiled (graph_def_finish) */
    int compiled;
    GraphStep steps[GRAPH_MAX_NODES + GRAPH_MAX_GROUPS];
    int n_steps;
    GraphGroup groups[GRAPH_MAX_GROUPS];
    int n_groups;
    int n_slots;   /* H-sized slots of an act row */
    int n_adj_own; /* adjoint slots of their own, after the act slots' (adj_slot) */
    int n_xproj;   /* blocks of the input projection (W params 0..n_xproj-1) */
    int adj_zero;  /* backward must zero the adjoint row each step (an adjoint no first write covers) */
    int n_gates;
    int gate_eqs[4];          /* the equation of gate g (act slot g) */
} GraphDef;

/* A new, empty definition named name (NULL when out of memory). */
GraphDef *graph_def_new(const char *name);
void graph_def_free(GraphDef *d);
/* One `key = value` line at `line`; value starts at column value_col of it.
   0, or -1 with *col the column at fault and the reason in err. */
int graph_def_line(GraphDef *d, const char *key, const char *value, int line, int value_col,
                   int *col, char *err, size_t err_len);
/* The checks of the whole definition and its compilation. 0, or -1 with
   *line the line at fault and the reason in err. */
int graph_def_finish(GraphDef *d, int *line, char *err, size_t err_len);

/* Registers a finished definition under its name (the registry owns it from
   then on). A second definition of a name with the same text is dropped
   (reading a file twice); with another text, or a name a built-in cell
   already has, it is an error: -1 with err. */
int graph_register(GraphDef *d, char *err, size_t err_len);
const GraphDef *graph_find(const char *name);

/* Reads every [cell NAME] section of an INI file (other sections skipped)
   and registers them. 0, or -1 with "path:line: [column C: ]reason" in err. */
int graph_read_file(const char *path, char *err, size_t err_len);

/* Defines and registers cell `name` from text: lines `key = value` as in a
   [cell] section. 0, or -1 with "line L: column C: reason" in err. */
int graph_define_text(const char *name, const char *text, char *err, size_t err_len);

/* Text built piece by piece into a caller's buffer (graph_gen.c writes it,
   graph_canon.c uses it too): a piece that does not fit sets overflow and
   nothing more is written. */
typedef struct {
    char *out;
    size_t n, len;
    int overflow;
} GraphText;
void graph_text_put(GraphText *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* graph_gen.c: random cells, for tests and for the search. */
#include "rng.h"
/* A random well-formed definition with n_states (1 or 2) states and up to
   max_eqs intermediate equations, as text (graph_define_text's). relu is
   left out unless allow_relu (a finite difference must not straddle its
   kink). 0, or -1 when out is too small. */
int graph_random_text(Rng *rng, int n_states, int max_eqs, int allow_relu, char *out, size_t n);
/* One mutation of a definition's text in the manner of Jozefowicz et al.
   2015: an activation replaced by another, a + by a * or -, a name read by
   an equation replaced by another name defined before it. The result may be
   ill-formed (graph_define_text says so). 0, or -1 when nothing could change. */
int graph_mutate_text(Rng *rng, const char *text, char *out, size_t n);

/* ------------------------------------------------------------------------- */
/* the search's pieces (docs/search.md) */

/* Parses and compiles a definition from text without registering it: *out
   (graph_def_free it), or -1 with the line (and, for a line's error, the
   column; 0 otherwise) at fault and the reason in err. */
int graph_parse_text(const char *name, const char *text, GraphDef **out, int *line, int *col, char *err,
                     size_t err_len);
/* graph_canon.c: the canonical form of a compiled definition, as text: the
   same for isomorphic computation graphs (names, equation order, operand
   order of + and ⊙, identities and inline-or-named do not matter). 0, or -1
   when out is too small. */
int graph_canonical_text(const GraphDef *d, char *out, size_t n);
/* a 64-bit hash of a canonical text (the search names a cell by it) */
uint64_t graph_canonical_hash(const char *canonical);

/* the mutations of Jozefowicz et al. 2015 */
typedef enum {
    GM_ACTIVATION, /* an activation replaced by another */
    GM_OPERATOR,   /* a + replaced by * or -, a * by + or - */
    GM_INPUT,      /* a name read replaced by another defined before it */
    GM_INSERT,     /* a node inserted on a name read: act(a), (a op b) or (a op act(W x + R b + b)) */
    GM_DELETE,     /* a node deleted: an activation (its argument kept) or a term or factor */
    GM_KINDS
} GraphMutation;
extern const char *const GRAPH_MUTATION_NAMES[GM_KINDS];
/* One mutation of the given kind (a random one when kind < 0) of a
   definition's text, with equations left unread by it removed (a deleted
   node's inputs may die with it). what: one line saying what changed (may
   be NULL). The result may be ill-formed (graph_parse_text says so). 0, or
   -1 when no such change applies to the text. */
int graph_mutate(Rng *rng, const char *text, int kind, char *out, size_t n, char *what, size_t what_n);
/* the lines (1-based, ascending) of the intermediate equations no state
   update reads, directly or through others, of a text whose lines all
   parse and whose states all have their update; 0 (none) otherwise */
int graph_dead_lines(const char *text, int *lines, int cap);
/* text without the equations no state update reads (repeatedly: one
   removed may leave others unread). 0, or -1 when out is too small. */
int graph_prune_text(const char *text, char *out, size_t n);

#endif
