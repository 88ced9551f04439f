/* graph_gen.c: random cells and mutations of cells, as equation text
   (graph.h). Both work on text, so that what they make is checked by the
   same parser as a cell written by hand. */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void graph_text_put(GraphText *b, const char *fmt, ...) {
    if (b->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->out + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->n - b->len) b->overflow = 1;
    else b->len += (size_t)k;
}

/* the names an equation may read: the states, their new values once
   updated, and the earlier equations */
typedef struct {
    char names[GRAPH_MAX_EQS + 2 * GRAPH_MAX_STATES][GRAPH_IDENT_MAX + 2];
    int n;
    int used[GRAPH_MAX_EQS + 2 * GRAPH_MAX_STATES];
} Scope;

static const char *pick(Rng *rng, Scope *sc) {
    int k = rng_int(rng, sc->n);
    sc->used[k] = 1;
    return sc->names[k];
}

static const char *const ACTS[] = {"sigmoid", "tanh", "identity", "relu"};

/* a pre-activation: W x, R of a name, p . name, a name, b: 2 to 4 of them */
static void linear(Rng *rng, Scope *sc, GraphText *b) {
    int n = 2 + rng_int(rng, 3);
    for (int k = 0; k < n; k++) {
        if (k) graph_text_put(b, " %s ", rng_int(rng, 5) ? "+" : "-");
        switch (rng_int(rng, 6)) {
        case 0: case 1: graph_text_put(b, "W x"); break;
        case 2: graph_text_put(b, "R %s", pick(rng, sc)); break;
        case 3: graph_text_put(b, "p . %s", pick(rng, sc)); break;
        case 4: graph_text_put(b, "%s", pick(rng, sc)); break;
        default: graph_text_put(b, "b"); break;
        }
    }
}

static void expr(Rng *rng, Scope *sc, int depth, int allow_relu, GraphText *b) {
    int form = depth > 1 ? rng_int(rng, 2) : rng_int(rng, 6);
    const char *act = ACTS[rng_int(rng, allow_relu ? 4 : 3)];
    switch (form) {
    case 0: case 1: graph_text_put(b, "%s(", act); linear(rng, sc, b); graph_text_put(b, ")"); break;
    case 2: graph_text_put(b, "%s * ", pick(rng, sc)); expr(rng, sc, depth + 1, allow_relu, b); break;
    case 3: graph_text_put(b, "(1 - %s) * %s + ", pick(rng, sc), pick(rng, sc)); expr(rng, sc, depth + 1, allow_relu, b); break;
    case 4: graph_text_put(b, "%s(R (%s * %s) + W x + b)", act, pick(rng, sc), pick(rng, sc)); break;
    default: graph_text_put(b, "0.5 * "); expr(rng, sc, depth + 1, allow_relu, b); graph_text_put(b, " - %s", pick(rng, sc)); break;
    }
}

int graph_random_text(Rng *rng, int n_states, int max_eqs, int allow_relu, char *out, size_t n) {
    static const char *const STATE[GRAPH_MAX_STATES] = {"h", "c"};
    GraphText b = {out, n, 0, 0};
    Scope sc = {0};
    if (n_states < 1) n_states = 1;
    if (n_states > GRAPH_MAX_STATES) n_states = GRAPH_MAX_STATES;
    graph_text_put(&b, "state = h%s\n", n_states > 1 ? ", c" : "");
    for (int s = 0; s < n_states; s++) snprintf(sc.names[sc.n++], sizeof sc.names[0], "%s", STATE[s]);
    if (max_eqs > GRAPH_MAX_EQS - GRAPH_MAX_STATES) max_eqs = GRAPH_MAX_EQS - GRAPH_MAX_STATES;
    int n_eqs = 1 + (max_eqs > 1 ? rng_int(rng, max_eqs) : 0);
    for (int e = 0; e < n_eqs; e++) {
        graph_text_put(&b, "e%d = ", e);
        expr(rng, &sc, 0, allow_relu, &b);
        graph_text_put(&b, "\n");
        snprintf(sc.names[sc.n++], sizeof sc.names[0], "e%d", e);
    }
    /* the memory c first (h may read c'), then h; every equation nobody
       read yet goes into an update, so that none is dead */
    for (int s = n_states - 1; s >= 0; s--) {
        graph_text_put(&b, "%s' = ", STATE[s]);
        const char *gate = pick(rng, &sc);
        if (rng_int(rng, 2)) {
            graph_text_put(&b, "(1 - sigmoid(%s)) * %s + sigmoid(%s) * tanh(", gate, STATE[s], gate);
        } else {
            graph_text_put(&b, "tanh(");
        }
        linear(rng, &sc, &b);
        if (s == 0)
            for (int k = n_states; k < sc.n; k++)
                if (!sc.used[k]) graph_text_put(&b, " + %s", sc.names[k]), sc.used[k] = 1;
        graph_text_put(&b, ")\n");
        snprintf(sc.names[sc.n++], sizeof sc.names[0], "%s'", STATE[s]);
    }
    return b.overflow ? -1 : 0;
}

