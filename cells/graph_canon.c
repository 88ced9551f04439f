/* graph_canon.c: a cell written as equations, parsed without registering it,
   and its canonical form: the same text for any two definitions whose
   computation graphs are isomorphic (the search's duplicate test,
   docs/search.md).

   The canonical form is a graph, not a spelling: names, the order of the
   equations, the order of the operands of + and ⊙ and which parts are
   written inline or as equations of their own do not enter it; identity( )
   and the copies the parser inserts are skipped (they compute nothing).
   Every W, R, p and b is a tensor of its own, so `e = W x` read twice is one
   product read twice, and `W x` written twice is two products: the form
   keeps that sharing. It is not an algebraic normal form: `a * (b + c)` and
   `a * b + a * c` are different graphs.

   How: each node gets a label from its operation and its operands' labels
   (commutative operands as a sorted multiset), refined with its readers'
   labels until the partition is stable (Weisfeiler-Lehman colouring, which
   only isomorphism-invariant facts enter). Nodes are then numbered in a
   depth-first post-order from the state updates, operands visited in the
   order of their labels, and written one per line with operands sorted.
   Two definitions with the same form are isomorphic (the form spells the
   whole graph). Operands left tied by the colouring are visited in the
   order they were parsed: for the symmetric ties of real cells any order
   gives the same text, and a tie that is not a symmetry (which the
   colouring almost never leaves) could at worst call two isomorphic graphs
   different, never two different graphs the same. */
#include "graph.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the lines of text as graph_def_line reads them: 0 when all parse, else -1 */
static int parse_lines(GraphDef *d, const char *text, int *line, int *col, char *err, size_t err_len) {
    char buf[4096];
    int ln = 0;
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        ln++;
        if (n >= sizeof buf) {
            *line = ln;
            snprintf(err, err_len, "line longer than %zu characters", sizeof buf - 1);
            return -1;
        }
        memcpy(buf, s, n);
        buf[n] = '\0';
        s += n + (nl ? 1 : 0);
        char *key = buf;
        while (isspace((unsigned char)*key)) key++;
        if (!*key || *key == ';' || *key == '#') continue;
        char *eq = strchr(key, '=');
        if (!eq) {
            *line = ln;
            snprintf(err, err_len, "expected key = value");
            return -1;
        }
        *eq = '\0';
        char *value = eq + 1;
        for (size_t k = strlen(key); k && isspace((unsigned char)key[k - 1]);) key[--k] = '\0';
        while (isspace((unsigned char)*value)) value++;
        for (size_t k = strlen(value); k && isspace((unsigned char)value[k - 1]);) value[--k] = '\0';
        int value_col = 1 + (int)(value - buf);
        if (graph_def_line(d, key, value, ln, value_col, col, err, err_len) != 0) {
            *line = ln;
            return -1;
        }
    }
    return 0;
}

