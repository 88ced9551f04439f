/* graph_parse.c: equations -> a compiled GraphDef (graph.h).

   Grammar of an expression (docs/cells.md "Cells written as equations"):
       expr    := term (('+' | '-') term)*
       term    := unary (('*' | '.' | '⊙') unary)*
       unary   := '-' unary | primary
       primary := NUMBER | '(' expr ')' | FN '(' expr ')' | 'W' 'x' | 'R' primary
                | 'p' | 'b' | NAME | NAME'
   FN is sigmoid, tanh, relu or identity; NAME a state (its value at t-1),
   NAME' a state's new value, or an earlier equation. Each W, R, p and b is a
   parameter tensor of its own. The expression is parsed into a small tree,
   then lowered into nodes: + and - flatten into one sum of terms, a product
   with p becomes an elementwise-weight term of the sum, with a number a
   coefficient. Compilation (graph_def_finish) orders the nodes by the R
   products they wait for, groups the products on one argument, and gives
   every value its place (docs/cells.md). */
#include "graph.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* tokens */

typedef enum { TK_END, TK_NUM, TK_NAME, TK_LP, TK_RP, TK_PLUS, TK_MINUS, TK_MUL, TK_BAD } TokKind;

typedef struct {
    TokKind kind;
    int col;        /* column of its first character in the line */
    double num;
    char name[GRAPH_IDENT_MAX + 2]; /* with a trailing ' for a new state value */
    int too_long;
} Tok;

typedef struct {
    const char *s;
    size_t pos;
    int col0;       /* column of s[0] */
    Tok tok;        /* the current token */
    int err_col;
    char *err;
    size_t err_len;
} Lex;

/* the column of byte pos: characters, not bytes, so ⊙ counts one */
static int col_of(const Lex *lx, size_t pos) {
    int c = lx->col0;
    for (size_t k = 0; k < pos; k++)
        if (((unsigned char)lx->s[k] & 0xC0) != 0x80) c++;
    return c;
}

/* the first error of a line wins: the lexer's and the lowering's both land here */
static int lex_vfail(Lex *lx, int col, const char *fmt, va_list ap) {
    if (lx->err_col) return -1;
    vsnprintf(lx->err, lx->err_len, fmt, ap);
    lx->err_col = col;
    return -1;
}

