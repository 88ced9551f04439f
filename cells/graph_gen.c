/* graph_gen.c: random cells and mutations of cells, as equation text
   (graph.h). Both work on text, so that what they make is checked by the
   same parser as a cell written by hand. */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *out;
    size_t n, len;
    int overflow;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...) {
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
static void linear(Rng *rng, Scope *sc, Buf *b) {
    int n = 2 + rng_int(rng, 3);
    for (int k = 0; k < n; k++) {
        if (k) put(b, " %s ", rng_int(rng, 5) ? "+" : "-");
        switch (rng_int(rng, 6)) {
        case 0: case 1: put(b, "W x"); break;
        case 2: put(b, "R %s", pick(rng, sc)); break;
        case 3: put(b, "p . %s", pick(rng, sc)); break;
        case 4: put(b, "%s", pick(rng, sc)); break;
        default: put(b, "b"); break;
        }
    }
}

static void expr(Rng *rng, Scope *sc, int depth, int allow_relu, Buf *b) {
    int form = depth > 1 ? rng_int(rng, 2) : rng_int(rng, 6);
    const char *act = ACTS[rng_int(rng, allow_relu ? 4 : 3)];
    switch (form) {
    case 0: case 1: put(b, "%s(", act); linear(rng, sc, b); put(b, ")"); break;
    case 2: put(b, "%s * ", pick(rng, sc)); expr(rng, sc, depth + 1, allow_relu, b); break;
    case 3: put(b, "(1 - %s) * %s + ", pick(rng, sc), pick(rng, sc)); expr(rng, sc, depth + 1, allow_relu, b); break;
    case 4: put(b, "%s(R (%s * %s) + W x + b)", act, pick(rng, sc), pick(rng, sc)); break;
    default: put(b, "0.5 * "); expr(rng, sc, depth + 1, allow_relu, b); put(b, " - %s", pick(rng, sc)); break;
    }
}

int graph_random_text(Rng *rng, int n_states, int max_eqs, int allow_relu, char *out, size_t n) {
    static const char *const STATE[GRAPH_MAX_STATES] = {"h", "c"};
    Buf b = {out, n, 0, 0};
    Scope sc = {0};
    if (n_states < 1) n_states = 1;
    if (n_states > GRAPH_MAX_STATES) n_states = GRAPH_MAX_STATES;
    put(&b, "state = h%s\n", n_states > 1 ? ", c" : "");
    for (int s = 0; s < n_states; s++) snprintf(sc.names[sc.n++], sizeof sc.names[0], "%s", STATE[s]);
    if (max_eqs > GRAPH_MAX_EQS - GRAPH_MAX_STATES) max_eqs = GRAPH_MAX_EQS - GRAPH_MAX_STATES;
    int n_eqs = 1 + (max_eqs > 1 ? rng_int(rng, max_eqs) : 0);
    for (int e = 0; e < n_eqs; e++) {
        put(&b, "e%d = ", e);
        expr(rng, &sc, 0, allow_relu, &b);
        put(&b, "\n");
        snprintf(sc.names[sc.n++], sizeof sc.names[0], "e%d", e);
    }
    /* the memory c first (h may read c'), then h; every equation nobody
       read yet goes into an update, so that none is dead */
    for (int s = n_states - 1; s >= 0; s--) {
        put(&b, "%s' = ", STATE[s]);
        const char *gate = pick(rng, &sc);
        if (rng_int(rng, 2)) {
            put(&b, "(1 - sigmoid(%s)) * %s + sigmoid(%s) * tanh(", gate, STATE[s], gate);
        } else {
            put(&b, "tanh(");
        }
        linear(rng, &sc, &b);
        if (s == 0)
            for (int k = n_states; k < sc.n; k++)
                if (!sc.used[k]) put(&b, " + %s", sc.names[k]), sc.used[k] = 1;
        put(&b, ")\n");
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