int graph_parse_text(const char *name, const char *text, GraphDef **out, int *line, int *col, char *err,
                     size_t err_len) {
    *out = NULL;
    *line = *col = 0;
    GraphDef *d = graph_def_new(name);
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (parse_lines(d, text, line, col, err, err_len) != 0 || graph_def_finish(d, line, err, err_len) != 0) {
        graph_def_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

static void mark_read(const GraphDef *d, int k, char *used) {
    if (k < 0 || used[k]) return;
    used[k] = 1;
    const GraphNode *n = &d->nodes[k];
    mark_read(d, n->a, used);
    mark_read(d, n->b, used);
    for (int t = 0; t < n->n_terms; t++) mark_read(d, n->terms[t].node, used);
}

int graph_dead_lines(const char *text, int *lines, int cap) {
    GraphDef *d = graph_def_new("dead");
    if (!d) return 0;
    int line, col, k = 0;
    char err[512];
    char used[GRAPH_MAX_NODES] = {0};
    int whole = parse_lines(d, text, &line, &col, err, sizeof err) == 0 && d->n_states > 0;
    for (int s = 0; whole && s < d->n_states; s++) whole = d->state_node[s] >= 0;
    for (int s = 0; whole && s < d->n_states; s++) mark_read(d, d->state_node[s], used);
    for (int e = 0; whole && e < d->n_eqs && k < cap; e++)
        if (!used[d->eqs[e].node]) lines[k++] = d->eqs[e].line;
    graph_def_free(d);
    return k;
}

/* ------------------------------------------------------------------------- */
/* labels */

/* every operand slot of every node: at most this many reads in a graph */
#define READS_MAX (GRAPH_MAX_NODES * (GRAPH_MAX_TERMS + 2))

typedef struct {
    int node;
    uint64_t value;
} Read;

typedef struct {
    int n_states;
    int alias[GRAPH_MAX_NODES]; /* a node's value is alias's (identities skipped) */
    char live[GRAPH_MAX_NODES];
    uint64_t label[GRAPH_MAX_NODES];
    int order[GRAPH_MAX_NODES]; /* canonical number of a live node, -1 before */
    int n_order;
    Read up[READS_MAX];         /* a round's reads: (node read, its reader's role and label) */
} Canon;

static uint64_t mix(uint64_t h, uint64_t v) { return hash_bytes(&v, sizeof v, h); }

static uint64_t coef_bits(double c) {
    uint64_t u;
    c += 0.0; /* -0 and 0 are one coefficient */
    memcpy(&u, &c, sizeof u);
    return u;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* an operand's role in its reader: what distinguishes it from the reader's
   other operands (a term's coefficient and weight; ⊙'s two are alike) */
static uint64_t term_role(const GraphTerm *t) { return mix(coef_bits(t->coef), (uint64_t)(t->param >= 0) + 7); }

static int resolve(const GraphDef *d, int k) {
    while (k >= 0 && d->nodes[k].op == GN_IDENTITY) k = d->nodes[k].a;
    return k;
}

/* the operands of node k as (role, node) pairs, identities resolved;
   leaves of a sum (a bias, a constant) as node -1 */
static int operands(const GraphDef *d, const Canon *c, int k, uint64_t *role, int *node) {
    const GraphNode *n = &d->nodes[k];
    int m = 0;
    switch (n->op) {
    case GN_SUM:
        for (int t = 0; t < n->n_terms; t++) {
            role[m] = term_role(&n->terms[t]);
            node[m++] = n->terms[t].node >= 0 ? c->alias[n->terms[t].node] : -1;
        }
        break;
    case GN_MUL:
        role[m] = 11, node[m++] = c->alias[n->a];
        role[m] = 11, node[m++] = c->alias[n->b];
        break;
    case GN_REC: case GN_SIGMOID: case GN_TANH: case GN_RELU:
        role[m] = 13, node[m++] = c->alias[n->a];
        break;
    default: break;
    }
    return m;
}

static uint64_t own_label(const GraphDef *d, int k) {
    const GraphNode *n = &d->nodes[k];
    uint64_t h = mix(0x6772617068ULL, (uint64_t)n->op);
    if (n->op == GN_PREV) h = mix(h, (uint64_t)n->state);
    return h;
}

static int cmp_read(const void *a, const void *b) {
    const Read *x = a, *y = b;
    if (x->node != y->node) return x->node - y->node;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* one round: a node's label from its own, its operands' (a sorted multiset
   of role and label) and its readers' (likewise) */
static void refine(const GraphDef *d, Canon *c) {
    int n_up = 0;
    uint64_t next[GRAPH_MAX_NODES];
    for (int k = 0; k < d->n_nodes; k++) {
        if (!c->live[k]) continue;
        uint64_t role[GRAPH_MAX_TERMS + 2], down[GRAPH_MAX_TERMS + 2];
        int node[GRAPH_MAX_TERMS + 2];
        int m = operands(d, c, k, role, node);
        for (int q = 0; q < m; q++) {
            down[q] = mix(role[q], node[q] >= 0 ? c->label[node[q]] : 0);
            if (node[q] >= 0 && n_up < READS_MAX) c->up[n_up++] = (Read){node[q], mix(role[q], c->label[k])};
        }
        qsort(down, (size_t)m, sizeof down[0], cmp_u64);
        uint64_t h = mix(c->label[k], 0xd0);
        for (int q = 0; q < m; q++) h = mix(h, down[q]);
        next[k] = mix(h, 0x0f);
    }
    qsort(c->up, (size_t)n_up, sizeof c->up[0], cmp_read);
    for (int q = 0; q < n_up; q++) next[c->up[q].node] = mix(next[c->up[q].node], c->up[q].value);
    for (int k = 0; k < d->n_nodes; k++)
        if (c->live[k]) c->label[k] = next[k];
}

static int classes(const GraphDef *d, const Canon *c) {
    uint64_t v[GRAPH_MAX_NODES];
    int n = 0, distinct = 0;
    for (int k = 0; k < d->n_nodes; k++)
        if (c->live[k]) v[n++] = c->label[k];
    qsort(v, (size_t)n, sizeof v[0], cmp_u64);
    for (int q = 0; q < n; q++) distinct += q == 0 || v[q] != v[q - 1];
    return distinct;
}

static void mark_live(const GraphDef *d, Canon *c, int k) {
    if (k < 0 || c->live[k]) return;
    c->live[k] = 1;
    uint64_t role[GRAPH_MAX_TERMS + 2];
    int node[GRAPH_MAX_TERMS + 2];
    int m = operands(d, c, k, role, node);
    for (int q = 0; q < m; q++) mark_live(d, c, node[q]);
}

/* ------------------------------------------------------------------------- */
/* numbering and text */

typedef struct {
    uint64_t role, label;
    int node, pos;
} Visit;

static int cmp_visit(const void *a, const void *b) {
    const Visit *x = a, *y = b;
    if (x->role != y->role) return x->role < y->role ? -1 : 1;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    return x->pos - y->pos;
}

static void number(const GraphDef *d, Canon *c, int k) {
    if (k < 0 || c->order[k] >= 0 || d->nodes[k].op == GN_PREV) return;
    c->order[k] = -2; /* on the path; the graph has no cycle, this only guards */
    uint64_t role[GRAPH_MAX_TERMS + 2];
    int node[GRAPH_MAX_TERMS + 2];
    int m = operands(d, c, k, role, node);
    Visit v[GRAPH_MAX_TERMS + 2];
    for (int q = 0; q < m; q++) v[q] = (Visit){role[q], node[q] >= 0 ? c->label[node[q]] : 0, node[q], q};
    qsort(v, (size_t)m, sizeof v[0], cmp_visit);
    for (int q = 0; q < m; q++)
        if (v[q].node >= 0 && c->order[v[q].node] == -1) number(d, c, v[q].node);
    c->order[k] = c->n_order++;
}


static void ref(const GraphDef *d, const Canon *c, int k, char *s, size_t n) {
    if (d->nodes[k].op == GN_PREV) snprintf(s, n, "s%d", d->nodes[k].state);
    else snprintf(s, n, "n%d", c->order[k]);
}

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

#define REF_MAX 48

static void write_node(const GraphDef *d, const Canon *c, int k, GraphText *o) {
    const GraphNode *n = &d->nodes[k];
    char a[REF_MAX], b[REF_MAX];
    graph_text_put(o, "n%d = ", c->order[k]);
    switch (n->op) {
    case GN_XPROJ: graph_text_put(o, "W x\n"); return;
    case GN_REC: ref(d, c, c->alias[n->a], a, sizeof a); graph_text_put(o, "R %s\n", a); return;
    case GN_SIGMOID: case GN_TANH: case GN_RELU: {
        static const char *const FN[] = {[GN_SIGMOID] = "sigmoid", [GN_TANH] = "tanh", [GN_RELU] = "relu"};
        ref(d, c, c->alias[n->a], a, sizeof a);
        graph_text_put(o, "%s(%s)\n", FN[n->op], a);
        return;
    }
    case GN_MUL:
        ref(d, c, c->alias[n->a], a, sizeof a);
        ref(d, c, c->alias[n->b], b, sizeof b);
        if (strcmp(a, b) > 0) graph_text_put(o, "%s * %s\n", b, a);
        else graph_text_put(o, "%s * %s\n", a, b);
        return;
    case GN_SUM: {
        char terms[GRAPH_MAX_TERMS][REF_MAX + 40];
        for (int t = 0; t < n->n_terms; t++) {
            const GraphTerm *tm = &n->terms[t];
            char r[REF_MAX] = "1";
            if (tm->node >= 0) ref(d, c, c->alias[tm->node], r, sizeof r);
            snprintf(terms[t], sizeof terms[t], "%.17g%s%s", tm->coef + 0.0, tm->param >= 0 ? " p." : " ", r);
        }
        qsort(terms, (size_t)n->n_terms, sizeof terms[0], cmp_str);
        graph_text_put(o, "sum(");
        for (int t = 0; t < n->n_terms; t++) graph_text_put(o, "%s%s", t ? ", " : "", terms[t]);
        graph_text_put(o, ")\n");
        return;
    }
    default: graph_text_put(o, "?\n"); return;
    }
}

int graph_canonical_text(const GraphDef *d, char *out, size_t n) {
    Canon *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->n_states = d->n_states;
    for (int k = 0; k < d->n_nodes; k++) c->alias[k] = resolve(d, k), c->order[k] = -1;
    for (int s = 0; s < d->n_states; s++) mark_live(d, c, c->alias[d->state_node[s]]);
    for (int k = 0; k < d->n_nodes; k++) c->label[k] = own_label(d, k);
    /* which state a node updates is part of what it is */
    for (int s = 0; s < d->n_states; s++) {
        int k = c->alias[d->state_node[s]];
        c->label[k] = mix(c->label[k], 0x5700ULL + (uint64_t)s);
    }
    int before = classes(d, c);
    for (int round = 0; round < d->n_nodes; round++) {
        refine(d, c);
        int now = classes(d, c);
        if (now == before && round > 0) break;
        before = now;
    }
    for (int s = 0; s < d->n_states; s++) number(d, c, c->alias[d->state_node[s]]);
    int by_order[GRAPH_MAX_NODES];
    for (int k = 0; k < d->n_nodes; k++)
        if (c->order[k] >= 0) by_order[c->order[k]] = k;
    GraphText o = {out, n, 0, 0};
    graph_text_put(&o, "states = %d\n", d->n_states);
    for (int q = 0; q < c->n_order; q++) write_node(d, c, by_order[q], &o);
    for (int s = 0; s < d->n_states; s++) {
        char a[REF_MAX];
        ref(d, c, c->alias[d->state_node[s]], a, sizeof a);
        graph_text_put(&o, "s%d' = %s\n", s, a);
    }
    free(c);
    return o.overflow ? -1 : 0;
}

uint64_t graph_canonical_hash(const char *canonical) { return hash_bytes(canonical, strlen(canonical), 0x63616e6f6eULL); }
