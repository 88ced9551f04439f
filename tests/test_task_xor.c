/* test_task_xor.c: what only temporal XOR has (harness/tasks/xor.c): its
   shape and ln 2 baseline, bits for values, the XOR of the marked bits as
   the target class. */
#include "task_cases.h"
#include "task_marked_pair.h"

static Case cases[] = {
    {"xor", 50, 0, 4, 2, 2, LOSS_XENT, 50},
};

/* the XOR of two fair bits is a fair bit */
static double closed_form(const Case *c) {
    (void)c;
    return log(2);
}

/* uniform logits over the two classes */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0);
}

TASK_CASE_TESTS(xor, cases, closed_form, trivial, 1)

static void target_is_the_xor(double v1, double v2, const real *out) {
    cr_assert_eq(out[(int)v1 ^ (int)v2], 1);
}

Test(xor, xor_of_marked_bits) { check_halves("xor", 1, target_is_the_xor); }
