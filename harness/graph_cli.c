/* graph_cli.c: `rnnbench graph`, the cell-equation tools the search driver
   (scripts/search.py, docs/search.md) calls, so that parsing, the canonical
   form and the mutations exist once, in C:

     rnnbench graph check FILE|-             is it well formed; its canonical form and hash
     rnnbench graph mutate --seed N [--kind K] FILE|-   one mutation, then check

   FILE holds a definition's lines (`state = ...`, one equation a line, as in
   a [cell] section, without the header). The answer is one JSON object on
   standard output, ill-formed or not (that is an answer, exit 0); bad usage or
   an unreadable file is a one-line error and exit 2. */
#include "graph_cli.h"
#include "util.h"
#include "../cells/graph.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 16384

static void graph_usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench graph check FILE|-\n"
            "       rnnbench graph mutate --seed N [--kind KIND] FILE|-\n"
            "FILE (or standard input for -) holds a cell's lines as in a [cell NAME] section:\n"
            "`state = h[, c]`, then one equation a line (docs/cells.md).\n"
            "  check   prints {\"ok\", \"error\" | \"hash\", \"canonical\", \"n_eqs\", \"n_params\"} as JSON:\n"
            "          the canonical form is the same for isomorphic graphs (docs/search.md)\n"
            "  mutate  one mutation as Jozefowicz et al. 2015 describe, equations left unread\n"
            "          removed; prints {\"text\", \"mutation\"} and check's fields for the new text,\n"
            "          or {\"text\": null} when no mutation applies\n"
            "  --seed N     the mutation's random stream (an integer)\n"
            "  --kind KIND  activation, operator, input, insert or delete (default: one at random)\n");
}

static int read_all(const char *path, char *buf, size_t cap) {
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "r");
    if (!f) {
        print_error("rnnbench graph: %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int big = n == cap - 1 && fgetc(f) != EOF;
    if (f != stdin) fclose(f);
    if (big) {
        print_error("rnnbench graph: %s: longer than %d bytes (no cell is that long)", path, TEXT_MAX - 1);
        return -1;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        print_error("rnnbench graph: %s: holds a NUL byte: not a text file", path);
        return -1;
    }
    return 0;
}

/* check's fields for text, into obj */
static void describe(json_t *obj, const char *text) {
    GraphDef *d;
    int line, col;
    char err[512];
    if (graph_parse_text("candidate", text, &d, &line, &col, err, sizeof err) != 0) {
        char where[640];
        if (col) snprintf(where, sizeof where, "line %d: column %d: %s", line, col, err);
        else snprintf(where, sizeof where, "line %d: %s", line, err);
        json_object_set_new(obj, "ok", json_false());
        json_object_set_new(obj, "error", json_string(where));
        return;
    }
    static char canon[TEXT_MAX];
    if (graph_canonical_text(d, canon, sizeof canon) != 0) {
        json_object_set_new(obj, "ok", json_false());
        json_object_set_new(obj, "error", json_string("the canonical form is too long"));
        graph_def_free(d);
        return;
    }
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, graph_canonical_hash(canon));
    json_object_set_new(obj, "ok", json_true());
    json_object_set_new(obj, "hash", json_string(hash));
    json_object_set_new(obj, "canonical", json_string(canon));
    json_object_set_new(obj, "n_eqs", json_integer(d->n_eqs));
    json_object_set_new(obj, "n_params", json_integer(d->n_params));
    graph_def_free(d);
}

static int print_json(json_t *obj) {
    char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(obj);
    if (!s) {
        print_error("rnnbench graph: out of memory");
        return 2;
    }
    puts(s);
    free(s);
    return fflush(stdout) == 0 ? 0 : 2;
}

int cmd_graph(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        graph_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "check") && strcmp(sub, "mutate")) {
        print_error("rnnbench graph: unknown command '%s' (check or mutate)", sub);
        return 2;
    }
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"kind", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *seed_text = NULL;
    int kind = -1, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc - 1, argv + 1, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': seed_text = optarg; break;
        case 'k':
            kind = -2;
            for (int k = 0; k < GM_KINDS; k++)
                if (!strcmp(optarg, GRAPH_MUTATION_NAMES[k])) kind = k;
            if (kind == -2) {
                print_error("rnnbench graph: --kind: expected activation, operator, input, insert or delete, got '%s'",
                            optarg);
                return 2;
            }
            break;
        case 'h': graph_usage(stdout); return 0;
        case '?':
        case ':': print_getopt_error("graph", opt, argv + 1); return 2;
        default: graph_usage(stderr); return 2;
        }
    }
    if (optind != argc - 2) {
        graph_usage(stderr);
        return 2;
    }
    const char *path = argv[1 + optind];
    int mutate = !strcmp(sub, "mutate");
    unsigned long long seed = 0;
    if (mutate && !seed_text) {
        print_error("rnnbench graph mutate: --seed N is needed (the mutation's random stream)");
        return 2;
    }
    if (!mutate && (seed_text || kind != -1)) {
        print_error("rnnbench graph check: --seed and --kind are mutate's options");
        return 2;
    }
    if (seed_text && !parse_u64(seed_text, &seed)) {
        char why[256];
        why_not_u64(seed_text, why, sizeof why);
        print_error("rnnbench graph: --seed: %s", why);
        return 2;
    }
    static char text[TEXT_MAX], out[TEXT_MAX];
    if (read_all(path, text, sizeof text)) return 2;
    json_t *obj = json_object();
    if (!obj) {
        print_error("rnnbench graph: out of memory");
        return 2;
    }
    if (!mutate) {
        describe(obj, text);
        return print_json(obj);
    }
    Rng rng;
    rng_stream(&rng, seed, "graph-mutate");
    char what[256];
    if (graph_mutate(&rng, text, kind, out, sizeof out, what, sizeof what) != 0) {
        json_object_set_new(obj, "text", json_null());
        return print_json(obj);
    }
    json_object_set_new(obj, "text", json_string(out));
    json_object_set_new(obj, "mutation", json_string(what));
    describe(obj, out);
    return print_json(obj);
}
