/* suggest.c: see suggest.h. */
#include "suggest.h"

#include <string.h>

/* longer words are not mistyped names (and would need bigger rows) */
#define SUGGEST_MAX_LEN 64

int edit_distance(const char *a, const char *b, int limit) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > SUGGEST_MAX_LEN || nb > SUGGEST_MAX_LEN) return limit + 1;
    /* three rows of the dynamic programme: i-2, i-1 and i (swaps look two back) */
    int rows[3][SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= nb; j++) rows[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int d = prev[j - 1] + cost;
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
    }
    int d = rows[na % 3][nb];
    return d > limit ? limit + 1 : d;
}

const char *closest_name(const char *word, const char *const *names, size_t n) {
    const char *best = NULL;
    int best_d = 0;
    for (size_t i = 0; i < n; i++) {
        int allowed = strlen(names[i]) <= 4 ? 1 : 2;
        int d = edit_distance(word, names[i], allowed);
        if (d <= allowed && (!best || d < best_d)) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}
