/* graph_registry.c: the definitions of cells written as equations, by name,
   for the life of the process (a Cell points at its definition). */
#include "graph.h"
#include "cell.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GraphDef **defs;
static int n_defs, cap_defs;

const GraphDef *graph_find(const char *name) {
    for (int k = 0; k < n_defs; k++)
        if (!strcmp(defs[k]->name, name)) return defs[k];
    return NULL;
}

int graph_register(GraphDef *d, char *err, size_t err_len) {
    char name[sizeof d->name]; /* messages may follow freeing d */
    memcpy(name, d->name, sizeof name);
    int ok_name = *name != '\0' && strlen(name) < CELL_NAME_MAX;
    for (const char *c = name; *c && ok_name; c++)
        ok_name = isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.';
    if (!ok_name) {
        snprintf(err, err_len, "[cell %s]: a cell's name is 1 to %d letters, digits, '_', '-' or '.'", name,
                 CELL_NAME_MAX - 1);
        graph_def_free(d);
        return -1;
    }
    const GraphDef *old = graph_find(name);
    if (old) {
        int same = old->text && d->text && !strcmp(old->text, d->text);
        graph_def_free(d);
        if (same) return 0; /* the same file read again */
        snprintf(err, err_len, "[cell %s]: defined twice with different equations", name);
        return -1;
    }
    Cell probe;
    char why[256];
    if (cell_make(&probe, name, 1, 1, why, sizeof why) == 0) {
        snprintf(err, err_len, "[cell %s]: a built-in cell has that name: give yours another", name);
        graph_def_free(d);
        return -1;
    }
    if (n_defs == cap_defs) {
        int cap = cap_defs ? 2 * cap_defs : 8;
        GraphDef **more = realloc(defs, (size_t)cap * sizeof *more);
        if (!more) {
            snprintf(err, err_len, "[cell %s]: out of memory", name);
            graph_def_free(d);
            return -1;
        }
        defs = more;
        cap_defs = cap;
    }
    defs[n_defs++] = d;
    return 0;
}
