/* test_task_multiplication.c: what only the multiplication problem has
   (harness/tasks/multiplication.c): its shape and baseline, no 1997 form,
   and the product of the two marked values as target. */
#include "task_cases.h"
#include "task_marked_pair.h"

static Case cases[] = {
    {"multiplication", 50, 0, 4, 2, 1, LOSS_MSE, 50},
};

/* Var(UV) for independent U, V ~ U(0,1): 1/9 - 1/16 */
static double closed_form(const Case *c) {
    (void)c;
    return 7.0 / 144;
}

/* the target's mean E[UV] = 1/4 */
static void trivial(const Case *c, int T, const Batch *bt) {
    (void)c;
    constant_predictor(T, bt, 0.25);
}

TASK_CASE_TESTS(multiplication, cases, closed_form, trivial, 1)

Test(multiplication, rejects_form_1997) {
    TaskParams p;
    task_params_default(&p);
    p.form = 1997;
    expect_rejected("multiplication", &p, "form 1997");
}

static void target_is_the_product(double v1, double v2, const real *out) {
    cr_assert(close_to(out[0], v1 * v2, 1e-6, 1e-6));
}

Test(multiplication, product_of_marked_values) {
    check_halves("multiplication", 0, target_is_the_product);
}
