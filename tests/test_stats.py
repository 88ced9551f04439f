"""Checks of scripts/rnnbench_stats.py: known values, calibration under a null, power, TOST, Holm.

Known values come from scipy's documented examples and from small cases computed by hand; the
null and power simulations are seeded and sized to run in a few seconds. The measured null rate
and power are printed (pytest -s shows them).

Run: /usr/bin/python3 -m pytest -q tests/test_stats.py
"""
import math
import os
import sys

import numpy as np
import pytest
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import rnnbench_stats as st  # noqa: E402

N_NULL = 800  # repetitions of the null simulation: a rate's standard error is about 0.8 %


# ------------------------------------------------------------------------------------------------
# known values

def test_wilcoxon_matches_scipys_documented_example():
    # scipy.stats.wilcoxon's docstring (1.10): Darwin's height differences, exact two-sided
    # p = 0.041259765625
    d = np.array([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75])
    check = st.paired_difference(d, np.zeros_like(d), log=False, claim="greater")
    assert check.p == pytest.approx(0.041259765625, abs=1e-12)
    assert check.direction == 1 and check.outcome == "HOLDS"
    assert check.effect == pytest.approx(d.mean())


def test_wilcoxon_hand_computed_all_positive():
    # six positive differences: the exact two-sided p is 2 / 2^6; the t interval by hand
    variant, base = np.exp([1, 2, 3, 4, 5, 6]), np.ones(6)
    check = st.paired_difference(variant, base, claim="less")
    assert check.p == pytest.approx(2 / 64)
    assert check.outcome == "FAILS"  # significant, the other way
    d = np.arange(1, 7.0)
    half = stats.t.ppf(0.975, 5) * d.std(ddof=1) / math.sqrt(6)
    assert (check.ci_low, check.ci_high) == pytest.approx((3.5 - half, 3.5 + half))
    # five pairs cannot reach p < 0.05 whatever they are: nothing is detectable
    assert math.isinf(st.paired_difference(np.exp([1, 2, 3, 4, 5]), np.ones(5)).mde)