static int lex_fail(Lex *lx, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lex_fail(Lex *lx, int col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lex_vfail(lx, col, fmt, ap);
    va_end(ap);
    return -1;
}

static void next(Lex *lx) {
    const char *s = lx->s;
    while (s[lx->pos] == ' ' || s[lx->pos] == '\t') lx->pos++;
    Tok *t = &lx->tok;
    memset(t, 0, sizeof *t);
    t->col = col_of(lx, lx->pos);
    const unsigned char *u = (const unsigned char *)s + lx->pos;
    if (!*u) { t->kind = TK_END; return; }
    if (isdigit(*u) || (*u == '.' && isdigit(u[1]))) {
        char *end;
        t->num = strtod(s + lx->pos, &end);
        lx->pos = (size_t)(end - s);
        t->kind = TK_NUM;
        return;
    }
    if (isalpha(*u) || *u == '_') {
        size_t n = 0;
        while (isalnum(u[n]) || u[n] == '_') n++;
        if (n > GRAPH_IDENT_MAX) t->too_long = 1;
        size_t keep = n > GRAPH_IDENT_MAX ? GRAPH_IDENT_MAX : n;
        memcpy(t->name, u, keep);
        if (u[n] == '\'') t->name[keep] = '\'', n++;
        lx->pos += n;
        t->kind = TK_NAME;
        return;
    }
    lx->pos++;
    switch (*u) {
    case '(': t->kind = TK_LP; return;
    case ')': t->kind = TK_RP; return;
    case '+': t->kind = TK_PLUS; return;
    case '-': t->kind = TK_MINUS; return;
    case '*': case '.': t->kind = TK_MUL; return;
    }
    /* ⊙ (U+2299) and − (U+2212), as the papers write them */
    if (u[0] == 0xE2 && u[1] == 0x8A && u[2] == 0x99) { lx->pos += 2; t->kind = TK_MUL; return; }
    if (u[0] == 0xE2 && u[1] == 0x88 && u[2] == 0x92) { lx->pos += 2; t->kind = TK_MINUS; return; }
    t->kind = TK_BAD;
}

/* ------------------------------------------------------------------------- */
/* the tree of one expression */

typedef enum { A_NUM, A_NAME, A_WX, A_R, A_P, A_B, A_ADD, A_SUB, A_NEG, A_MUL, A_FN } AstOp;

typedef struct {
    AstOp op;
    int a, b;      /* children */
    double num;
    GraphOp fn;    /* A_FN */
    char name[GRAPH_IDENT_MAX + 2];
    int col;
} Ast;

#define AST_MAX 256
#define DEPTH_MAX 64 /* nesting of parentheses, functions, R and unary minus */
typedef struct {
    Lex lx;
    Ast ast[AST_MAX];
    int n;
    int depth;
} Tree;

static int ast_new(Tree *tr, AstOp op, int a, int b, int col) {
    if (tr->n == AST_MAX) return lex_fail(&tr->lx, col, "expression too long (more than %d parts)", AST_MAX);
    Ast *x = &tr->ast[tr->n];
    memset(x, 0, sizeof *x);
    x->op = op;
    x->a = a;
    x->b = b;
    x->col = col;
    return tr->n++;
}

static int parse_expr(Tree *tr);

static const char *tok_text(const Tok *t) {
    switch (t->kind) {
    case TK_END: return "the end of the line";
    case TK_NUM: return "a number";
    case TK_NAME: return t->name;
    case TK_LP: return "'('";
    case TK_RP: return "')'";
    case TK_PLUS: return "'+'";
    case TK_MINUS: return "'-'";
    case TK_MUL: return "a product";
    default: return "a character that is no part of an equation";
    }
}

static int fn_of(const char *name, GraphOp *op) {
    if (!strcmp(name, "sigmoid")) *op = GN_SIGMOID;
    else if (!strcmp(name, "tanh")) *op = GN_TANH;
    else if (!strcmp(name, "relu")) *op = GN_RELU;
    else if (!strcmp(name, "identity")) *op = GN_IDENTITY;
    else return 0;
    return 1;
}

static int parse_primary_at(Tree *tr);

/* the recursion is as deep as the nesting: bounded, so that no line can
   exhaust the stack */
static int parse_primary(Tree *tr) {
    if (++tr->depth > DEPTH_MAX) return lex_fail(&tr->lx, tr->lx.tok.col, "nested more than %d deep", DEPTH_MAX);
    int k = parse_primary_at(tr);
    tr->depth--;
    return k;
}

static int parse_primary_at(Tree *tr) {
    Lex *lx = &tr->lx;
    Tok t = lx->tok;
    if (t.kind == TK_NUM) {
        next(lx);
        int k = ast_new(tr, A_NUM, -1, -1, t.col);
        if (k >= 0) tr->ast[k].num = t.num;
        return k;
    }
    if (t.kind == TK_LP) {
        next(lx);
        int e = parse_expr(tr);
        if (e < 0) return -1;
        if (lx->tok.kind != TK_RP)
            return lex_fail(lx, lx->tok.col, "expected ')' (for the '(' at column %d), got %s", t.col,
                            tok_text(&lx->tok));
        next(lx);
        return e;
    }
    if (t.kind != TK_NAME) {
        if (t.kind == TK_BAD) return lex_fail(lx, t.col, "unexpected character");
        return lex_fail(lx, t.col, "expected a term, got %s", tok_text(&t));
    }
    if (t.too_long) return lex_fail(lx, t.col, "name longer than %d characters", GRAPH_IDENT_MAX);
    next(lx);
    GraphOp fn;
    if (fn_of(t.name, &fn)) {
        if (lx->tok.kind != TK_LP) return lex_fail(lx, lx->tok.col, "expected '(' after %s", t.name);
        int arg = parse_primary(tr);
        if (arg < 0) return -1;
        int k = ast_new(tr, A_FN, arg, -1, t.col);
        if (k >= 0) tr->ast[k].fn = fn;
        return k;
    }
    if (!strcmp(t.name, "W")) {
        if (lx->tok.kind != TK_NAME || strcmp(lx->tok.name, "x"))
            return lex_fail(lx, lx->tok.col, "W applies to the input x only (W x; R for a state)");
        next(lx);
        return ast_new(tr, A_WX, -1, -1, t.col);
    }
    if (!strcmp(t.name, "R")) {
        Tok arg_tok = lx->tok;
        if (arg_tok.kind == TK_NAME && !strcmp(arg_tok.name, "x"))
            return lex_fail(lx, arg_tok.col, "R applies to a state or an expression of them (W x for the input)");
        if (arg_tok.kind != TK_NAME && arg_tok.kind != TK_LP)
            return lex_fail(lx, arg_tok.col, "expected what R multiplies (a state, a name or '('), got %s",
                            tok_text(&arg_tok));
        int arg = parse_primary(tr);
        if (arg < 0) return -1;
        AstOp aop = tr->ast[arg].op;
        if (aop == A_NUM || aop == A_P || aop == A_B || aop == A_WX || aop == A_R)
            return lex_fail(lx, arg_tok.col, "R applies to a state or an expression of them");
        return ast_new(tr, A_R, arg, -1, t.col);
    }
    if (lx->tok.kind == TK_LP)
        return lex_fail(lx, t.col, "unknown function '%s' (sigmoid, tanh, relu, identity)", t.name);
    if (!strcmp(t.name, "p")) return ast_new(tr, A_P, -1, -1, t.col);
    if (!strcmp(t.name, "b")) return ast_new(tr, A_B, -1, -1, t.col);
    if (!strcmp(t.name, "x"))
        return lex_fail(lx, t.col, "x appears only as W x (a linear map of the input)");
    int k = ast_new(tr, A_NAME, -1, -1, t.col);
    if (k >= 0) memcpy(tr->ast[k].name, t.name, sizeof t.name);
    return k;
}

static int parse_unary(Tree *tr) {
    if (tr->lx.tok.kind == TK_MINUS) {
        int col = tr->lx.tok.col;
        if (++tr->depth > DEPTH_MAX) return lex_fail(&tr->lx, col, "nested more than %d deep", DEPTH_MAX);
        next(&tr->lx);
        int a = parse_unary(tr);
        tr->depth--;
        return a < 0 ? -1 : ast_new(tr, A_NEG, a, -1, col);
    }
    return parse_primary(tr);
}

static int parse_term(Tree *tr) {
    int a = parse_unary(tr);
    while (a >= 0 && tr->lx.tok.kind == TK_MUL) {
        int col = tr->lx.tok.col;
        next(&tr->lx);
        int b = parse_unary(tr);
        a = b < 0 ? -1 : ast_new(tr, A_MUL, a, b, col);
    }
    return a;
}

static int parse_expr(Tree *tr) {
    int a = parse_term(tr);
    while (a >= 0 && (tr->lx.tok.kind == TK_PLUS || tr->lx.tok.kind == TK_MINUS)) {
        AstOp op = tr->lx.tok.kind == TK_PLUS ? A_ADD : A_SUB;
        int col = tr->lx.tok.col;
        next(&tr->lx);
        int b = parse_term(tr);
        a = b < 0 ? -1 : ast_new(tr, op, a, b, col);
    }
    return a;
}

/* ------------------------------------------------------------------------- */
/* lowering a tree into nodes */

typedef struct {
    GraphDef *d;
    Tree *tr;
    const char *eq;   /* the equation's name (a state's without the ') */
    int line;
} Lower;

static int lower_fail(Lower *lw, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lower_fail(Lower *lw, int col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lex_vfail(&lw->tr->lx, col, fmt, ap);
    va_end(ap);
    return -1;
}

static int node_new(Lower *lw, GraphOp op, int col) {
    GraphDef *d = lw->d;
    if (d->n_nodes == GRAPH_MAX_NODES)
        return lower_fail(lw, col, "cell '%s' has more than %d operations", d->name, GRAPH_MAX_NODES);
    GraphNode *n = &d->nodes[d->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->a = n->b = n->param = n->state = n->group = n->adj_slot = -1;
    return d->n_nodes++;
}

static int state_index(const GraphDef *d, const char *name) {
    for (int s = 0; s < d->n_states; s++)
        if (!strcmp(d->states[s], name)) return s;
    return -1;
}

/* the first state named in the subtree, for a tensor's name ("" when none) */
static const char *first_state(const Lower *lw, int a) {
    if (a < 0) return "";
    const Ast *x = &lw->tr->ast[a];
    if (x->op == A_NAME) {
        char base[GRAPH_IDENT_MAX + 2];
        snprintf(base, sizeof base, "%s", x->name);
        char *q = strchr(base, '\'');
        if (q) *q = '\0';
        int s = state_index(lw->d, base);
        return s >= 0 ? lw->d->states[s] : "";
    }
    const char *l = first_state(lw, x->a);
    return *l ? l : first_state(lw, x->b);
}

/* a new parameter named base (with _2, _3, ... when the equation has one already) */
static int param_new(Lower *lw, const char *base, int kind, int col) {
    GraphDef *d = lw->d;
    char name[64];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 2;; k++) {
        int taken = 0;
        for (int p = 0; p < d->n_params; p++) taken |= !strcmp(d->params[p].name, name);
        if (!taken) break;
        snprintf(name, sizeof name, "%s_%d", base, k);
    }
    if (strlen(name) > GRAPH_TENSOR_NAME_MAX)
        return lower_fail(lw, col, "the tensor name '%s' is longer than %d characters: shorten the names",
                          name, GRAPH_TENSOR_NAME_MAX);
    if (d->n_params == GRAPH_MAX_PARAMS)
        return lower_fail(lw, col, "more than %d parameter tensors", GRAPH_MAX_PARAMS);
    GraphParam *p = &d->params[d->n_params];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    return d->n_params++;
}

static int lower_node(Lower *lw, int a);

typedef struct {
    GraphTerm t[GRAPH_MAX_TERMS];
    int n;
    double constant;
    int has_constant;
} Terms;

static int add_term(Lower *lw, Terms *ts, double coef, int node, int param, int col) {
    if (ts->n == GRAPH_MAX_TERMS) return lower_fail(lw, col, "a sum of more than %d terms", GRAPH_MAX_TERMS);
    ts->t[ts->n++] = (GraphTerm){coef, node, param};
    return 0;
}

/* the tree at a, times coef, as terms of a sum */
static int lower_terms(Lower *lw, int a, double coef, Terms *ts) {
    const Ast *x = &lw->tr->ast[a];
    char name[64];
    switch (x->op) {
    case A_ADD:
    case A_SUB:
        if (lower_terms(lw, x->a, coef, ts)) return -1;
        return lower_terms(lw, x->b, x->op == A_ADD ? coef : -coef, ts);
    case A_NEG: return lower_terms(lw, x->a, -coef, ts);
    case A_NUM:
        ts->constant += coef * x->num;
        ts->has_constant = 1;
        return 0;
    case A_B:
    case A_P: {
        snprintf(name, sizeof name, "bias_%s", lw->eq);
        int p = param_new(lw, name, 2, x->col);
        return p < 0 ? -1 : add_term(lw, ts, coef, -1, p, x->col);
    }
    case A_MUL: {
        const Ast *l = &lw->tr->ast[x->a], *r = &lw->tr->ast[x->b];
        if (l->op == A_NUM) return lower_terms(lw, x->b, coef * l->num, ts);
        if (r->op == A_NUM) return lower_terms(lw, x->a, coef * r->num, ts);
        int lp = l->op == A_P || l->op == A_B, rp = r->op == A_P || r->op == A_B;
        if (lp && rp) return lower_fail(lw, x->col, "a product of two parameter vectors is one parameter vector");
        if (lp || rp) {
            int other = lp ? x->b : x->a;
            const char *s = first_state(lw, other);
            if (*s) snprintf(name, sizeof name, "peep_%s_%s", lw->eq, s);
            else snprintf(name, sizeof name, "peep_%s", lw->eq);
            int node = lower_node(lw, other);
            if (node < 0) return -1;
            int p = param_new(lw, name, 2, lp ? l->col : r->col);
            return p < 0 ? -1 : add_term(lw, ts, coef, node, p, x->col);
        }
        break;
    }
    default: break;
    }
    int node = lower_node(lw, a);
    return node < 0 ? -1 : add_term(lw, ts, coef, node, -1, x->col);
}

/* a node holding a value that is stored and readable after the step: a
   product's argument must not be W x or R h, whose places backward reuses */
static int plain(Lower *lw, int node, int col) {
    GraphOp op = lw->d->nodes[node].op;
    if (op != GN_XPROJ && op != GN_REC) return node;
    int k = node_new(lw, GN_IDENTITY, col);
    if (k >= 0) lw->d->nodes[k].a = node;
    return k;
}

static int lower_node(Lower *lw, int a) {
    GraphDef *d = lw->d;
    const Ast *x = &lw->tr->ast[a];
    char name[64];
    switch (x->op) {
    case A_NAME: {
        char base[GRAPH_IDENT_MAX + 2];
        snprintf(base, sizeof base, "%s", x->name);
        char *q = strchr(base, '\'');
        if (q) *q = '\0';
        int s = state_index(d, base);
        if (q) {
            if (s < 0) return lower_fail(lw, x->col, "%s: only a state has a new value (states: %s%s%s)", x->name,
                                         d->states[0], d->n_states > 1 ? ", " : "", d->n_states > 1 ? d->states[1] : "");
            if (d->state_node[s] < 0) return lower_fail(lw, x->col, "%s is used before its equation", x->name);
            return d->state_node[s];
        }
        if (s >= 0) {
            for (int k = 0; k < d->n_nodes; k++)
                if (d->nodes[k].op == GN_PREV && d->nodes[k].state == s) return k;
            int k = node_new(lw, GN_PREV, x->col);
            if (k >= 0) d->nodes[k].state = s;
            return k;
        }
        for (int e = 0; e < d->n_eqs; e++)
            if (d->eqs[e].state < 0 && !strcmp(d->eqs[e].name, base)) return d->eqs[e].node;
        return lower_fail(lw, x->col, "unknown name '%s' (not a state or an earlier equation)", x->name);
    }
    case A_WX: {
        snprintf(name, sizeof name, "weight_ih_%s", lw->eq);
        int p = param_new(lw, name, 0, x->col);
        int k = p < 0 ? -1 : node_new(lw, GN_XPROJ, x->col);
        if (k >= 0) d->nodes[k].param = p;
        return k;
    }
    case A_R: {
        int arg = lower_node(lw, x->a);
        if (arg < 0) return -1;
        arg = plain(lw, arg, x->col);
        if (arg < 0) return -1;
        const char *s = first_state(lw, x->a);
        snprintf(name, sizeof name, "weight_%sh_%s", *s ? s : "h", lw->eq);
        int p = param_new(lw, name, 1, x->col);
        int k = p < 0 ? -1 : node_new(lw, GN_REC, x->col);
        if (k >= 0) d->nodes[k].param = p, d->nodes[k].a = arg;
        return k;
    }
    case A_FN: {
        int arg = lower_node(lw, x->a);
        int k = arg < 0 ? -1 : node_new(lw, x->fn, x->col);
        if (k >= 0) d->nodes[k].a = arg;
        return k;
    }
    case A_MUL: {
        const Ast *l = &lw->tr->ast[x->a], *r = &lw->tr->ast[x->b];
        if (l->op != A_NUM && r->op != A_NUM && l->op != A_P && l->op != A_B && r->op != A_P && r->op != A_B) {
            int na = lower_node(lw, x->a);
            int nb = na < 0 ? -1 : lower_node(lw, x->b);
            int k = nb < 0 ? -1 : node_new(lw, GN_MUL, x->col);
            if (k >= 0) d->nodes[k].a = na, d->nodes[k].b = nb;
            return k;
        }
        break;
    }
    default: break;
    }
    Terms ts = {0};
    if (lower_terms(lw, a, 1, &ts)) return -1;
    if (ts.has_constant && ts.constant != 0 && add_term(lw, &ts, ts.constant, -1, -1, x->col)) return -1;
    if (ts.n == 1 && ts.t[0].coef == 1 && ts.t[0].param < 0 && ts.t[0].node >= 0) return ts.t[0].node;
    int k = node_new(lw, GN_SUM, x->col);
    if (k < 0) return -1;
    d->nodes[k].n_terms = ts.n;
    memcpy(d->nodes[k].terms, ts.t, sizeof ts.t);
    return k;
}

/* ------------------------------------------------------------------------- */
/* lines */

GraphDef *graph_def_new(const char *name) {
    GraphDef *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    for (int s = 0; s < GRAPH_MAX_STATES; s++) d->state_node[s] = -1;
    return d;
}

void graph_def_free(GraphDef *d) {
    if (!d) return;
    free(d->text);
    free(d);
}

static int keep_text(GraphDef *d, const char *key, const char *value) {
    size_t need = d->text_len + strlen(key) + strlen(value) + 5;
    if (need > d->text_cap) {
        size_t cap = need * 2;
        char *more = realloc(d->text, cap);
        if (!more) return -1;
        d->text = more;
        d->text_cap = cap;
    }
    d->text_len += (size_t)sprintf(d->text + d->text_len, "%s = %s\n", key, value);
    return 0;
}

static int is_ident(const char *s) {
    if (!isalpha((unsigned char)*s) && *s != '_') return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

static const char *const RESERVED[] = {"W", "R", "p", "b", "x", "sigmoid", "tanh", "relu", "identity", "state"};

static int is_reserved(const char *s) {
    for (size_t k = 0; k < sizeof RESERVED / sizeof RESERVED[0]; k++)
        if (!strcmp(RESERVED[k], s)) return 1;
    return 0;
}

#define LINE_FAIL(col_, ...) (*col = (col_), snprintf(err, err_len, __VA_ARGS__), -1)

static int state_line(GraphDef *d, const char *value, int line, int value_col, int *col, char *err,
                      size_t err_len) {
    if (d->n_states) return LINE_FAIL(1, "state: given twice (first on line %d)", d->state_line);
    if (d->n_eqs) return LINE_FAIL(1, "state: the state line comes before the equations");
    const char *s = value;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        const char *start = s;
        while (*s && *s != ',' && *s != ' ' && *s != '\t') s++;
        size_t n = (size_t)(s - start);
        int c = value_col + (int)(start - value);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), start);
        if (!n) return LINE_FAIL(c, "state: expected a state's name");
        if (n > GRAPH_IDENT_MAX) return LINE_FAIL(c, "state: '%s' is longer than %d characters", name, GRAPH_IDENT_MAX);
        if (!is_ident(name)) return LINE_FAIL(c, "state: '%s' is not a name (letters, digits, _)", name);
        if (is_reserved(name)) return LINE_FAIL(c, "state: '%s' is a reserved word", name);
        if (state_index(d, name) >= 0) return LINE_FAIL(c, "state: '%s' given twice", name);
        if (d->n_states == GRAPH_MAX_STATES)
            return LINE_FAIL(c, "state: at most %d states (the output h, and a memory c)", GRAPH_MAX_STATES);
        snprintf(d->states[d->n_states++], GRAPH_IDENT_MAX + 1, "%.*s", GRAPH_IDENT_MAX, name);
        while (*s == ' ' || *s == '\t') s++;
        if (*s == ',') {
            s++;
            if (!*s) return LINE_FAIL(value_col + (int)(s - value), "state: expected a state's name after ','");
        } else if (*s) {
            return LINE_FAIL(value_col + (int)(s - value), "state: expected ',' between names");
        }
    }
    if (!d->n_states) return LINE_FAIL(value_col, "state: expected one or two names (the output first)");
    d->state_line = line;
    return 0;
}

