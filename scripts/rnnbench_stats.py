"""The statistics of rnnbench's comparisons: checks with three outcomes, Holm, a study verdict.

Every check states a claim about a variant against a base and returns a Check whose outcome is
HOLDS (the data support the claim at level ALPHA), FAILS (the data support its opposite) or
INCONCLUSIVE (neither: the sample cannot tell), with its effect size, a 95 % interval, the p-value
and the minimum effect its sample could detect at 80 % power (MDE). The distributions all come
from scipy and statsmodels; nothing here tabulates or approximates one by hand.

    paired_difference    Wilcoxon signed-rank on log values, one pair per shared draw/seed
    unpaired_difference  Welch's t (default) or Mann-Whitney U on log values
    equivalence          TOST on log values within a stated margin: "no difference" HOLDS only
                         when non-equivalence is rejected, never merely because p >= ALPHA
    solve_counts         Fisher's exact test on solved / not solved
    time_to_solve        log-rank test, runs censored at the budget (Kaplan-Meier curves by
                         kaplan_meier)
    holm                 Holm's correction over a study's checks (outcomes recomputed)
    study_verdict        REPRODUCED / CONTRADICTED / INCONCLUSIVE / MIXED with the counts

Claims about losses are made on the log scale (a loss ratio; one outlying trial does not dominate
a mean of logs the way it dominates a mean of losses). A directional claim ("greater": the
variant's values are larger) FAILS when the test is significant the other way; "differs" has no
opposite and is INCONCLUSIVE when not significant.

Example:
    >>> import numpy as np, rnnbench_stats as st
    >>> rng = np.random.default_rng(0)
    >>> base = np.exp(rng.normal(0, 0.3, 12)); worse = base * np.exp(rng.normal(0.8, 0.3, 12))
    >>> st.paired_difference(worse, base, claim="greater", name="nfg worse").outcome
    'HOLDS'
    >>> st.equivalence(base[:6], base[6:], margin=1.25, name="np same").outcome  # 6 a side
    'INCONCLUSIVE'
"""
import dataclasses
import functools
import math
import warnings
import zlib

import numpy as np
from scipy import stats
from scipy.stats.contingency import odds_ratio
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower, TTestPower
from statsmodels.stats.proportion import proportion_effectsize
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttost_ind, ttost_paired

ALPHA = 0.05
POWER = 0.8
LEVEL = 0.95  # of every interval
OUTCOMES = ("HOLDS", "FAILS", "INCONCLUSIVE")
VERDICTS = ("REPRODUCED", "CONTRADICTED", "INCONCLUSIVE", "MIXED")
CLAIMS = ("greater", "less", "differs")
# Pitman efficiency of the rank tests relative to the t-test for normal data (3/pi): the power
# calculation of a rank test uses the t-test's with n scaled by it (Lehmann, Nonparametrics, 1975)
RANK_EFFICIENCY = 3 / math.pi
LOG_FLOOR = 1e-300  # a loss of exactly 0 (never seen in practice) is floored before the log


@dataclasses.dataclass(frozen=True)
class Check:
    """One claim tested: what, how, the effect with its interval, p, the MDE and the outcome.

    effect, ci_low, ci_high and mde are in `unit`; `direction` is +1 when the variant's values
    came out larger than the base's (by the test's own estimate), -1 smaller, 0 no estimate.
    `p_against` is the p-value of the opposite claim when the test has one (equivalence: the
    difference exceeds the margin); `p_adjusted` and `p_against_adjusted` are after holm().
    """
    name: str
    claim: str
    test: str
    n: tuple
    effect: float
    ci_low: float
    ci_high: float
    unit: str
    p: float
    mde: float
    direction: int = 0
    p_against: float = float("nan")
    p_adjusted: float = float("nan")
    p_against_adjusted: float = float("nan")
    margin: float = float("nan")
    note: str = ""
    gate: str = ""  # why a control made the check INCONCLUSIVE whatever its p ("" = no gate)

    @property
    def outcome(self):
        """HOLDS, FAILS or INCONCLUSIVE at ALPHA, from the adjusted p-values (raw before holm);
        INCONCLUSIVE whenever a gate is set (a control of the same run did not do its part)."""
        if self.gate:
            return "INCONCLUSIVE"
        p = self.p if math.isnan(self.p_adjusted) else self.p_adjusted
        p_against = self.p_against if math.isnan(self.p_against_adjusted) \
            else self.p_against_adjusted
        if self.claim == "equivalent":
            if p < ALPHA:
                return "HOLDS"
            return "FAILS" if p_against < ALPHA else "INCONCLUSIVE"
        if not p < ALPHA:
            return "INCONCLUSIVE"
        if self.claim == "differs":
            return "HOLDS"
        wanted = 1 if self.claim == "greater" else -1
        return "HOLDS" if self.direction == wanted else "FAILS"

    def line(self):
        """One line: outcome, claim, effect [95 % interval], test, n, p (Holm p), MDE."""
        holm_text = "" if math.isnan(self.p_adjusted) else f", Holm p={_num(self.p_adjusted)}"
        margin = "" if math.isnan(self.margin) else f", margin ±{_num(self.margin)}"
        return (f"{self.outcome:<12} {self.name}: {self.unit} {_num(self.effect, sign=True)} "
                f"[{_num(self.ci_low, sign=True)}, {_num(self.ci_high, sign=True)}]{margin}; "
                f"{self.test}, n={'/'.join(str(k) for k in self.n)}, p={_num(self.p)}"
                f"{holm_text}; detectable at {POWER:.0%} power: {_num(self.mde)}"
                + (f" ({self.note})" if self.note else "")
                + (f" [gated: {self.gate}]" if self.gate else ""))