def test_welch_and_mann_whitney_match_scipy():
    x, y = np.exp([0.1, 0.5, 0.9, 1.3, 0.2]), np.exp([1.1, 1.7, 2.2, 1.4])
    welch = st.unpaired_difference(x, y)
    ref = stats.ttest_ind(np.log(x), np.log(y), equal_var=False)
    assert welch.p == pytest.approx(ref.pvalue, rel=1e-12)
    assert welch.direction == -1
    assert welch.effect == pytest.approx(np.log(x).mean() - np.log(y).mean())
    mwu = st.unpaired_difference(x, y, test="mann-whitney")
    assert mwu.p == pytest.approx(stats.mannwhitneyu(np.log(x), np.log(y)).pvalue)
    assert st.welch_t([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(
        tuple(stats.ttest_ind([1, 2, 3, 4], [5, 6, 7, 8], equal_var=False)))


def test_fisher_matches_scipys_documented_example():
    # scipy.stats.fisher_exact's docstring: whales and sharks, [[6, 2], [1, 4]], p = 0.1026
    check = st.solve_counts(6, 8, 1, 5)
    assert check.p == pytest.approx(0.10256410, abs=1e-7)
    assert check.outcome == "INCONCLUSIVE" and check.direction == 1
    # 3 runs a side: even 3/3 against 0/3 gives p = 0.1, so no change is detectable
    assert st.solve_counts(3, 3, 0, 3).p == pytest.approx(0.1)
    assert math.isinf(st.solve_counts(3, 3, 0, 3).mde)


def test_log_rank_hand_computed():
    # variant solves at 1 and 2, base at 3, one base run censored at the budget 4
    check = st.time_to_solve([1, 2], [1, 1], [3, 4], [1, 0], claim="greater")
    # by hand: t=1: 4 at risk, E1 = 2/4, V = (2/4)(2/4)(3/3); t=2: 3 at risk, E1 = 1/3,
    # V = (1/3)(2/3)(2/2); t=3: no variant run at risk; O1 = 2, E1 = 5/6, V = 1/4 + 2/9
    o_minus_e, v = 2 - 5 / 6, 1 / 4 + 2 / 9
    assert check.effect == pytest.approx(o_minus_e / v)  # Peto's log hazard ratio
    assert check.direction == 1
    # exact test by hand: log-rank scores 3/4, 5/12, -1/12, -13/12; of the 6 ways to pick the
    # variant's 2 runs, 2 give |score sum| >= 14/12, so p = 1/3 (up to the sampling of relabelings)
    assert check.p == pytest.approx(1 / 3, abs=0.02)
    steps, fraction, median = st.kaplan_meier([3, 4], [1, 0])
    assert list(fraction) == [1.0, 0.5] and median == 3


def test_log_rank_large_samples_use_statsmodels_chi_square():
    rng = np.random.default_rng(5)
    times = np.minimum(rng.exponential(1.0, 120), 2.0)
    events, group = (times < 2.0).astype(int), np.r_[np.ones(60, int), np.zeros(60, int)]
    observed, expected, variance = st._observed_expected(times, events, group)
    assert st.log_rank_p(times, events, group) == pytest.approx(
        stats.chi2.sf((observed - expected) ** 2 / variance, 1), rel=1e-9)


def test_holm_on_known_p_values():
    # Holm 1979: sorted p times (m - rank), made monotone, capped at 1
    ps = [0.01, 0.04, 0.03, 0.005, 0.5]
    adjusted = [c.p_adjusted for c in st.holm([st._fixed(p) for p in ps])]
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    outcomes = [c.outcome for c in st.holm([st._fixed(p) for p in ps])]
    assert outcomes == ["HOLDS", "INCONCLUSIVE", "INCONCLUSIVE", "HOLDS", "INCONCLUSIVE"]


def test_study_verdict_counts():
    holds, fails, open_ = st._fixed(0.001), st._fixed(0.5), st._fixed(0.5)
    fails = st.solve_counts(0, 12, 12, 12, claim="greater")  # significantly fewer: FAILS
    assert fails.outcome == "FAILS"
    assert st.verdict_text([holds, holds]) == "REPRODUCED (2 HOLDS, 0 FAILS, 0 INCONCLUSIVE)"
    assert st.study_verdict([fails, open_])[0] == "CONTRADICTED"
    assert st.study_verdict([holds, fails, open_])[0] == "MIXED"
    assert st.study_verdict([holds, open_])[0] == "INCONCLUSIVE"


# ------------------------------------------------------------------------------------------------
# calibration: under a null, difference checks are INCONCLUSIVE at least 95 % of the time

def null_rates(rng):
    """Fraction of non-INCONCLUSIVE outcomes of each difference check when nothing differs."""
    counts = {"paired": 0, "welch": 0, "mann-whitney": 0, "fisher": 0, "log-rank": 0}
    for _ in range(N_NULL):
        # heavy-tailed losses with a per-draw effect shared by both arms (the paired design)
        draw = rng.normal(0, 1, 12)
        a = np.exp(draw + rng.standard_t(3, 12) * 0.5)
        b = np.exp(draw + rng.standard_t(3, 12) * 0.5)
        counts["paired"] += st.paired_difference(a, b, claim="greater").outcome != "INCONCLUSIVE"
        # independent runs for the unpaired tests (a shared draw would make them conservative)
        x, y = np.exp(rng.standard_t(3, (2, 12)))
        counts["welch"] += st.unpaired_difference(x, y).outcome != "INCONCLUSIVE"
        counts["mann-whitney"] += st.unpaired_difference(
            x, y, test="mann-whitney", claim="less").outcome != "INCONCLUSIVE"
        solved = rng.random((2, 12)) < 0.4
        counts["fisher"] += st.solve_counts(solved[0].sum(), 12, solved[1].sum(),
                                            12).outcome != "INCONCLUSIVE"
        steps = np.minimum(rng.exponential(500, (2, 12)), 1000)
        counts["log-rank"] += st.time_to_solve(steps[0], steps[0] < 1000, steps[1],
                                               steps[1] < 1000).outcome != "INCONCLUSIVE"
    return {k: v / N_NULL for k, v in counts.items()}


def test_null_difference_checks_are_inconclusive_95_percent():
    """Each check is INCONCLUSIVE in at least 95 % of null repetitions, up to the simulation's
    own error: a test of exact size 5 % (the log-rank's permutation test is one) lands above or
    below 5 % by chance, so a rate counts as above only when a one-sided binomial test at 1 %
    says so. All checks pooled, the rate must be at most 5 % outright."""
    rates = null_rates(np.random.default_rng(20261130))
    print("\nnull rate of non-INCONCLUSIVE outcomes:", rates)
    for check, rate in rates.items():
        above = stats.binomtest(round(rate * N_NULL), N_NULL, 0.05, alternative="greater").pvalue
        assert above >= 0.01, f"{check}: {rate:.1%} of null checks were not INCONCLUSIVE"
    assert np.mean(list(rates.values())) <= 0.05


def test_holm_keeps_a_null_study_inconclusive():
    rng = np.random.default_rng(7)
    decided = 0
    for _ in range(100):
        checks = [st.unpaired_difference(np.exp(rng.normal(0, 1, 10)),
                                         np.exp(rng.normal(0, 1, 10))) for _ in range(8)]
        decided += st.study_verdict(st.holm(checks))[0] != "INCONCLUSIVE"
    assert decided / 100 <= 0.05


# ------------------------------------------------------------------------------------------------
# power: an effect the calculation calls detectable is detected about 80 % of the time

def detection_rate(check_of, repetitions=300):
    return np.mean([check_of() == "HOLDS" for _ in range(repetitions)])


def test_paired_power_matches_its_minimum_detectable_effect():
    rng = np.random.default_rng(11)
    n, sd = 20, 0.5
    mde = st.paired_mde(n, sd)
    rate = detection_rate(lambda: st.paired_difference(
        np.exp(rng.normal(mde, sd, n)), np.ones(n), claim="greater").outcome)
    print(f"\npaired: MDE {mde:.3f} (sd {sd}, n {n}) detected in {rate:.1%}")
    assert 0.72 <= rate <= 0.88


def test_welch_power_matches_its_minimum_detectable_effect():
    rng = np.random.default_rng(12)
    n, sd = 15, 1.0
    mde_true = st.unpaired_mde(n, n, sd)
    rate = detection_rate(lambda: st.unpaired_difference(
        np.exp(rng.normal(mde_true, sd, n)), np.exp(rng.normal(0, sd, n)),
        claim="greater").outcome)
    print(f"\nwelch: MDE {mde_true:.3f} (sd {sd}, n {n} a side) detected in {rate:.1%}")
    assert 0.72 <= rate <= 0.88


# ------------------------------------------------------------------------------------------------
# equivalence

def test_tost_small_equal_samples_are_inconclusive_not_holds():
    same = [0.10, 0.12, 0.11]
    check = st.equivalence(same, same, margin=1.1)
    assert check.outcome == "INCONCLUSIVE"
    assert st.equivalence([0.1, 0.2, 0.15], [0.15, 0.1, 0.2], margin=1.25,
                          paired=True).outcome == "INCONCLUSIVE"


def test_tost_large_samples_with_a_tiny_difference_hold():
    rng = np.random.default_rng(3)
    base = np.exp(rng.normal(0, 0.3, 400))
    variant = np.exp(rng.normal(0.01, 0.3, 400))
    assert st.equivalence(variant, base, margin=1.1).outcome == "HOLDS"
    assert st.equivalence(variant, base, margin=1.1).p < 0.05


def test_tost_fails_when_the_difference_exceeds_the_margin():
    rng = np.random.default_rng(4)
    base, variant = np.exp(rng.normal(0, 0.2, 50)), np.exp(rng.normal(1.0, 0.2, 50))
    assert st.equivalence(variant, base, margin=1.25).outcome == "FAILS"


def test_the_modules_docstring_examples_hold():
    import doctest

    import rnnbench_cells
    for module in (st, rnnbench_cells):
        assert doctest.testmod(module).failed == 0, module.__name__


# ------------------------------------------------------------------------------------------------
# sample sizes from power (the drivers' design()): the designed n detects its effect ~80 %

def test_paired_n_detects_its_design_effect_at_about_the_stated_power():
    rng = np.random.default_rng(21)
    alpha = 0.05 / 10  # greff2015's design: Holm's first step over 10 checks
    n = st.paired_n(1.0, alpha=alpha)
    rate = np.mean([st.paired_difference(np.exp(rng.normal(1.0, 1.0, n)), np.ones(n),
                                         claim="greater").p < alpha for _ in range(300)])
    print(f"\npaired_n: d_z 1 at alpha {alpha}: n {n}, detected in {rate:.1%}")
    assert 0.72 <= rate <= 0.92
    assert st.paired_n(1.0, alpha=alpha) > st.paired_n(1.0)  # a stricter level needs more


def test_tost_paired_n_establishes_equivalence_at_about_the_stated_power():
    rng = np.random.default_rng(22)
    margin, sd = 1.5, 0.4
    n = st.tost_paired_n(math.log(margin), sd)
    base = np.ones(n)
    rate = np.mean([st.equivalence(np.exp(rng.normal(0, sd, n)), base, margin,
                                   paired=True).outcome == "HOLDS" for _ in range(300)])
    print(f"\ntost_paired_n: margin {margin}, sd {sd}: n {n}, equivalent in {rate:.1%}")
    assert 0.75 <= rate <= 0.95


def test_unpaired_n_detects_its_design_effect_at_about_the_stated_power():
    rng = np.random.default_rng(24)
    alpha = 0.05 / 8  # greff-jsb's design: Holm's first step over 8 checks
    n = st.unpaired_n(1.0, test="mann-whitney", alpha=alpha)
    assert n > st.unpaired_n(1.0, alpha=alpha)  # the rank test's efficiency costs values
    assert st.unpaired_mde(n - 1, n - 1, 1.0, "mann-whitney", alpha) > 1.0  # the smallest
    rate = np.mean([st.unpaired_difference(np.exp(rng.normal(1.0, 1.0, n)),
                                           np.exp(rng.normal(0, 1.0, n)), claim="greater",
                                           test="mann-whitney").p < alpha for _ in range(300)])
    print(f"\nunpaired_n: d 1 at alpha {alpha}: n {n} a side, detected in {rate:.1%}")
    assert 0.72 <= rate <= 0.92


def test_tost_unpaired_n_establishes_equivalence_at_about_the_stated_power():
    rng = np.random.default_rng(25)
    margin, sd = 1.5, 0.4
    n = st.tost_unpaired_n(math.log(margin), sd)
    assert n > st.tost_paired_n(math.log(margin), sd)  # two spreads, not one
    rate = np.mean([st.equivalence(np.exp(rng.normal(0, sd, n)), np.exp(rng.normal(0, sd, n)),
                                   margin).outcome == "HOLDS" for _ in range(300)])
    print(f"\ntost_unpaired_n: margin {margin}, sd {sd}: n {n} a side, equivalent in {rate:.1%}")
    assert 0.72 <= rate <= 0.92


def test_fisher_n_has_exact_power_and_is_the_smallest():
    n = st.fisher_n(0.9, 0.1, alpha=0.05 / 7)  # hochreiter1997's design
    assert st.fisher_power(n, n, 0.9, 0.1, alpha=0.05 / 7) >= st.POWER
    assert st.fisher_power(n - 1, n - 1, 0.9, 0.1, alpha=0.05 / 7) < st.POWER
    rng = np.random.default_rng(23)
    rate = np.mean([st.solve_counts(rng.binomial(n, 0.9), n, rng.binomial(n, 0.1), n).p
                    < 0.05 / 7 for _ in range(400)])
    print(f"\nfisher_n: 0.9 vs 0.1 at alpha {0.05 / 7:.4f}: n {n}, detected in {rate:.1%}")
    assert abs(rate - st.fisher_power(n, n, 0.9, 0.1, alpha=0.05 / 7)) < 0.06


def test_share_difference_null_is_calibrated_and_an_effect_is_found():
    rng = np.random.default_rng(24)
    n = 19
    lr_bins = np.repeat([0, 1, 2], [7, 6, 6])
    hidden = np.tile([8, 16, 32], 7)[:n]
    decided = [st.share_difference(rng.normal(0, 1, n), lr_bins, hidden,
                                   permutations=400, bootstraps=20).outcome != "INCONCLUSIVE"
               for _ in range(150)]
    print(f"\nshare_difference null: decided in {np.mean(decided):.1%}")
    assert np.mean(decided) <= 0.08
    y = lr_bins * 2.0 + rng.normal(0, 0.5, n)  # lr matters, hidden does not
    assert st.share_difference(y, lr_bins, hidden, permutations=400).outcome == "HOLDS"
    y = (hidden == 32) * 2.0 + rng.normal(0, 0.5, n)  # hidden matters, lr does not
    assert st.share_difference(y, lr_bins, hidden, permutations=400).outcome == "FAILS"


def test_a_gated_check_is_inconclusive_whatever_its_p():
    check = st.paired_difference(np.exp(np.arange(1.0, 13.0)), np.ones(12), claim="greater")
    assert check.outcome == "HOLDS"
    gated = st.holm([check])[0].__class__(**{**check.__dict__, "gate": "control failed"})
    assert gated.outcome == "INCONCLUSIVE" and "gated: control failed" in gated.line()
