/* suggest.h: the known name closest to a mistyped one, for "did you mean"
   hints in messages. */
#ifndef RNNBENCH_SUGGEST_H
#define RNNBENCH_SUGGEST_H

#include <stddef.h>

/* The edit distance between a and b: insertions, deletions, substitutions
   and swaps of two neighbouring characters each count 1 (bytes, not
   characters), capped at limit + 1. */
int edit_distance(const char *a, const char *b, int limit);

/* The name of names[0..n) closest to word, when it is close enough to be
   what was meant: at most 1 edit from a name of up to 4 characters, 2 from a
   longer one; the first listed wins a tie. NULL when none is. */
const char *closest_name(const char *word, const char *const *names, size_t n);

#endif
