/* graph_file.c: the [cell NAME] sections of an INI file, read without the
   experiment-file reader (`rnnbench trace --cell-file`): lines are
   `key = value`, comments start with ';' or '#', other sections are
   skipped. The experiment-file reader (harness/grid_read.c) feeds the same
   lines to the same calls. */
#include "graph.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(GraphDef **cur, const char *path, char *err, size_t err_len) {
    GraphDef *d = *cur;
    *cur = NULL;
    if (!d) return 0;
    int line = 0;
    char why[512];
    if (graph_def_finish(d, &line, why, sizeof why) != 0) {
        snprintf(err, err_len, "%s:%d: %s", path, line, why);
        graph_def_free(d);
        return -1;
    }
    if (graph_register(d, why, sizeof why) != 0) {
        snprintf(err, err_len, "%s: %s", path, why);
        return -1;
    }
    return 0;
}

int graph_read_file(const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    GraphDef *cur = NULL;
    char buf[4096];
    int line = 0, rc = 0, found = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line++;
        size_t n = strlen(buf);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || isspace((unsigned char)buf[n - 1]))) buf[--n] = '\0';
        char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == ';' || *s == '#') continue;
        if (*s == '[') {
            rc = finish(&cur, path, err, err_len);
            char *end = strchr(s, ']');
            if (rc || !end) {
                if (!rc) snprintf(err, err_len, "%s:%d: syntax error", path, line), rc = -1;
                break;
            }
            *end = '\0';
            char *name = s + 1;
            while (isspace((unsigned char)*name)) name++;
            if (!strncmp(name, "cell", 4) && isspace((unsigned char)name[4])) {
                name += 4;
                while (isspace((unsigned char)*name)) name++;
                cur = graph_def_new(name);
                if (!cur) snprintf(err, err_len, "%s: out of memory", path), rc = -1;
                else cur->header_line = line, found++;
            }
            continue;
        }
        if (!cur) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, err_len, "%s:%d: syntax error (expected key = value)", path, line);
            rc = -1;
            break;
        }
        char *key = s, *value = eq + 1;
        *eq = '\0';
        for (size_t k = strlen(key); k && isspace((unsigned char)key[k - 1]);) key[--k] = '\0';
        while (isspace((unsigned char)*value)) value++;
        char *semi = strstr(value, " ;");
        if (semi) {
            *semi = '\0';
            for (size_t k = strlen(value); k && isspace((unsigned char)value[k - 1]);) value[--k] = '\0';
        }
        int col = 0;
        char why[512];
        int value_col = 1;
        for (const char *c = buf; c < value; c++)
            if (((unsigned char)*c & 0xC0) != 0x80) value_col++;
        if (graph_def_line(cur, key, value, line, value_col, &col, why, sizeof why) != 0) {
            snprintf(err, err_len, "%s:%d: column %d: %s", path, line, col, why);
            rc = -1;
        }
    }
    if (rc == 0) rc = finish(&cur, path, err, err_len);
    graph_def_free(cur);
    fclose(f);
    if (rc == 0 && !found) {
        snprintf(err, err_len, "%s: no [cell NAME] section", path);
        rc = -1;
    }
    return rc;
}

int graph_define_text(const char *name, const char *text, char *err, size_t err_len) {
    GraphDef *d = graph_def_new(name);
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    char buf[4096];
    int line = 0;
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        line++;
        if (n >= sizeof buf) n = sizeof buf - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        s += nl ? (size_t)(nl - s) + 1 : strlen(s);
        char *key = buf;
        while (isspace((unsigned char)*key)) key++;
        if (!*key || *key == ';' || *key == '#') continue;
        char *eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, err_len, "line %d: expected key = value", line);
            graph_def_free(d);
            return -1;
        }
        *eq = '\0';
        char *value = eq + 1;
        for (size_t k = strlen(key); k && isspace((unsigned char)key[k - 1]);) key[--k] = '\0';
        while (isspace((unsigned char)*value)) value++;
        for (size_t k = strlen(value); k && isspace((unsigned char)value[k - 1]);) value[--k] = '\0';
        int col = 0, value_col = 1 + (int)(value - buf);
        char why[512];
        if (graph_def_line(d, key, value, line, value_col, &col, why, sizeof why) != 0) {
            snprintf(err, err_len, "line %d: column %d: %s", line, col, why);
            graph_def_free(d);
            return -1;
        }
    }
    char why[512];
    if (graph_def_finish(d, &line, why, sizeof why) != 0) {
        snprintf(err, err_len, "line %d: %s", line, why);
        graph_def_free(d);
        return -1;
    }
    return graph_register(d, err, err_len);
}