int graph_def_line(GraphDef *d, const char *key, const char *value, int line, int value_col, int *col,
                   char *err, size_t err_len) {
    if (keep_text(d, key, value)) return LINE_FAIL(1, "out of memory");
    if (!strcmp(key, "state")) return state_line(d, value, line, value_col, col, err, err_len);
    if (!d->n_states) return LINE_FAIL(1, "%s: the state line (state = h or state = h, c) comes first", key);
    char base[64];
    snprintf(base, sizeof base, "%s", key);
    size_t kn = strlen(base);
    int update = kn && base[kn - 1] == '\'';
    if (update) base[--kn] = '\0';
    if (kn > GRAPH_IDENT_MAX) return LINE_FAIL(1, "%s: a name is at most %d characters", key, GRAPH_IDENT_MAX);
    if (!is_ident(base)) return LINE_FAIL(1, "%s: not a name (letters, digits, _; a state's update ends in ')", key);
    if (is_reserved(base)) return LINE_FAIL(1, "%s: a reserved word", key);
    int s = state_index(d, base);
    if (update && s < 0) return LINE_FAIL(1, "%s: %s is not a state (state = ... on line %d)", key, base, d->state_line);
    if (!update && s >= 0) return LINE_FAIL(1, "%s: a state: its update is written %s' = ...", key, base);
    if (update && d->state_node[s] >= 0) return LINE_FAIL(1, "%s: given twice", key);
    for (int e = 0; e < d->n_eqs; e++)
        if (!update && d->eqs[e].state < 0 && !strcmp(d->eqs[e].name, base))
            return LINE_FAIL(1, "%s: given twice (first on line %d)", key, d->eqs[e].line);
    if (d->n_eqs == GRAPH_MAX_EQS) return LINE_FAIL(1, "more than %d equations", GRAPH_MAX_EQS);

    Tree *tr = malloc(sizeof *tr);
    if (!tr) return LINE_FAIL(1, "out of memory");
    tr->n = 0;
    tr->depth = 0;
    tr->lx = (Lex){.s = value, .col0 = value_col, .err = err, .err_len = err_len};
    next(&tr->lx);
    int root = parse_expr(tr);
    if (root >= 0 && tr->lx.tok.kind != TK_END)
        lex_fail(&tr->lx, tr->lx.tok.col, "expected an operator or the end of the line, got %s", tok_text(&tr->lx.tok));
    int node = -1;
    if (!tr->lx.err_col) {
        Lower lw = {d, tr, base, line};
        int before = d->n_nodes;
        node = lower_node(&lw, root);
        /* a state's new value is stored in the state: its own node, never
           one another equation names or a product's place */
        if (node >= 0 && update && (node < before || d->nodes[node].op == GN_XPROJ || d->nodes[node].op == GN_REC)) {
            int k = node_new(&lw, GN_IDENTITY, value_col);
            if (k >= 0) d->nodes[k].a = node;
            node = k;
        }
        if (node >= 0 && update) {
            /* a bare constant or bias cannot be a state */
            d->state_node[s] = node;
        }
    }
    int bad = tr->lx.err_col;
    free(tr);
    if (bad) return *col = bad, -1;
    GraphEq *eq = &d->eqs[d->n_eqs++];
    snprintf(eq->name, sizeof eq->name, "%.*s", GRAPH_IDENT_MAX, base);
    eq->line = line;
    eq->node = node;
    eq->state = update ? s : -1;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* compilation */

static void mark_used(GraphDef *d, int k, char *used) {
    if (k < 0 || used[k]) return;
    used[k] = 1;
    const GraphNode *n = &d->nodes[k];
    mark_used(d, n->a, used);
    mark_used(d, n->b, used);
    for (int t = 0; t < n->n_terms; t++) mark_used(d, n->terms[t].node, used);
}

static int max2(int a, int b) { return a > b ? a : b; }

/* backward's adjoints, planned on the compiled program: a product or W x
   whose value no backward reads (plain terms of sums, as in every native
   cell) keeps its adjoint in its value's place, where the weights'
   gradients read it after the loop; and the first contribution of a step
   to each adjoint in a slot assigns rather than adds, so that nothing is
   zeroed or copied at each step. The flags follow graph.c's backward order:
   steps last to first; in a node, a then b, then the terms in order. */
static int first_write(const GraphDef *d, int k, char *written) {
    const GraphNode *n = &d->nodes[k];
    if (n->adj_slot < 0 && n->loc != LOC_ACT && n->loc != LOC_XPROJ) return 0; /* a state's: accumulates */
    if (written[k]) return 0;
    written[k] = 1;
    return 1;
}

static void plan_adjoints(GraphDef *d) {
    char read_back[GRAPH_MAX_NODES] = {0};
    for (int k = 0; k < d->n_nodes; k++) {
        const GraphNode *n = &d->nodes[k];
        if (n->op == GN_MUL) read_back[n->a] = read_back[n->b] = 1;
        if (n->op == GN_SIGMOID || n->op == GN_TANH || n->op == GN_RELU) read_back[k] = 1;
        for (int q = 0; q < n->n_terms; q++)
            if (n->terms[q].param >= 0 && n->terms[q].node >= 0) read_back[n->terms[q].node] = 1;
    }
    for (int g = 0; g < d->n_groups; g++) read_back[d->groups[g].arg] = 1; /* dR reads it after the loop */
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        n->adj_in_place = (n->op == GN_REC || n->op == GN_XPROJ) && !read_back[k] && n->adj_slot < 0;
        memset(n->adj_first, 0, sizeof n->adj_first);
    }
    /* a group's product reads its members' adjoints as one matrix: all in
       place, or all in the adjoint row */
    for (int g = 0; g < d->n_groups; g++) {
        int all = 1;
        for (int k = 0; k < d->n_nodes; k++)
            if (d->nodes[k].op == GN_REC && d->nodes[k].group == g) all &= d->nodes[k].adj_in_place;
        for (int k = 0; k < d->n_nodes; k++)
            if (d->nodes[k].op == GN_REC && d->nodes[k].group == g) d->nodes[k].adj_in_place = all;
    }
    char written[GRAPH_MAX_NODES] = {0};
    for (int s = d->n_steps - 1; s >= 0; s--) {
        const GraphStep st = d->steps[s];
        if (st.is_group) {
            d->groups[st.id].adj_first = first_write(d, d->groups[st.id].arg, written);
            continue;
        }
        GraphNode *n = &d->nodes[st.id];
        if (n->op == GN_SUM) {
            for (int q = 0; q < n->n_terms; q++)
                if (n->terms[q].node >= 0) n->adj_first[2 + q] = (unsigned char)first_write(d, n->terms[q].node, written);
        } else {
            n->adj_first[0] = (unsigned char)first_write(d, n->a, written);
            if (n->op == GN_MUL) n->adj_first[1] = (unsigned char)first_write(d, n->b, written);
        }
    }
    /* every adjoint in a slot is written each step, as every node has a
       reader; should one not be, the row is zeroed as before */
    d->adj_zero = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        const GraphNode *n = &d->nodes[k];
        if ((n->adj_slot >= 0 || n->loc == LOC_ACT || n->loc == LOC_XPROJ) && !written[k]) d->adj_zero = 1;
    }
    if (d->adj_zero) /* all in the zeroed row, then */
        for (int k = 0; k < d->n_nodes; k++) d->nodes[k].adj_in_place = 0;
}