def _num(x, sign=False):
    """A number for a check line: 3 significant digits, 'inf', '-' for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:+.3g}" if sign else f"{x:.3g}"


def log_values(values):
    """Return log of positive values as a float array (losses are compared as ratios)."""
    return np.log(np.maximum(np.asarray(values, dtype=float), LOG_FLOOR))


def _check_claim(claim):
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, not {claim!r}")


def _t_interval(estimate, se, df):
    """The LEVEL interval estimate ± t quantile × se (Student's t from scipy)."""
    if not (se > 0 and df > 0):
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + LEVEL / 2, df) * se
    return float(estimate - half), float(estimate + half)


def _welch_se_df(x, y):
    """Standard error of mean(x) - mean(y) and its Welch-Satterthwaite degrees of freedom."""
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    return (math.sqrt(vx + vy),
            (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)))


def _direction(p_greater):
    """+1 if the one-sided p for 'greater' is below 1/2 (then it is the smaller of the two
    one-sided p-values, which sum to at least 1), -1 above, 0 at 1/2 or NaN."""
    if math.isnan(p_greater) or p_greater == 0.5:
        return 0
    return 1 if p_greater < 0.5 else -1


# ------------------------------------------------------------------------------------------------
# differences of continuous values

def paired_difference(variant, base, claim="differs", name="", log=True):
    """Wilcoxon signed-rank test of variant against base, pair by pair (same draw or seed).

    Effect: mean log ratio (variant / base) with its t interval; MDE: the mean log ratio a
    two-sided signed-rank test of this n would detect at POWER, from the paired t-test's power
    with n scaled by RANK_EFFICIENCY, and infinite when even the most extreme ranks could not
    reach ALPHA (n <= 5).

    >>> paired_difference([2, 3, 4, 5, 6, 7], [1, 1, 1, 1, 1, 1], claim="greater").p
    0.03125
    """
    _check_claim(claim)
    x, y = np.asarray(variant, dtype=float), np.asarray(base, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired samples need the same length")
    d = (log_values(x) - log_values(y)) if log else (x - y)
    n = len(d)
    unit = "log ratio" if log else "difference"
    mean = float(np.mean(d)) if n else float("nan")
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    low, high = _t_interval(mean, sd / math.sqrt(n), n - 1) if n > 1 else (math.nan, math.nan)
    nonzero = int(np.count_nonzero(d))
    test = "Wilcoxon signed-rank, paired"
    if nonzero == 0:  # every pair equal: no evidence either way
        return Check(name, claim, test, (n,), mean, low, high, unit, 1.0, float("inf"))
    # signed-rank (not the paired t): robust to the one outlying trial that dominates a mean
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        p = float(stats.wilcoxon(d, alternative="two-sided").pvalue)
        p_greater = float(stats.wilcoxon(d, alternative="greater").pvalue)
    return Check(name, claim, test, (n,), mean, low, high, unit, p,
                 paired_mde(n, sd), _direction(p_greater))


def paired_mde(n, sd, alpha=ALPHA, power=POWER):
    """Minimum mean paired difference (in the unit of sd) a two-sided signed-rank test on n pairs
    detects with probability `power`; inf when n pairs cannot reach `alpha` at all.

    >>> round(paired_mde(20, 1.0), 3)
    0.678
    """
    # exact signed-rank: the smallest two-sided p is 2 / 2^n (all ranks one sign)
    if n < 2 or 2.0 / 2 ** n > alpha:
        return float("inf")
    if not sd > 0:
        return float("nan")
    return _paired_standard_mde(n, alpha, power) * sd


@functools.lru_cache(maxsize=None)
def _paired_standard_mde(n, alpha, power):
    """paired_mde in units of the standard deviation (cached: a root search per n)."""
    # statsmodels' noncentral-t power of the one-sample t-test, at the rank test's efficiency
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(TTestPower().solve_power(effect_size=None, nobs=n * RANK_EFFICIENCY,
                                              alpha=alpha, power=power,
                                              alternative="two-sided"))


def unpaired_difference(variant, base, claim="differs", name="", test="welch", log=True):
    """Welch's t-test (test="welch") or Mann-Whitney U (test="mann-whitney") of variant against
    base, for runs that share no draw.

    Effect: difference of mean logs (log ratio of geometric means) with Welch's interval; MDE:
    the difference Welch's test detects at POWER (for Mann-Whitney with n scaled by
    RANK_EFFICIENCY, inf when the sizes cannot reach ALPHA).

    >>> round(unpaired_difference([1, 2, 3, 4], [5, 6, 7, 8], log=False).p, 6)  # ttest_ind
    0.004659
    """
    _check_claim(claim)
    x = log_values(variant) if log else np.asarray(variant, dtype=float)
    y = log_values(base) if log else np.asarray(base, dtype=float)
    n1, n2 = len(x), len(y)
    unit = "log ratio" if log else "difference"
    effect = float(np.mean(x) - np.mean(y)) if n1 and n2 else float("nan")
    if n1 < 2 or n2 < 2 or (np.ptp(x) == 0 and np.ptp(y) == 0):
        return Check(name, claim, test, (n1, n2), effect, math.nan, math.nan, unit, 1.0,
                     float("inf"), note="too few values or no variance")
    low, high = _t_interval(effect, *_welch_se_df(x, y))
    pooled_sd = math.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1))
                          / (n1 + n2 - 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if test == "welch":
            # Welch rather than Student: the variants' spreads differ (a failing cell sits at
            # the baseline with little spread)
            result = stats.ttest_ind(x, y, equal_var=False)
            p, direction = float(result.pvalue), int(np.sign(result.statistic))
            label = "Welch's t"
        elif test == "mann-whitney":
            # rank-sum: no normality assumed for the log values
            p = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
            direction = _direction(stats.mannwhitneyu(x, y, alternative="greater").pvalue)
            label = "Mann-Whitney U"
        else:
            raise ValueError(f"unknown test {test!r} (welch or mann-whitney)")
    mde = unpaired_mde(n1, n2, pooled_sd, test)
    return Check(name, claim, label, (n1, n2), effect, float(low), float(high), unit, p, mde,
                 direction)


def unpaired_mde(n1, n2, sd, test="welch", alpha=ALPHA, power=POWER):
    """Minimum difference of means (in the unit of sd, the pooled standard deviation) that a
    two-sided Welch (or Mann-Whitney) test on n1 and n2 values detects with probability `power`.

    >>> round(unpaired_mde(15, 15, 1.0), 2)
    1.06
    """
    efficiency = RANK_EFFICIENCY if test == "mann-whitney" else 1.0
    # exact rank-sum: the smallest two-sided p is 2 / C(n1 + n2, n1) (the most extreme ranking)
    if min(n1, n2) < 2 or (test == "mann-whitney" and 2.0 / math.comb(n1 + n2, n1) > alpha):
        return float("inf")
    if not sd > 0:
        return float("nan")
    return _unpaired_standard_mde(n1, n2, efficiency, alpha, power) * sd


@functools.lru_cache(maxsize=None)
def _unpaired_standard_mde(n1, n2, efficiency, alpha, power):
    """unpaired_mde in units of the pooled standard deviation (cached: a root search)."""
    # statsmodels' noncentral-t power of the two-sample t-test, at the test's efficiency
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(TTestIndPower().solve_power(effect_size=None, nobs1=n1 * efficiency,
                                                 ratio=n2 / n1, alpha=alpha, power=power,
                                                 alternative="two-sided"))


def welch_t(a, b):
    """Welch's two-sided t-test (t, p) of two samples on their own scale; (nan, nan) when
    undefined (fewer than two values on a side, or no variance on either side).

    >>> [round(v, 4) for v in welch_t([1, 2, 3, 4], [5, 6, 7, 8])]
    [-4.3818, 0.0047]
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # unequal variances: Welch, as Greff et al. 2017
        result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def equivalence(variant, base, margin, name="", paired=False, log=True):
    """Two one-sided tests (TOST) that |variant - base| < margin, on log values by default.

    `margin` is a ratio on the log scale (1.25: within ×/÷ 1.25) or, with log=False, a
    difference. HOLDS when TOST rejects non-equivalence; FAILS when the difference is shown to
    exceed the margin (one-sided t-test beyond the nearer bound, both sides Bonferroni'd);
    INCONCLUSIVE otherwise, however large the TOST p. MDE: the smallest margin TOST would
    establish with probability POWER when the true difference is 0.

    >>> equivalence([1.0, 1.3, 0.8], [1.0, 0.9, 1.2], margin=1.25).outcome
    'INCONCLUSIVE'
    """
    bound = math.log(margin) if log else float(margin)
    if not bound > 0:
        raise ValueError("the equivalence margin must be > 1 (a ratio) or > 0 (a difference)")
    x = log_values(variant) if log else np.asarray(variant, dtype=float)
    y = log_values(base) if log else np.asarray(base, dtype=float)
    unit = "log ratio" if log else "difference"
    n = (len(x),) if paired else (len(x), len(y))
    if min(len(x), len(y)) < 2:
        return Check(name, "equivalent", "TOST", n, math.nan, math.nan, math.nan, unit, 1.0,
                     float("inf"), margin=bound, p_against=1.0, note="too few values")
    if paired:
        d = x - y
        effect, se, df = float(np.mean(d)), float(np.std(d, ddof=1) / math.sqrt(len(d))), len(d) - 1
        # paired t on the differences: TOST's usual form (Schuirmann 1987)
        p_tost = ttost_paired(x, y, -bound, bound)[0] if se > 0 else float(abs(effect) >= bound)
        label = "TOST paired t"
    else:
        cm = CompareMeans(DescrStatsW(x), DescrStatsW(y))
        effect = float(np.mean(x) - np.mean(y))
        se, df = float(cm.std_meandiff_separatevar), float(cm.dof_satt())
        # Welch form: unequal spreads, as unpaired_difference
        p_tost = ttost_ind(x, y, -bound, bound, usevar="unequal")[0] if se > 0 \
            else float(abs(effect) >= bound)
        label = "TOST Welch t"
    low, high = _t_interval(effect, se, df)
    if se > 0:
        beyond_upper = stats.t.sf((effect - bound) / se, df)   # H1: difference > +margin
        beyond_lower = stats.t.cdf((effect + bound) / se, df)  # H1: difference < -margin
        p_against = float(min(1.0, 2 * min(beyond_upper, beyond_lower)))
        # TOST at true difference 0 has power POWER when margin >= (t_{1-a} + t_{1-b/2}) se
        mde = float((stats.t.ppf(1 - ALPHA, df) + stats.t.ppf(1 - (1 - POWER) / 2, df)) * se)
    else:
        p_against, mde = float(abs(effect) > bound), 0.0
    return Check(name, "equivalent", label, n, effect, low, high, unit, float(p_tost), mde,
                 int(np.sign(effect)), p_against=p_against, margin=bound)


# ------------------------------------------------------------------------------------------------
# counts and times

def solve_counts(variant_solved, variant_n, base_solved, base_n, claim="differs", name=""):
    """Fisher's exact test of the solved fractions (variant_solved of variant_n against
    base_solved of base_n). Effect: conditional odds ratio with its exact interval (log scale);
    MDE: the smallest change of the solved fraction from the base's that the test detects with
    probability POWER (exact, by enumerating both binomials).

    >>> round(solve_counts(8, 10, 2, 10).p, 4)  # scipy's fisher_exact
    0.023
    """
    _check_claim(claim)
    p, effect, low, high = _fisher(int(variant_solved), int(variant_n), int(base_solved),
                                   int(base_n))
    log = lambda v: math.log(v) if v > 0 else -math.inf  # noqa: E731
    frac_v = variant_solved / variant_n if variant_n else math.nan
    frac_b = base_solved / base_n if base_n else math.nan
    direction = int(np.sign(frac_v - frac_b)) if variant_n and base_n else 0
    return Check(name, claim, "Fisher's exact", (variant_n, base_n),
                 log(effect) if not math.isnan(effect) else math.nan, log(low), log(high),
                 "log odds ratio", p, fisher_mde(variant_n, base_n, frac_b), direction,
                 note=f"solved {variant_solved}/{variant_n} vs {base_solved}/{base_n}; "
                      f"MDE in solved fraction")


@functools.lru_cache(maxsize=4096)
def _fisher(variant_solved, variant_n, base_solved, base_n):
    """(p, odds ratio, low, high) of a 2x2 table of solved counts (cached: a root search)."""
    table = [[variant_solved, variant_n - variant_solved], [base_solved, base_n - base_solved]]
    # exact conditional test: counts of a few seeds are far from the chi-square's large sample
    p = float(stats.fisher_exact(table, alternative="two-sided")[1])
    ratio = odds_ratio(table, kind="conditional")
    low, high = ratio.confidence_interval(confidence_level=LEVEL)
    return p, float(ratio.statistic), float(low), float(high)


@functools.lru_cache(maxsize=4096)
def fisher_mde(n_variant, n_base, base_fraction, alpha=ALPHA, power=POWER):
    """The smallest |change| of the solved fraction from `base_fraction` that Fisher's exact
    test on these sizes detects with probability `power`; inf if none does.

    >>> fisher_mde(3, 3, 0.0)
    inf
    """
    if not (n_variant and n_base) or math.isnan(base_fraction):
        return float("inf")
    rejects = _fisher_rejections(n_variant, n_base, alpha)
    base_pmf = stats.binom.pmf(np.arange(n_base + 1), n_base, base_fraction)
    fractions = np.linspace(0, 1, 201)
    variant_pmf = stats.binom.pmf(np.arange(n_variant + 1)[None, :], n_variant, fractions[:, None])
    detected = variant_pmf @ rejects @ base_pmf >= power
    return float(np.min(np.abs(fractions[detected] - base_fraction))) if detected.any() \
        else float("inf")


@functools.lru_cache(maxsize=None)
def _fisher_rejections(n_variant, n_base, alpha):
    """Matrix [a, b]: True where a of n_variant solved against b of n_base is significant."""
    return np.array([[stats.fisher_exact([[a, n_variant - a], [b, n_base - b]])[1] < alpha
                      for b in range(n_base + 1)] for a in range(n_variant + 1)], dtype=float)


def kaplan_meier(steps, solved):
    """Kaplan-Meier estimate of the fraction not yet solved after each step: (steps, fraction,
    median steps to solve or inf). A run that never solved is censored at its `steps`
    (the budget).

    >>> kaplan_meier([100, 200, 300, 300], [1, 1, 0, 0])[2]
    inf
    """
    times = np.asarray(steps, dtype=float)
    events = np.asarray(solved, dtype=int)
    if events.sum() == 0:
        return np.array([0.0]), np.array([1.0]), float("inf")
    fit = SurvfuncRight(times, events)  # statsmodels' product-limit estimator
    below = np.nonzero(fit.surv_prob <= 0.5)[0]
    median = float(fit.surv_times[below[0]]) if len(below) else float("inf")
    return np.r_[0.0, fit.surv_times], np.r_[1.0, fit.surv_prob], median


def time_to_solve(variant_steps, variant_solved, base_steps, base_solved, claim="differs",
                  name=""):
    """Log-rank test (log_rank_p) of the steps to solve; a run that never solved is censored at its budget
    (pass the budget as its steps). Effect: log hazard ratio of solving (> 0: the variant solves
    sooner), Peto's (O - E) / V with its normal interval; MDE: the |log
    hazard ratio| detectable at POWER with the events observed (Schoenfeld 1981).

    >>> time_to_solve([10, 20, 30], [1, 1, 1], [100, 100, 100], [0, 0, 0]).direction
    1
    """
    _check_claim(claim)
    tv, ev = np.asarray(variant_steps, dtype=float), np.asarray(variant_solved, dtype=int)
    tb, eb = np.asarray(base_steps, dtype=float), np.asarray(base_solved, dtype=int)
    times, events = np.r_[tv, tb], np.r_[ev, eb]
    group = np.r_[np.ones(len(tv), dtype=int), np.zeros(len(tb), dtype=int)]
    n = (len(tv), len(tb))
    n_events = int(events.sum())
    medians = f"median steps {_num(kaplan_meier(tv, ev)[2])} vs {_num(kaplan_meier(tb, eb)[2])}"
    if n_events == 0 or not (len(tv) and len(tb)):
        return Check(name, claim, "log-rank", n, math.nan, math.nan, math.nan,
                     "log hazard ratio", 1.0, float("inf"), note="no run solved; " + medians)
    p = log_rank_p(times, events, group)
    observed, expected, variance = _observed_expected(times, events, group)
    if variance > 0:
        # Peto's one-step estimate (O - E) / V: finite even when one group never solved
        effect = (observed - expected) / variance
        low, high = _z_interval(effect, 1 / math.sqrt(variance))
    else:
        effect, low, high = math.nan, math.nan, math.nan
    share = len(tv) / (len(tv) + len(tb))
    # Schoenfeld: events needed D = (z_{1-a/2} + z_power)^2 / (share (1 - share) log^2 HR)
    mde = float((stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER))
                / math.sqrt(n_events * share * (1 - share)))
    direction = int(np.sign(observed - expected))
    return Check(name, claim, "log-rank", n, effect, low, high, "log hazard ratio", p, mde,
                 direction, note=medians)


PERMUTATIONS = 4000  # relabelings of the exact log-rank test (p resolution 0.00025)


def log_rank_p(times, events, group):
    """Two-sided p of the log-rank test: statsmodels' chi-square (survdiff) from 50 runs a side,
    below that the exact permutation distribution of the same statistic over PERMUTATIONS
    relabelings (seeded by the data: the same data give the same p).

    >>> p = log_rank_p(np.array([1., 2, 3, 4]), np.array([1, 1, 1, 0]), np.array([1, 1, 0, 0]))
    >>> abs(p - 1 / 3) < 0.02  # exactly 1/3 over all 6 relabelings (tests/test_stats.py)
    True
    """
    n_small = min(int((group == 1).sum()), int((group == 0).sum()))
    if n_small >= 50:
        # log-rank: the standard test for censored times; statsmodels' chi-square statistic
        return float(survdiff(times, events, group)[1])
    # the chi-square of a few seeds rejects a true null ~5.3 % of the time at 12 a side; the
    # log-rank score O - E is sum_i g_i (event_i - pooled cumulative hazard at t_i) (Peto &
    # Peto 1972), linear in the labels g, so relabeling gives its exact null distribution
    hazard = np.zeros(len(times))
    for t in np.unique(times[events == 1]):
        hazard[times >= t] += ((times == t) & (events == 1)).sum() / (times >= t).sum()
    scores = events - hazard
    observed = abs(float(scores @ group))
    # relabelings seeded by the data: the same data give the same p, and different data draw
    # different relabelings (one fixed set for all data would bias the test's size a little)
    rng = np.random.default_rng(zlib.crc32(np.r_[times, events, group].astype(float).tobytes()))
    labels = rng.permuted(np.tile(group.astype(float), (PERMUTATIONS, 1)), axis=1)
    exceed = int((np.abs(labels @ scores) >= observed - 1e-9).sum())
    return (exceed + 1) / (PERMUTATIONS + 1)


def _observed_expected(times, events, group):
    """The log-rank sums for group 1: observed events O, expected events E under equal hazards
    and the hypergeometric variance V of O - E, over the distinct event times."""
    observed = expected = variance = 0.0
    for t in np.unique(times[events == 1]):
        at_risk = times >= t
        n_risk, n_risk_1 = at_risk.sum(), (at_risk & (group == 1)).sum()
        n_died = ((times == t) & (events == 1)).sum()
        observed += ((times == t) & (events == 1) & (group == 1)).sum()
        expected += n_died * n_risk_1 / n_risk
        if n_risk > 1:
            variance += (n_died * (n_risk_1 / n_risk) * (1 - n_risk_1 / n_risk)
                         * (n_risk - n_died) / (n_risk - 1))
    return float(observed), float(expected), float(variance)


def _z_interval(estimate, se):
    """The LEVEL interval estimate +/- normal quantile x se (scipy's normal)."""
    half = stats.norm.ppf(0.5 + LEVEL / 2) * se
    return float(estimate - half), float(estimate + half)


# ------------------------------------------------------------------------------------------------
# a study's checks together

def holm(checks, alpha=ALPHA):
    """Return the checks with Holm-adjusted p-values over every hypothesis they test (each
    check's p, and the p of the opposite claim where a check has one); outcomes follow.

    >>> [round(c.p_adjusted, 3) for c in holm([_fixed(0.01), _fixed(0.04), _fixed(0.03)])]
    [0.03, 0.06, 0.06]
    """
    if not checks:
        return []
    # Holm rather than Bonferroni: as strong a guarantee (family-wise error), never less power
    ps = [c.p for c in checks] + [c.p_against for c in checks if not math.isnan(c.p_against)]
    clean = [1.0 if math.isnan(p) else p for p in ps]
    adjusted = list(multipletests(clean, alpha=alpha, method="holm")[1])
    out, k = [], len(checks)
    for i, check in enumerate(checks):
        against = float("nan")
        if not math.isnan(check.p_against):
            against, k = float(adjusted[k]), k + 1
        out.append(dataclasses.replace(check, p_adjusted=float(adjusted[i]),
                                       p_against_adjusted=against))
    return out


def _fixed(p):
    """A check with p-value p (for examples and tests)."""
    return Check("fixed", "differs", "none", (0,), 0.0, 0.0, 0.0, "", p, 0.0)


def outcome_counts(checks):
    """Return {outcome: count} for HOLDS, FAILS, INCONCLUSIVE."""
    return {o: sum(c.outcome == o for c in checks) for o in OUTCOMES}


def study_verdict(checks):
    """Return (verdict, counts): REPRODUCED when every check HOLDS, CONTRADICTED when some FAIL
    and none HOLDS, MIXED when some HOLD and some FAIL, INCONCLUSIVE otherwise (none failed but
    not every check could be decided, or there are no checks).

    >>> study_verdict([])[0]
    'INCONCLUSIVE'
    """
    counts = outcome_counts(checks)
    if checks and counts["HOLDS"] == len(checks):
        return "REPRODUCED", counts
    if counts["FAILS"] and counts["HOLDS"]:
        return "MIXED", counts
    if counts["FAILS"]:
        return "CONTRADICTED", counts
    return "INCONCLUSIVE", counts


def verdict_text(checks):
    """Return the verdict with its counts, e.g. "MIXED (3 HOLDS, 1 FAILS, 6 INCONCLUSIVE)"."""
    verdict, counts = study_verdict(checks)
    return f"{verdict} ({', '.join(f'{counts[o]} {o}' for o in OUTCOMES)})"


# ------------------------------------------------------------------------------------------------
# sample sizes from power (what a study is designed to detect)

def paired_n(effect_sd, alpha=ALPHA, power=POWER):
    """Pairs a two-sided signed-rank test needs to detect a mean paired difference of
    `effect_sd` standard deviations (Cohen's d_z) with probability `power` at level `alpha`:
    statsmodels' paired t power with n scaled by RANK_EFFICIENCY, and never fewer than the exact
    test needs to reach `alpha` at all (2 / 2^n < alpha).

    >>> paired_n(1.0)
    11
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n_t = TTestPower().solve_power(effect_size=effect_sd, nobs=None, alpha=alpha,
                                       power=power, alternative="two-sided")
    n = math.ceil(float(n_t) / RANK_EFFICIENCY)
    while 2.0 / 2 ** n >= alpha:
        n += 1
    return max(n, 2)


def tost_paired_n(margin_log, sd, alpha=ALPHA, power=POWER):
    """Pairs a paired TOST needs to establish |mean difference| < margin_log with probability
    `power` when the true difference is 0 and the paired differences have standard deviation
    `sd`: the smallest n with (t_{1-alpha} + t_{1-(1-power)/2}) sd / sqrt(n) <= margin_log (the
    same relation equivalence() reports as its MDE).

    >>> tost_paired_n(math.log(1.5), 0.5)
    15
    """
    if not (margin_log > 0 and sd > 0):
        raise ValueError("tost_paired_n needs a positive margin and standard deviation")
    n = 2
    while (stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(1 - (1 - power) / 2, n - 1)) * sd \
            / math.sqrt(n) > margin_log:
        n += 1
    return n


def unpaired_n(effect_sd, test="welch", alpha=ALPHA, power=POWER, n_max=10000):
    """Values per group a two-sided Welch (or Mann-Whitney) test needs to detect a difference of
    means of `effect_sd` pooled standard deviations with probability `power`: the smallest n at
    which unpaired_mde(n, n, 1) is at most effect_sd (the same relation the checks report).

    >>> unpaired_n(1.06)
    15
    """
    if not effect_sd > 0:
        raise ValueError("unpaired_n needs a positive effect")
    n = 2
    while unpaired_mde(n, n, 1.0, test, alpha, power) > effect_sd:
        n += 1
        if n > n_max:
            raise ValueError(f"unpaired_n: more than {n_max} per group for effect {effect_sd}")
    return n


def tost_unpaired_n(margin_log, sd, alpha=ALPHA, power=POWER, n_max=10000):
    """Values per group an unpaired (Welch form) TOST needs to establish |difference| <
    margin_log with probability `power` when the true difference is 0 and both groups have
    standard deviation `sd`: the smallest n with (t_{1-alpha} + t_{1-(1-power)/2}) sd sqrt(2/n)
    <= margin_log at the 2n - 2 degrees of freedom of equal spreads (equivalence()'s MDE).

    >>> tost_unpaired_n(math.log(1.5), 0.5)
    27
    """
    if not (margin_log > 0 and sd > 0):
        raise ValueError("tost_unpaired_n needs a positive margin and standard deviation")
    n = 2
    while (stats.t.ppf(1 - alpha, 2 * n - 2) + stats.t.ppf(1 - (1 - power) / 2, 2 * n - 2)) \
            * sd * math.sqrt(2.0 / n) > margin_log:
        n += 1
        if n > n_max:
            raise ValueError(f"tost_unpaired_n: more than {n_max} per group")
    return n


def fisher_power(n_variant, n_base, fraction_variant, fraction_base, alpha=ALPHA):
    """Exact probability that Fisher's test on these sizes rejects (two-sided, level alpha)
    when the true solved fractions are as given (both binomials enumerated).

    >>> round(fisher_power(10, 10, 0.8, 0.2), 3) > 0.5
    True
    """
    rejects = _fisher_rejections(int(n_variant), int(n_base), alpha)
    pv = stats.binom.pmf(np.arange(n_variant + 1), n_variant, fraction_variant)
    pb = stats.binom.pmf(np.arange(n_base + 1), n_base, fraction_base)
    return float(pv @ rejects @ pb)


def fisher_n(fraction_variant, fraction_base, alpha=ALPHA, power=POWER, n_max=200):
    """Runs per arm for Fisher's exact test to detect solved fractions fraction_variant against
    fraction_base with probability `power`: statsmodels' normal power of the arcsine effect
    (Cohen's h) as the start, then raised until the exact power (fisher_power) reaches `power`.

    >>> fisher_n(0.9, 0.1)
    7
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h = proportion_effectsize(fraction_variant, fraction_base)
        start = NormalIndPower().solve_power(effect_size=abs(h), nobs1=None, alpha=alpha,
                                             power=power, ratio=1.0, alternative="two-sided")
    n = max(2, math.ceil(float(start)) - 2)  # the normal start is a little optimistic or not
    while fisher_power(n, n, fraction_variant, fraction_base, alpha) < power:
        n += 1
        if n > n_max:
            raise ValueError(f"fisher_n: more than {n_max} runs per arm needed")
    return n


# ------------------------------------------------------------------------------------------------
# variance decomposition with a permutation null

def eta_squared(values, factor):
    """Share of the variance of `values` explained by the groups of `factor` (one-way ANOVA
    eta^2); 0 when there is no variance.

    >>> eta_squared([1, 1, 3, 3], ["a", "a", "b", "b"])
    1.0
    """
    values = np.asarray(values, dtype=float)
    factor = np.asarray(factor)
    total = float(np.sum((values - values.mean()) ** 2))
    if total == 0:
        return 0.0
    between = 0.0
    for level in np.unique(factor):
        group = values[factor == level]
        between += len(group) * (group.mean() - values.mean()) ** 2
    return float(between / total)


def quantile_bins(values, n_bins):
    """Quantile bins (0..n_bins-1) of a continuous hyperparameter; its own values when it has
    no more than n_bins distinct ones."""
    values = np.asarray(values, dtype=float)
    if len(np.unique(values)) <= n_bins:
        return values
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def share_difference(values, factor_a, factor_b, name="", permutations=PERMUTATIONS,
                     claim="greater", bootstraps=1000):
    """Is factor_a's share of the variance (eta^2) larger than factor_b's? One value per unit
    (a unique hyperparameter draw: no unit repeated, no pseudo-replication).

    Effect: eta^2(a) - eta^2(b) with a bootstrap 95 % interval over the units; p: two-sided,
    from the permutation null in which the values are shuffled across units (neither factor
    matters), seeded by the data; MDE: the smallest |difference| this null would call
    significant (its critical value), which is what a permutation test can offer in place of
    a power calculation.
    """
    _check_claim(claim)
    y = np.asarray(values, dtype=float)
    a, b = np.asarray(factor_a), np.asarray(factor_b)
    n = len(y)
    unit = "eta2 difference"
    if n < 4 or np.ptp(y) == 0:
        return Check(name, claim, "permutation (eta2)", (n,), math.nan, math.nan, math.nan,
                     unit, 1.0, float("inf"), note="too few units or no variance")
    observed = eta_squared(y, a) - eta_squared(y, b)
    rng = np.random.default_rng(zlib.crc32(y.tobytes()))
    null = np.array([eta_squared(p, a) - eta_squared(p, b)
                     for p in (rng.permutation(y) for _ in range(permutations))])
    p_greater = (int((null >= observed - 1e-12).sum()) + 1) / (permutations + 1)
    p_less = (int((null <= observed + 1e-12).sum()) + 1) / (permutations + 1)
    p = min(1.0, 2 * min(p_greater, p_less))
    boot = []
    for _ in range(bootstraps):
        idx = rng.integers(0, n, n)
        boot.append(eta_squared(y[idx], a[idx]) - eta_squared(y[idx], b[idx]))
    low, high = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    critical = float(np.quantile(np.abs(null - np.median(null)), 1 - ALPHA))
    direction = 1 if p_greater < p_less else -1 if p_less < p_greater else 0
    return Check(name, claim, "permutation (eta2)", (n,), float(observed), float(low),
                 float(high), unit, float(p), critical, direction,
                 note=f"eta2 {eta_squared(y, a):.2f} vs {eta_squared(y, b):.2f}; MDE = the "
                      f"null's critical value")