/* ------------------------------------------------------------------------- */
/* mutation */

static int is_word(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* the byte positions in text of words or characters that a mutation of
   kind k may replace: 0 activations, 1 '+', 2 names after '=' */
static int sites(const char *text, int kind, int *at, int cap) {
    int n = 0;
    int in_value = 0; /* 1 after a line's '=', -1 on the state line */
    for (int i = 0; text[i] && n < cap; i++) {
        char c = text[i];
        if (c == '\n') { in_value = 0; continue; }
        if ((i == 0 || text[i - 1] == '\n') && !strncmp(text + i, "state", 5) && !is_word(text[i + 5])) in_value = -1;
        if (c == '=' && !in_value) { in_value = 1; continue; }
        if (in_value != 1) continue;
        if (kind == 1 && c == '+') { at[n++] = i; continue; }
        if (!is_word(c) || (i > 0 && is_word(text[i - 1]))) continue;
        int len = 0;
        while (is_word(text[i + len])) len++;
        int is_act = 0;
        for (int a = 0; a < 4; a++)
            if ((int)strlen(ACTS[a]) == len && !strncmp(text + i, ACTS[a], (size_t)len)) is_act = 1;
        if (kind == 0 && is_act) at[n++] = i;
        /* a name: not a keyword, not a number */
        if (kind == 2 && !is_act && !(c >= '0' && c <= '9') &&
            !(len == 1 && strchr("WRpbx", c))) at[n++] = i;
    }
    return n;
}

int graph_mutate_text(Rng *rng, const char *text, char *out, size_t n) {
    int at[512];
    size_t tl = strlen(text);
    if (tl + 16 > n) return -1;
    for (int tries = 0; tries < 16; tries++) {
        int kind = rng_int(rng, 3);
        int m = sites(text, kind, at, 512);
        if (!m) continue;
        int i = at[rng_int(rng, m)];
        int len = 0;
        while (is_word(text[i + len])) len++;
        if (kind == 1) len = 1;
        if (text[i + len] == '\'') len++;
        char repl[GRAPH_IDENT_MAX + 4];
        if (kind == 0) {
            snprintf(repl, sizeof repl, "%s", ACTS[rng_int(rng, 4)]);
        } else if (kind == 1) {
            snprintf(repl, sizeof repl, "%s", rng_int(rng, 2) ? "*" : "-");
        } else {
            /* another name that the text defines or declares before i */
            int names[512], k = 0;
            int m2 = sites(text, 2, names, 512);
            for (int q = 0; q < m2; q++)
                if (names[q] < i) names[k++] = names[q];
            if (!k) continue;
            int j = names[rng_int(rng, k)], l2 = 0;
            while (is_word(text[j + l2])) l2++;
            if (text[j + l2] == '\'') l2++;
            if (l2 >= (int)sizeof repl) continue;
            memcpy(repl, text + j, (size_t)l2);
            repl[l2] = '\0';
        }
        if ((int)strlen(repl) == len && !strncmp(repl, text + i, (size_t)len)) continue;
        snprintf(out, n, "%.*s%s%s", i, text, repl, text + i + len);
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------------- */
/* the search's mutations (graph.h GraphMutation): the three above, plus
   inserting and deleting a node */

const char *const GRAPH_MUTATION_NAMES[GM_KINDS] = {"activation", "operator", "input", "insert", "delete"};

static int word_len(const char *s) {
    int len = 0;
    while (is_word(s[len])) len++;
    if (len && s[len] == '\'') len++;
    return len;
}

static int skip_spaces(const char *s, int j) {
    while (s[j] == ' ' || s[j] == '\t') j++;
    return j;
}

/* the end of the parenthesised group that opens at j */
static int skip_group(const char *s, int j) {
    int depth = 0;
    for (; s[j] && s[j] != '\n'; j++) {
        if (s[j] == '(') depth++;
        if (s[j] == ')' && --depth == 0) return j + 1;
    }
    return j;
}

/* the end of the primary (or unary minus and primary) that starts at j,
   in the grammar of graph_parse.c */
static int skip_primary(const char *s, int j) {
    j = skip_spaces(s, j);
    if (s[j] == '-') return skip_primary(s, j + 1);
    if (s[j] == '(') return skip_group(s, j);
    if (s[j] >= '0' && s[j] <= '9') {
        while ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
               ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))
            j++;
        return j;
    }
    int len = word_len(s + j);
    if (!len) return j;
    int w = j;
    j += len;
    int k = skip_spaces(s, j);
    if (len == 1 && s[w] == 'W') return k + word_len(s + k);  /* W x */
    if (len == 1 && s[w] == 'R') return skip_primary(s, k);    /* R a */
    if (s[k] == '(') return skip_group(s, k);                  /* f(...) */
    return j;
}

/* the end of a product of primaries from j (a term of a sum) */
static int skip_term(const char *s, int j) {
    j = skip_primary(s, j);
    for (;;) {
        int k = skip_spaces(s, j);
        if (s[k] == '*' || s[k] == '.') j = skip_primary(s, k + 1);
        else if ((unsigned char)s[k] == 0xE2 && (unsigned char)s[k + 1] == 0x8A && (unsigned char)s[k + 2] == 0x99)
            j = skip_primary(s, k + 3);
        else return j;
    }
}

/* a binary operator: what precedes it (spaces skipped) ends an operand */
static int is_binary(const char *s, int i) {
    int k = i - 1;
    while (k >= 0 && (s[k] == ' ' || s[k] == '\t')) k--;
    return k >= 0 && (is_word(s[k]) || s[k] == ')' || s[k] == '\'');
}

/* the positions after a line's '=' of: 0 activations, 1 binary + - *, 2 names */
static int mutation_sites(const char *text, int what, int *at, int cap) {
    if (what != 1) return sites(text, what == 0 ? 0 : 2, at, cap);
    int n = 0, in_value = 0;
    for (int i = 0; text[i] && n < cap; i++) {
        char c = text[i];
        if (c == '\n') { in_value = 0; continue; }
        if ((i == 0 || text[i - 1] == '\n') && !strncmp(text + i, "state", 5) && !is_word(text[i + 5])) in_value = -1;
        if (c == '=' && !in_value) { in_value = 1; continue; }
        if (in_value == 1 && (c == '+' || c == '-' || c == '*') && is_binary(text, i)) at[n++] = i;
    }
    return n;
}

/* a name at random among those an equation at position i may read: the
   states, and the equations (a state's update as s') of the lines above */
static int name_before(Rng *rng, const char *text, int i, char *name, size_t n) {
    char names[GRAPH_MAX_EQS + 2 * GRAPH_MAX_STATES][GRAPH_IDENT_MAX + 2];
    int k = 0;
    for (int l = 0; text[l] && k < GRAPH_MAX_EQS + GRAPH_MAX_STATES; l++) {
        const char *nl = strchr(text + l, '\n');
        int end = nl ? (int)(nl - text) : (int)strlen(text);
        if (end >= i) break; /* the line of i and after */
        int j = skip_spaces(text, l), len = word_len(text + j);
        if (len == 5 && !strncmp(text + j, "state", 5)) {
            const char *eq = strchr(text + j, '=');
            for (int q = eq ? (int)(eq - text) + 1 : end; q < end && k < GRAPH_MAX_STATES;) {
                q = skip_spaces(text, q);
                int w = word_len(text + q);
                if (w && w <= GRAPH_IDENT_MAX) snprintf(names[k++], sizeof names[0], "%.*s", w, text + q);
                q += w;
                while (q < end && (text[q] == ',' || text[q] == ' ' || text[q] == '\t')) q++;
                if (!w) break;
            }
        } else if (len && len <= GRAPH_IDENT_MAX + 1 && text[j] != ';' && text[j] != '#') {
            snprintf(names[k++], sizeof names[0], "%.*s", len, text + j);
        }
        l = end;
        if (!text[l]) break;
    }
    if (!k) return -1;
    snprintf(name, n, "%s", names[rng_int(rng, k)]);
    return 0;
}

static const char *const OPS = "+*-";

static int mutate_once(Rng *rng, const char *text, int kind, char *out, size_t n, char *what, size_t wn) {
    int at[512];
    int m = mutation_sites(text, kind == GM_ACTIVATION ? 0 : kind == GM_OPERATOR ? 1 : 2, at, 512);
    if (kind == GM_DELETE) {
        /* an activation or a binary operator: count both */
        int acts[512], ops[512];
        int na = mutation_sites(text, 0, acts, 512), no = mutation_sites(text, 1, ops, 512);
        if (!na && !no) return -1;
        int pick = rng_int(rng, na + no);
        if (pick < na) {
            int i = acts[pick], len = word_len(text + i);
            snprintf(what, wn, "delete: %.*s( ) at byte %d, its argument kept", len, text + i, i);
            snprintf(out, n, "%.*s%s", i, text, text + i + len);
        } else {
            int i = ops[pick - na];
            int end = text[i] == '*' ? skip_primary(text, i + 1) : skip_term(text, i + 1);
            int start = i;
            while (start > 0 && (text[start - 1] == ' ' || text[start - 1] == '\t')) start--;
            snprintf(what, wn, "delete: '%.*s' at byte %d", end - i, text + i, i);
            snprintf(out, n, "%.*s%s", start, text, text + end);
        }
        return 0;
    }
    if (!m) return -1;
    int i = at[rng_int(rng, m)];
    int len = kind == GM_OPERATOR ? 1 : word_len(text + i);
    char repl[128];
    switch (kind) {
    case GM_ACTIVATION: snprintf(repl, sizeof repl, "%s", ACTS[rng_int(rng, 4)]); break;
    case GM_OPERATOR: {
        char other[2] = {0, 0};
        do other[0] = OPS[rng_int(rng, 3)]; while (other[0] == text[i]);
        snprintf(repl, sizeof repl, "%s", other);
        break;
    }
    case GM_INPUT:
        if (name_before(rng, text, i, repl, sizeof repl)) return -1;
        break;
    case GM_INSERT: {
        char a[GRAPH_IDENT_MAX + 2], b[GRAPH_IDENT_MAX + 2];
        snprintf(a, sizeof a, "%.*s", len, text + i);
        if (name_before(rng, text, i + 1, b, sizeof b)) snprintf(b, sizeof b, "%s", a);
        char op = OPS[rng_int(rng, 3)];
        switch (rng_int(rng, 3)) {
        /* not identity( ), which computes nothing: the node would not be one */
        case 0: snprintf(repl, sizeof repl, "%s(%s)", ACTS[(const int[]){0, 1, 3}[rng_int(rng, 3)]], a); break;
        case 1: snprintf(repl, sizeof repl, "(%s %c %s)", a, op, b); break;
        default: snprintf(repl, sizeof repl, "(%s %c %s(W x + R %s + b))", a, op, ACTS[rng_int(rng, 4)], b); break;
        }
        break;
    }
    default: return -1;
    }
    if ((int)strlen(repl) == len && !strncmp(repl, text + i, (size_t)len)) return -1;
    snprintf(what, wn, "%s: '%.*s' -> '%s' at byte %d", GRAPH_MUTATION_NAMES[kind], len, text + i, repl, i);
    snprintf(out, n, "%.*s%s%s", i, text, repl, text + i + len);
    return 0;
}

int graph_mutate(Rng *rng, const char *text, int kind, char *out, size_t n, char *what, size_t what_n) {
    char said[256], *tmp;
    if (strlen(text) + 160 > n) return -1;
    tmp = malloc(n);
    if (!tmp) return -1;
    int rc = -1;
    for (int tries = 0; tries < 16 && rc; tries++) {
        int k = kind >= 0 && kind < GM_KINDS ? kind : rng_int(rng, GM_KINDS);
        if (mutate_once(rng, text, k, tmp, n, said, sizeof said) == 0 && strcmp(tmp, text) &&
            graph_prune_text(tmp, out, n) == 0)
            rc = 0;
    }
    free(tmp);
    if (rc == 0 && what) snprintf(what, what_n, "%s", said);
    return rc;
}

int graph_prune_text(const char *text, char *out, size_t n) {
    if (strlen(text) >= n) return -1;
    snprintf(out, n, "%s", text);
    int dead[GRAPH_MAX_EQS];
    int k = graph_dead_lines(out, dead, GRAPH_MAX_EQS);
    /* from the last line up, so that the earlier lines keep their numbers */
    for (int q = k - 1; q >= 0; q--) {
        char *s = out;
        for (int l = 1; l < dead[q] && s; l++) {
            s = strchr(s, '\n');
            if (s) s++;
        }
        if (!s || !*s) continue;
        char *e = strchr(s, '\n');
        const char *rest = e ? e + 1 : s + strlen(s);
        memmove(s, rest, strlen(rest) + 1);
    }
    return 0;
}