#define FINISH_FAIL(line_, ...) (*line = (line_), snprintf(err, err_len, __VA_ARGS__), -1)

int graph_def_finish(GraphDef *d, int *line, char *err, size_t err_len) {
    if (!d->n_states) return FINISH_FAIL(d->header_line, "[cell %s]: no state line (state = h or state = h, c)", d->name);
    for (int s = 0; s < d->n_states; s++)
        if (d->state_node[s] < 0)
            return FINISH_FAIL(d->state_line, "state %s has no update (%s' = ...)", d->states[s], d->states[s]);
    char used[GRAPH_MAX_NODES] = {0};
    for (int s = 0; s < d->n_states; s++) mark_used(d, d->state_node[s], used);
    for (int e = 0; e < d->n_eqs; e++)
        if (!used[d->eqs[e].node])
            return FINISH_FAIL(d->eqs[e].line, "%s is computed but no state update uses it", d->eqs[e].name);
    for (int s = 0; s < d->n_states; s++) {
        GraphOp op = d->nodes[d->state_node[s]].op;
        if (op == GN_SUM && d->nodes[d->state_node[s]].n_terms == 0)
            return FINISH_FAIL(d->state_line, "state %s is updated to zero", d->states[s]);
    }
    /* levels: how many R products of this step a node waits for */
    int max_level = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        int lv = 0;
        if (n->a >= 0) lv = d->nodes[n->a].level;
        if (n->b >= 0) lv = max2(lv, d->nodes[n->b].level);
        for (int t = 0; t < n->n_terms; t++)
            if (n->terms[t].node >= 0) lv = max2(lv, d->nodes[n->terms[t].node].level);
        if (n->op == GN_REC) lv++;
        n->level = lv;
        max_level = max2(max_level, lv);
    }
    /* groups: the products of one level on one argument */
    d->n_groups = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        if (n->op != GN_REC) continue;
        int g = 0;
        while (g < d->n_groups && d->groups[g].arg != n->a) g++;
        if (g == d->n_groups) {
            if (g == GRAPH_MAX_GROUPS) return FINISH_FAIL(d->header_line, "more than %d products", GRAPH_MAX_GROUPS);
            d->groups[d->n_groups++] = (GraphGroup){.arg = n->a, .level = n->level};
        }
        n->group = g;
        d->groups[g].n++;
    }
    /* the tensors' order: W in order of appearance, then R group by group,
       then the vectors; perm[old] = new */
    int perm[GRAPH_MAX_PARAMS], next_p = 0;
    for (int k = 0; k < d->n_nodes; k++)
        if (d->nodes[k].op == GN_XPROJ) {
            d->nodes[k].loc = LOC_XPROJ;
            d->nodes[k].idx = next_p;
            perm[d->nodes[k].param] = next_p++;
        }
    d->n_xproj = next_p;
    for (int g = 0; g < d->n_groups; g++) {
        d->groups[g].first_param = next_p;
        for (int k = 0; k < d->n_nodes; k++)
            if (d->nodes[k].op == GN_REC && d->nodes[k].group == g) perm[d->nodes[k].param] = next_p++;
    }
    for (int p = 0; p < d->n_params; p++)
        if (d->params[p].kind == 2) perm[p] = next_p++;
    GraphParam sorted[GRAPH_MAX_PARAMS];
    for (int p = 0; p < d->n_params; p++) sorted[perm[p]] = d->params[p];
    memcpy(d->params, sorted, sizeof sorted);
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        if (n->param >= 0) n->param = perm[n->param];
        for (int t = 0; t < n->n_terms; t++)
            if (n->terms[t].param >= 0) n->terms[t].param = perm[n->terms[t].param];
    }
    /* places: states, gates (for the gate statistics), products group by
       group, then everything else in an act slot */
    int slot = 0;
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        n->idx = n->op == GN_XPROJ ? n->idx : -1;
        if (n->op == GN_PREV) n->loc = LOC_PREV, n->idx = n->state;
    }
    for (int s = 0; s < d->n_states; s++) {
        GraphNode *n = &d->nodes[d->state_node[s]];
        n->loc = LOC_NEW;
        n->idx = s;
    }
    d->n_gates = 0;
    for (int e = 0; e < d->n_eqs && d->n_gates < 4; e++) {
        GraphNode *n = &d->nodes[d->eqs[e].node];
        if (d->eqs[e].state >= 0 || n->op != GN_SIGMOID || n->idx >= 0 || strlen(d->eqs[e].name) > 3) continue;
        n->loc = LOC_ACT;
        n->idx = slot++;
        d->gate_eqs[d->n_gates++] = e;
    }
    for (int g = 0; g < d->n_groups; g++) {
        d->groups[g].first_slot = slot;
        d->groups[g].first_node = -1;
        for (int k = 0; k < d->n_nodes; k++)
            if (d->nodes[k].op == GN_REC && d->nodes[k].group == g) {
                if (d->groups[g].first_node < 0) d->groups[g].first_node = k;
                d->nodes[k].loc = LOC_ACT;
                d->nodes[k].idx = slot++;
            }
    }
    /* a sum read only by one activation is computed in that activation's
       place, which then applies in place: backward needs the activation's
       value, never the sum's (as the native cells' act) */
    int readers[GRAPH_MAX_NODES] = {0}, reader[GRAPH_MAX_NODES];
    for (int k = 0; k < d->n_nodes; k++) {
        const GraphNode *n = &d->nodes[k];
        int in[2 + GRAPH_MAX_TERMS], m = 0;
        in[m++] = n->a;
        in[m++] = n->b;
        for (int t = 0; t < n->n_terms; t++) in[m++] = n->terms[t].node;
        for (int q = 0; q < m; q++)
            if (in[q] >= 0) readers[in[q]]++, reader[in[q]] = k;
    }
    char shares[GRAPH_MAX_NODES] = {0};
    for (int k = 0; k < d->n_nodes; k++) {
        GraphOp r = readers[k] == 1 ? d->nodes[reader[k]].op : GN_PREV;
        shares[k] = d->nodes[k].op == GN_SUM && d->nodes[k].idx < 0 &&
                    (r == GN_SIGMOID || r == GN_TANH || r == GN_RELU || r == GN_IDENTITY);
    }
    for (int k = 0; k < d->n_nodes; k++) {
        GraphNode *n = &d->nodes[k];
        if (n->idx >= 0 || n->op == GN_XPROJ || n->op == GN_PREV || shares[k]) continue;
        n->loc = LOC_ACT;
        n->idx = slot++;
    }
    d->n_slots = slot;
    d->n_adj_own = 0;
    for (int k = 0; k < d->n_nodes; k++)
        if (shares[k]) {
            /* one place for both values, but the adjoints are two */
            d->nodes[k].loc = d->nodes[reader[k]].loc;
            d->nodes[k].idx = d->nodes[reader[k]].idx;
            d->nodes[k].adj_slot = d->n_slots + d->n_adj_own++;
        }
    /* the program: level by level, its products first, then its elementwise nodes */
    d->n_steps = 0;
    for (int lv = 0; lv <= max_level; lv++) {
        for (int g = 0; g < d->n_groups; g++)
            if (d->groups[g].level == lv) d->steps[d->n_steps++] = (GraphStep){1, g};
        for (int k = 0; k < d->n_nodes; k++) {
            GraphOp op = d->nodes[k].op;
            if (d->nodes[k].level == lv && op != GN_PREV && op != GN_XPROJ && op != GN_REC)
                d->steps[d->n_steps++] = (GraphStep){0, k};
        }
    }
    plan_adjoints(d);
    d->compiled = 1;
    return 0;
}
