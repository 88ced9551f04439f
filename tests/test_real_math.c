/* The float build's own elementary functions (cells/real.h) against libm in double:
   exp_f over the whole finite range, log1p_unit_f over [0, 1] (the BCE loss's argument),
   tanh_f and sigmoid_r (every gate) over [-30, 30], every float near 0 and the limits.
   The traces against PyTorch check them only through whole models, at 1e-5. */
#include <criterion/criterion.h>
#include <math.h>

#include "../cells/real.h"

#ifndef RNNBENCH_DOUBLE

/* the worst relative error of f against ref over n points spread evenly on [lo, hi] */
static double worst_relative(float (*f)(float), double (*ref)(double), double lo, double hi,
                             int n, double *where) {
    double worst = 0;
    for (int i = 0; i <= n; i++) {
        const float x = (float)(lo + (hi - lo) * i / n);
        const double want = ref(x), got = f(x);
        const double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
        if (err > worst) {
            worst = err;
            *where = x;
        }
    }
    return worst;
}

Test(real_math, log1p_unit_f_is_within_a_float_ulp_of_log1p) {
    double where = 0;
    const double worst = worst_relative(log1p_unit_f, log1p, 0.0, 1.0, 100000, &where);
    /* float's unit roundoff is 6e-8: a couple of roundings in the series */
    cr_assert(worst < 3e-7, "log1p_unit_f: relative error %g at e = %g", worst, where);
    cr_assert_eq(log1p_unit_f(0.0f), 0.0f, "log(1 + 0) must be exactly 0");
    /* tiny e, where log1p(e) ~ e: still relative, no cancellation */
    const double tiny = worst_relative(log1p_unit_f, log1p, 1e-30, 1e-6, 1000, &where);
    cr_assert(tiny < 3e-7, "log1p_unit_f: relative error %g at e = %g", tiny, where);
}

Test(real_math, exp_f_is_within_a_few_float_ulp_of_exp) {
    double where = 0;
    const double worst = worst_relative(exp_f, exp, -87.0, 88.0, 200000, &where);
    cr_assert(worst < 5e-7, "exp_f: relative error %g at x = %g", worst, where);
    cr_assert(isnan(exp_f(NAN)), "exp_f must pass a NaN through (divergence detection)");
}

static double sigmoid_ref(double x) { return 1 / (1 + exp(-x)); }

Test(real_math, tanh_f_is_within_a_few_float_ulp_of_tanh) {
    double where = 0;
    /* 6 ulp measured, 2^-24 relative each: both sides of the clamp at 9 */
    const double worst = worst_relative(tanh_f, tanh, -30.0, 30.0, 600000, &where);
    cr_assert(worst < 5e-7, "tanh_f: relative error %g at x = %g", worst, where);
    /* near 0, where tanh(x) ~ x: still relative (no 1 - e cancellation) */
    const double tiny = worst_relative(tanh_f, tanh, 1e-30, 1e-2, 100000, &where);
    cr_assert(tiny < 5e-7, "tanh_f: relative error %g at x = %g", tiny, where);
    cr_assert_eq(tanh_f(0.0f), 0.0f);
    cr_assert(signbit(tanh_f(-0.0f)), "tanh_f(-0) must be -0");
    cr_assert_eq(tanh_f(INFINITY), 1.0f);
    cr_assert_eq(tanh_f(-INFINITY), -1.0f);
    cr_assert(isnan(tanh_f(NAN)), "tanh_f must pass a NaN through (divergence detection)");
    /* odd, and never beyond +-1, for every float in [0, 12] a thousandth apart */
    for (float x = 0; x < 12; x += 1e-3f) {
        cr_assert(tanh_f(x) <= 1.0f && tanh_f(-x) == -tanh_f(x), "tanh_f at %g: %.9g", x, tanh_f(x));
    }
}

Test(real_math, sigmoid_r_is_close_to_sigmoid_and_inside_0_1) {
    double worst = 0, where = 0;
    for (int i = 0; i <= 600000; i++) {
        const float x = (float)(-30.0 + 60.0 * i / 600000);
        const double err = fabs(sigmoid_r(x) - sigmoid_ref(x));
        if (err > worst) {
            worst = err;
            where = x;
        }
        cr_assert(sigmoid_r(x) >= 0.0f && sigmoid_r(x) <= 1.0f, "sigmoid_r(%g) = %.9g", x, sigmoid_r(x));
    }
    /* absolute: a gate needs no relative accuracy in its tail (real.h says why) */
    cr_assert(worst < 2.5e-7, "sigmoid_r: absolute error %g at x = %g", worst, where);
    cr_assert_eq(sigmoid_r(0.0f), 0.5f);
    cr_assert_eq(sigmoid_r(INFINITY), 1.0f);
    cr_assert_eq(sigmoid_r(-INFINITY), 0.0f);
    cr_assert(isnan(sigmoid_r(NAN)), "sigmoid_r must pass a NaN through");
}

#endif
