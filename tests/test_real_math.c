/* The float build's own elementary functions (cells/real.h) against libm in double:
   exp_f over the whole finite range, log1p_unit_f over [0, 1] (the BCE loss's argument).
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

#endif
