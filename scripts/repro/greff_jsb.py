"""Greff et al. 2015, music arm: which parts of the LSTM matter on JSB Chorales (greff-jsb).

Runs experiments/greff-jsb.ini: the vanilla LSTM V (lstm-peep) and its eight single ablations (NIG,
NFG, NOG, NIAF, NOAF, NP = lstm, CIFG, FGR), plus gru-ra, gru and rnn for the comparison of Chung et
al. 2014, each with its own random search (draws = per_point) over the paper's four
hyperparameters (hidden log-uniform in [20, 200]; learning rate log-uniform in [1e-6, 1e-2] on the
loss summed over each chorale's steps, as the paper's code trained (sum_over_time); momentum 1 - log-uniform in [0.01, 1]; input-noise std
uniform in [0, 1]), trained by SGD with Nesterov momentum, batch 1, no clipping, early stopping on
the validation NLL; every trial's outcome is its test NLL at its best validation evaluation.

Analysis (all on the test NLL in nats per step):
  (a) the paper's test: Welch's t-test of each variant against V over all trials, raw NLL,
      uncorrected p;
  (b) calibrated checks (scripts/rnnbench_stats.py, Holm over the 8): NFG and NOAF worse than V
      (Mann-Whitney U: ranks, so log or raw give the same p; the effect is the log ratio of
      geometric means); NIG, NOG, NIAF, CIFG and NP equivalent to V within x/÷ MARGIN (TOST,
      Welch form, on log NLL: a ratio margin, and the log tames the long tail of trials that
      learned nothing); FGR no better than V by more than MARGIN (non-inferiority: Mann-Whitney
      on log NLL shifted by the margin). Positive control: unless at least MIN_LEARNED of V's
      trials reach a test NLL below LEARNED x the marginal baseline (11.09), the study learned
      nothing and every check is INCONCLUSIVE. The same checks on the best 10 % of each
      variant's trials by validation NLL (the paper's figure) are reported beside, not voted;
  (c) hyperparameter importance: functional-ANOVA main effects from a random forest
      (scripts/rnnbench_importance.py) on log10 lr, log10 hidden, log10(1 - momentum) and noise,
      per variant and pooled over the 9 LSTM variants, each share against its permutation null;
  (d) figures: box plots of test NLL per variant (all trials; best 10 % by validation) and the
      marginal of test NLL against lr and hidden size (trials and the forest's marginal);
  (e) ours beside the published numbers (PUBLISHED below, each with its source).
The verdict line is rnnbench_stats.study_verdict over the 8 checks: REPRODUCED, CONTRADICTED,
MIXED or INCONCLUSIVE.

Sizes: --tiny: 2 trials per cell, 50 chorales, hidden 4 to 8: seconds, and by construction
INCONCLUSIVE (nothing is learned from 50 chorales, and 2 trials cannot pass the positive control).
Default: 20 trials per cell x 12 cells = 240 runs, at most 20 epochs, patience 5: at most ~46 min
on 2 cores with -j 2 (1.15 s per run-epoch measured on this machine at -j 2 while shared, load ~4;
2.85 s at load ~8, which would double it; early stopping ends some runs sooner). --full: the
paper's 200 trials per cell (2 400 runs), at most 100 epochs, patience 10: it writes
DIR/greff-jsb.ini and prints the command for a cluster; add --run to run it here (days on 2
cores).

Example:
    /usr/bin/python3 scripts/repro/greff_jsb.py --tiny --out /tmp/gj
    /usr/bin/python3 scripts/repro/greff_jsb.py -j 2            # the default study
    /usr/bin/python3 scripts/repro/greff_jsb.py --full --out /scratch/gj   # writes, prints
"""
import dataclasses
import math
import os
import re
import sys

import numpy as np
import pandas as pd
from scipy import stats

import common

sys.path.insert(0, common.SCRIPTS)
import rnnbench_importance as ri  # noqa: E402
import rnnbench_results as rr  # noqa: E402
import rnnbench_stats as st  # noqa: E402

STUDY = "greff-jsb"
V = "lstm-peep"
LABELS = {"lstm-peep": "V", "lstm-nig": "NIG", "lstm-nfg": "NFG", "lstm-nog": "NOG",
          "lstm-niaf": "NIAF", "lstm-noaf": "NOAF", "lstm": "NP", "lstm-cifg": "CIFG",
          "lstm-fgr": "FGR", "gru-ra": "GRU (reset after)", "gru": "GRU", "rnn": "tanh RNN"}
GREFF = ("lstm-peep", "lstm-nig", "lstm-nfg", "lstm-nog", "lstm-niaf", "lstm-noaf", "lstm",
         "lstm-cifg", "lstm-fgr")
CHUNG = ("rnn", "gru", "gru-ra", "lstm")
HURT = ("lstm-nfg", "lstm-noaf")                                   # claim: worse than V
SAME = ("lstm-nig", "lstm-nog", "lstm-niaf", "lstm-cifg", "lstm")   # claim: no different
NO_BETTER = ("lstm-fgr",)                                          # claim: no gain
# equivalence margin, a ratio of geometric-mean test NLL over a search: x/÷ 1.10 is 0.85 nats at
# 8.5, a third of what learning gains over the marginal model (11.09 -> ~8.5)
MARGIN = 1.10
LEARNED = 0.95      # positive control: a trial "learned" below 0.95 x the marginal baseline
MIN_LEARNED = 3     # ... and V needs at least this many such trials
BEST_SHARE = 0.10   # the paper's figure: the best 10 % of trials by validation
HYPER = ("log10 lr", "log10 hidden", "log10(1-momentum)", "input noise")

TINY = {"trials": 2, "max_epochs": 1, "steps": 50, "eval_every": 25, "hidden": "loguniform(4, 8)",
        "patience": 0}
FULL = {"trials": 200, "max_epochs": 100, "steps": 22900, "patience": 10}
N_PERM = {"tiny": 5, "default": 50, "full": 100}
MIN_FOREST = 8      # fewer trials than this: no forest for that variant

# What the papers report, each with where it was found. None: looked for and not found in any
# source available here; the report says "not verified" rather than quote a number from memory.
PUBLISHED = {
    "chung": {
        "gru": (8.54, "Chung et al. 2014, JSB Chorales test NLL of the GRU, as listed by "
                      "paperswithcode.com/paper/empirical-evaluation-of-gated-recurrent2 "
                      "(the paper's Table 2 itself was not read)"),
        "lstm": (None, "Chung et al. 2014 Table 2, LSTM on JSB: not found in the sources "
                       "available here (not verified)"),
        "rnn": (None, "Chung et al. 2014 Table 2, tanh RNN on JSB: not found in the sources "
                      "available here (not verified)"),
    },
    "greff_numbers": (None, "Greff et al. 2015, per-variant JSB test NLL (their box-plot figure): "
                            "not found in the sources available here (not verified)"),
    "greff_findings": {
        "lstm-nfg": "significantly worse than V",
        "lstm-noaf": "significantly worse than V",
        "lstm-nig": "not significantly different on music (hurts on speech, handwriting)",
        "lstm-nog": "not significantly different on music (hurts on speech, handwriting)",
        "lstm-niaf": "not significantly different on music (hurts on speech, handwriting)",
        "lstm-cifg": "not significantly different",
        "lstm": "not significantly different",
        "lstm-fgr": "no gain for its extra weights",
    },
    "greff_findings_source": "Greff et al. 2015 (arXiv 1503.04069) as summarised when this "
                             "study was specified (docs/reproductions.md); not checked against "
                             "the paper's text here",
    "loss_norm_source": "PyLSTM (Greff's framework), src/pylstm/error_functions.py, "
                        "_FramewiseCEE: cross-entropy summed over time steps and outputs, "
                        "divided by the number of sequences only (github.com/Qwlouse/pylstm)",
}


# ------------------------------------------------------------------------------------------------
# the pre-registered design (experiments/greff-jsb.prereg)

def design(prereg):
    """The study's Design from its pre-registration: the trials per variant the power
    calculation gives (the --full size) and what the default's budget can detect. ReproError
    when the checks' constants here differ from those pre-registered."""
    for key, value in (("margin", MARGIN), ("learned", LEARNED), ("min_learned", MIN_LEARNED)):
        registered = common.prereg_number(prereg, key)
        if not math.isclose(registered, value):
            raise common.ReproError(f"{prereg.path}: [design] {key} = {registered:g} but "
                                    f"greff_jsb.py checks with {value:g}")
    k = common.prereg_number(prereg, "checks", int)
    sd = common.prereg_number(prereg, "sd")
    effect = common.prereg_number(prereg, "effect_log")
    alpha = st.ALPHA / k  # Holm's first step: the worst case of the family
    n_same = st.tost_unpaired_n(math.log(MARGIN), sd, alpha=alpha)
    n_diff = st.unpaired_n(effect / sd, test="mann-whitney", alpha=alpha)
    n = max(n_same, n_diff)
    budget = common.prereg_number(prereg, "trials", int)
    mde_diff = st.unpaired_mde(budget, budget, sd, "mann-whitney", alpha)
    mde_same = (stats.t.ppf(1 - alpha, 2 * budget - 2)
                + stats.t.ppf(1 - (1 - st.POWER) / 2, 2 * budget - 2)) * sd * math.sqrt(
                    2.0 / budget)
    return common.Design(
        f"at sd {sd:g} of log test NLL, alpha {alpha:.4g} and {st.POWER:.0%} power, TOST "
        f"establishes x/: {MARGIN:g} with {n_same} trials per variant and Mann-Whitney detects a "
        f"log ratio of {effect:g} with {n_diff} (--full runs {FULL['trials']}); the default's "
        f"{budget} trials are a budget: they detect a log ratio of {mde_diff:.2f} and establish "
        f"no margin tighter than x/: {math.exp(mde_same):.2f}", "trials_full", n)


def check_sizes(prereg, design_, ini_text):
    """The pre-registered sizes against the power calculation and the experiment file."""
    registered = common.prereg_number(prereg, "trials_full", int)
    if registered != design_.n:
        raise common.ReproError(f"{prereg.path}: [design] trials_full = {registered}, but the "
                                f"power calculation gives {design_.n}")
    if FULL["trials"] < design_.n:
        raise common.ReproError(f"greff_jsb.py: --full runs {FULL['trials']} trials, fewer than "
                                f"the {design_.n} the power calculation needs")
    budget = common.prereg_number(prereg, "trials", int)
    written = [int(v) for v in re.findall(r"(?m)^\s*trials\s*=\s*(\d+)", ini_text)]
    if not written or any(v != budget for v in written):
        raise common.ReproError(f"experiments/{STUDY}.ini: trials = {written} but "
                                f"{os.path.relpath(prereg.path, common.ROOT)} registers {budget}")


# ------------------------------------------------------------------------------------------------
# loading

def load(h5):
    """The summary of the finished runs with test_loss and test_step from each run's attributes,
    and the hyperparameter features; runs without a test NLL are dropped (and counted)."""
    with rr.open_results(h5) as res:
        df = res.summary[res.summary["status"] != "failed"].reset_index(drop=True)
        tests = [res.run(rid).attrs for rid in df["id"]]
    df["test_loss"] = [float(a.get("test_loss", np.nan)) for a in tests]
    df["test_step"] = [int(a.get("test_step", -1)) for a in tests]
    df["valid_loss"] = df["best_eval_loss"].astype(float)
    dropped = int((~np.isfinite(df["test_loss"])).sum())
    df = df[np.isfinite(df["test_loss"])].reset_index(drop=True)
    return add_features(df), dropped


def add_features(df):
    """The four hyperparameters on the scales they were drawn on (HYPER columns)."""
    df["log10 lr"] = np.log10(df["lr"].astype(float))
    df["log10 hidden"] = np.log10(df["hidden"].astype(float))
    df["log10(1-momentum)"] = np.log10(np.maximum(1 - df["momentum"].astype(float), 1e-12))
    df["input noise"] = df["input_noise"].astype(float)
    return df


def cells_of(df):
    """The cells present, in the study's order."""
    order = list(GREFF) + [c for c in CHUNG if c not in GREFF]
    return [c for c in order if c in set(df["cell"])]


def best_share(rows, share=BEST_SHARE):
    """The best `share` of a cell's trials by validation NLL (at least 2, to allow a test)."""
    k = min(len(rows), max(2, math.ceil(share * len(rows))))
    return rows.nsmallest(k, "valid_loss")


# ------------------------------------------------------------------------------------------------
# checks

def checks_for(values):
    """The 8 checks of the claims against V on {cell: test NLLs}; Holm over them."""
    base = values[V]
    out = []
    for cell in HURT:
        if cell in values:
            out.append(st.unpaired_difference(values[cell], base, claim="greater",
                                              name=f"{LABELS[cell]} worse than V",
                                              test="mann-whitney"))
    for cell in SAME:
        if cell in values:
            out.append(st.equivalence(values[cell], base, margin=MARGIN,
                                      name=f"{LABELS[cell]} same as V"))
    for cell in NO_BETTER:
        if cell in values:
            out.append(no_better(values[cell], base, f"{LABELS[cell]} no better than V"))
    return st.holm(out)


def no_better(variant, base, name):
    """Non-inferiority: variant's NLL is not lower than V's by more than MARGIN (ratio). The
    rank test of variant x MARGIN against V, claim "greater"; effect and interval reported
    unshifted (log ratio variant / V)."""
    check = st.unpaired_difference(np.asarray(variant, dtype=float) * MARGIN, base,
                                   claim="greater", name=name, test="mann-whitney")
    shift = math.log(MARGIN)
    return dataclasses.replace(check, effect=check.effect - shift, ci_low=check.ci_low - shift,
                               ci_high=check.ci_high - shift, margin=shift,
                               note=f"non-inferiority: not better than V by more than x{MARGIN}")


def positive_control(df, baseline):
    """(passed, text): V learned something in at least MIN_LEARNED trials."""
    v = df.loc[df["cell"] == V, "test_loss"]
    k = int((v < LEARNED * baseline).sum())
    text = (f"V (lstm-peep): {k} of {len(v)} trials reach a test NLL below {LEARNED} x the "
            f"marginal baseline ({LEARNED * baseline:.2f} nats; baseline {baseline:.2f}); "
            f"needed: {MIN_LEARNED}")
    return k >= MIN_LEARNED, text


def check_rows(checks, gated):
    """Markdown rows of a family of checks."""
    rows = []
    for c in checks:
        outcome = "INCONCLUSIVE (control failed)" if gated else c.outcome
        margin = "" if math.isnan(c.margin) else f" (margin ±{c.margin:.3f})"
        rows.append([c.name, c.test, "/".join(str(k) for k in c.n),
                     f"{c.effect:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]{margin}",
                     common.fmt(c.p), common.fmt(c.p_adjusted),
                     common.fmt(c.p_against_adjusted), common.fmt(c.mde), outcome])
    return rows


CHECK_HEADER = ["check", "test", "n (variant/V)", "log ratio [95 % CI]", "p", "Holm p",
                "Holm p (opposite)", "MDE", "outcome"]


# ------------------------------------------------------------------------------------------------
# importance and figures

def importances(df, n_perm, seed=16):
    """{group: Importance or None} per cell and pooled over the LSTM variants."""
    out = {}
    groups = [(c, df[df["cell"] == c]) for c in cells_of(df)]
    groups.append(("pooled (9 LSTM variants)", df[df["cell"].isin(GREFF)]))
    for name, rows in groups:
        if len(rows) < MIN_FOREST or rows["test_loss"].nunique() < 2:
            out[name] = None
            continue
        out[name] = ri.importance(rows[list(HYPER)].to_numpy(float),
                                  rows["test_loss"].to_numpy(float), list(HYPER),
                                  n_perm=n_perm, seed=seed)
    return out


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _log_y(ax):
    """Log y axis with plain major labels and no minor ticks (matplotlib spends seconds laying
    out the minor ticks of a dozen log panels)."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator([7, 8, 9, 10, 11, 12, 15, 20, 30, 45, 60, 100]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(ScalarFormatter())


def box_figure(df, cells, path, title, p_values, baseline):
    """Box plot of test NLL per cell (log scale), every trial a dot; blue: Welch p < 0.05."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(cells) + 2), 4.2))
    data = [df.loc[df["cell"] == c, "test_loss"].to_numpy(float) for c in cells]
    boxes = ax.boxplot(data, patch_artist=True, showfliers=False, widths=0.6)
    for i, (box, cell) in enumerate(zip(boxes["boxes"], cells)):
        p = p_values.get(cell, np.nan)
        box.set_facecolor("#9ecae1" if p < 0.05 else "#eeeeee")
        jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(data[i]))
        ax.plot(i + 1 + jitter, data[i], ".", color="k", ms=3, alpha=0.6)
    ax.axhline(baseline, ls="--", color="grey", lw=1, label=f"marginal model {baseline:.2f}")
    _log_y(ax)
    ax.set_xticks(range(1, len(cells) + 1))
    ax.set_xticklabels([LABELS.get(c, c) for c in cells], rotation=30, ha="right")
    ax.set_ylabel("test NLL (nats per step)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.25)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def marginal_figure(df, cells, imp, feature, path, baseline):
    """Test NLL against one hyperparameter, a panel per cell: trials as dots and the forest's
    marginal prediction (the cell's own forest, or the pooled one when the cell has none)."""
    plt = _plt()
    ncol = 4
    nrow = math.ceil(len(cells) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False,
                             sharex=True, sharey=True)
    pooled = imp.get("pooled (9 LSTM variants)")
    for ax, cell in zip(axes.flat, cells):
        rows = df[df["cell"] == cell]
        ax.plot(rows[feature], rows["test_loss"], ".", ms=4, alpha=0.7)
        fit, which = imp.get(cell), "forest"
        if fit is None:
            fit, which = pooled, "pooled forest"
        if fit is not None:
            values, marginal = fit.marginals[feature]
            ax.plot(values, marginal, "-", color="C3", lw=1.5, label=which)
            ax.legend(fontsize=7)
        ax.axhline(baseline, ls="--", color="grey", lw=0.8)
        _log_y(ax)
        ax.set_title(LABELS.get(cell, cell), fontsize=9)
    for ax in axes.flat[len(cells):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(feature)
    for ax in axes[:, 0]:
        ax.set_ylabel("test NLL")
    fig.subplots_adjust(left=0.07, right=0.99, top=0.95, bottom=0.08, hspace=0.35, wspace=0.1)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------
# the analysis and the report

def analyse(df, directory, mode, dropped=0, n_perm=None):
    """Fill the report's sections; return (verdict line, markdown parts, figure paths).
    n_perm: refits of the importance's permutation null (default N_PERM[mode])."""
    n_perm = N_PERM[mode] if n_perm is None else n_perm
    parts, figures = [], []
    cells = cells_of(df)
    if V not in cells:
        raise common.ReproError(f"no finished {V} runs in the results: nothing to compare with")
    baseline = float(df["baseline"].iloc[0])
    values = {c: df.loc[df["cell"] == c, "test_loss"].to_numpy(float) for c in cells}

    passed, control = positive_control(df, baseline)
    checks = checks_for(values)
    best = pd.concat([best_share(df[df["cell"] == c]) for c in cells])
    best_values = {c: best.loc[best["cell"] == c, "test_loss"].to_numpy(float) for c in cells}
    best_checks = checks_for(best_values)

    if passed:
        verdict, _ = st.study_verdict(checks)
        line = f"{st.verdict_text(checks)}: " + "; ".join(
            f"{c.name} {c.outcome} (Holm p={common.fmt(c.p_adjusted, 2)})" for c in checks)
    else:
        verdict = st.study_verdict([])[0]
        line = (f"{verdict} (positive control failed: the study learned nothing): {control}; "
                f"{len(checks)} checks not judged")

    # per-variant table with the paper's Welch test on raw NLL
    welch_p, rows = {}, []
    for c in cells:
        r = df[df["cell"] == c]
        chosen = r.loc[r["valid_loss"].idxmin()]
        _, p = st.welch_t(values[c], values[V]) if c != V else (np.nan, np.nan)
        welch_p[c] = p
        rows.append([f"{LABELS[c]} (`{c}`)", len(r),
                     int((r["test_loss"] < LEARNED * baseline).sum()),
                     chosen["test_loss"], r["test_loss"].min(), r["test_loss"].median(),
                     r["valid_loss"].median(), "—" if c == V else common.fmt(p, 2),
                     "—" if c == V else ("worse" if values[c].mean() > values[V].mean()
                                         else "better")])
    parts.append(f"## Positive control\n\n{control}: **{'passed' if passed else 'FAILED'}**."
                 + ("" if passed else " Every check below is therefore INCONCLUSIVE, whatever "
                    "its p-value says.") + "\n")
    parts.append(
        "## Test NLL per variant (all trials)\n\n"
        f"Test NLL in nats per step at each trial's best validation evaluation. *best*: the "
        f"test NLL of the trial with the lowest validation NLL (model selection on validation, "
        f"as the paper); *min*: the lowest test NLL of any trial (selected on test: optimistic). "
        f"Welch p: the paper's test, raw NLL against V over all trials, uncorrected. "
        f"Learned: trials below {LEARNED} x the marginal baseline ({LEARNED * baseline:.2f})."
        + (f" {dropped} runs had no test NLL and are left out." if dropped else "") + "\n\n"
        + common.md_table(["variant", "trials", "learned", "best (by valid)", "min", "median",
                           "median valid", "Welch p vs V", "mean vs V"], rows))

    parts.append(
        "## Checks (calibrated, Holm over the 8)\n\n"
        "Effects are log ratios of test NLL, variant over V (+0.05: 5 % higher NLL, worse). "
        "*worse*: Mann-Whitney U (a rank test: the same p on log or raw NLL). *same*: TOST, "
        f"Welch form on log NLL, margin x/÷ {MARGIN} (±{math.log(MARGIN):.3f} in log); "
        "*no better*: Mann-Whitney on log NLL shifted by the margin (non-inferiority). MDE: the "
        "effect (for TOST: the margin) the sample detects with 80 % power.\n\n"
        + common.md_table(CHECK_HEADER, check_rows(checks, not passed)) + "\n```\n"
        + "\n".join(c.line() for c in checks) + "\n```\n")
    parts.append(
        "## The best 10 % of trials by validation NLL (reported, not voted)\n\n"
        "The paper's figure compares the variants on their best trials too. The same 8 checks, "
        f"Holm within this family, on the best {BEST_SHARE:.0%} of each variant's trials by "
        "validation NLL (at least 2); with few trials a side they rarely decide anything.\n\n"
        + common.md_table(CHECK_HEADER, check_rows(best_checks, not passed)))

    # ours vs published
    pub_rows = []
    for c in cells:
        r = df[df["cell"] == c]
        chosen = r.loc[r["valid_loss"].idxmin(), "test_loss"]
        finding = PUBLISHED["greff_findings"].get(c, "—")
        chung_value, chung_src = PUBLISHED["chung"].get(c, (None, None))
        chung = "—" if chung_src is None else (
            f"{chung_value:.2f}" if chung_value is not None else "not verified")
        side = "worse" if values[c].mean() > values[V].mean() else "better"
        welch = "—" if c == V else f"{side}, Welch p={common.fmt(welch_p[c], 2)}"
        pub_rows.append([LABELS[c], common.fmt(chosen, 4), common.fmt(r['test_loss'].median(), 4),
                         "not verified" if c in GREFF else "—", finding if c in GREFF else "—",
                         welch, chung])
    parts.append(
        "## Ours vs published\n\n"
        + common.md_table(["variant", "ours: best (by valid)", "ours: median",
                           "Greff 2015 test NLL", "Greff 2015 finding", "ours vs V",
                           "Chung 2014 test NLL"], pub_rows)
        + "\nSources: Greff's findings: " + PUBLISHED["greff_findings_source"] + ". Greff's "
        "numbers: " + PUBLISHED["greff_numbers"][1] + ". Chung: "
        + "; ".join(f"{LABELS[c]}: {src}" for c, (_, src) in PUBLISHED["chung"].items())
        + ". Chung's LSTM is compared with our `lstm` (NP), their tanh RNN with `rnn`.\n")

    # importance
    imp = importances(df, n_perm)
    imp_rows = []
    for name, fit in imp.items():
        label = LABELS.get(name, name)
        if fit is None:
            imp_rows.append([label, "-"] + [f"(fewer than {MIN_FOREST} trials)"] + [""] * 3 + [""])
            continue
        cells_text = [f"{'**' if fit.shares[h] > fit.null[h] else ''}{fit.shares[h]:.2f}"
                      f"{'**' if fit.shares[h] > fit.null[h] else ''} ({fit.null[h]:.2f})"
                      for h in HYPER]
        imp_rows.append([label, fit.n] + cells_text
                        + [", ".join(fit.important) or "none above its null"])
    parts.append(
        "## Hyperparameter importance (functional ANOVA main effects)\n\n"
        "Share of the variance of the random forest's test-NLL predictions explained by each "
        "hyperparameter's main effect (the forest averaged over the other hyperparameters' "
        "observed values), with the 95th percentile of that share over "
        f"{n_perm} refits on shuffled NLLs in brackets; **bold**: above its null. Raw test "
        "NLL as the outcome (the paper's measure of performance).\n\n"
        + common.md_table(["variant", "trials"] + list(HYPER) + ["important"], imp_rows))

    # figures
    specs = [("box_all", df, "Test NLL per variant over all trials (blue: Welch p < 0.05 vs V)"),
             ("box_best10", best, f"Test NLL of the best {BEST_SHARE:.0%} of trials by "
                                   f"validation NLL (blue: Welch p < 0.05 vs V)")]
    for name, data, caption in specs:
        p_values = {c: st.welch_t(data.loc[data["cell"] == c, "test_loss"],
                                  data.loc[data["cell"] == V, "test_loss"])[1]
                    for c in cells if c != V}
        path = os.path.join(directory, f"{name}.png")
        box_figure(data, cells, path, caption, p_values, baseline)
        figures.append((path, caption))
    for feature, name in (("log10 lr", "marginal_lr"), ("log10 hidden", "marginal_hidden")):
        path = os.path.join(directory, f"{name}.png")
        marginal_figure(df, cells, imp, feature, path, baseline)
        figures.append((path, f"Test NLL against {feature}: trials (dots) and the random "
                              f"forest's marginal (line)"))
    parts.append("## Figures\n\n" + "\n".join(
        f"![{caption}]({os.path.basename(path)})\n\n*{caption}*\n" for path, caption in figures))
    return line, parts, figures


DIFFERENCES = """## Set-up differences from the paper

- **Learning-rate units.** PyLSTM's cross-entropy sums over a sequence's steps and divides by the
  number of sequences; the study trains on the same sum (`sum_over_time = 1`), so the paper's range
  [1e-6, 1e-2] is searched as it is; the NLL reported is per step, as the literature reports it.
- **Epochs.** Training draws chorales uniformly with replacement (an epoch = 229 draws), not a
  shuffled pass; the default caps a run at 20 epochs with patience 5 evaluations (one per epoch),
  --full at 100 with patience 10. The paper's own cap and patience are not verified here.
- **Trials.** Default 20 per variant instead of 200 (--full has 200).
- **Initialisation, output layer, noise.** rnnbench's initialisation (uniform ±1/√hidden, forget
  bias 1), a sigmoid readout, Gaussian noise added to the binary inputs of training steps only:
  the paper's initialisation and exact noise form are not verified here.
- **Precision.** float32 (`make float`).
- **Chung et al. 2014** trained their cells with their own optimiser and sizes (not verified
  here); here their cells go through Greff's protocol, so the ranking is comparable more than the
  numbers.
"""


def projected(df, wall_s, mode):
    """Runs per hour of this grid and the projected wall time of --full on 2 cores."""
    epochs = (df["steps_done"].astype(float) / 229).sum()
    per_epoch = float(df["wall_s"].astype(float).sum() / max(epochs, 1))
    runs_per_hour = len(df) / wall_s * 3600 if wall_s > 0 else float("nan")
    full_runs = FULL["trials"] * 12
    bound_h = full_runs * FULL["max_epochs"] * per_epoch / 2 / 3600
    mean_epochs = epochs / max(len(df), 1)
    return (f"**Speed.** {len(df)} runs, {epochs:.0f} epochs in all, "
            f"{per_epoch:.2f} s per run-epoch (training and evaluations, summed over runs); "
            f"mean {mean_epochs:.1f} epochs per run before early stopping or the cap. "
            + (f"This grid ran {runs_per_hour:.0f} runs per hour on 2 cores. " if wall_s > 0
               else "(The grid was already complete: no wall time measured.) ")
            + f"--full ({full_runs} runs, at most {FULL['max_epochs']} epochs) on one 2-core "
            f"machine: at most {bound_h:.0f} h ({bound_h / 24:.1f} days) if every run used all "
            f"its epochs, at this speed per epoch.\n")


def main(argv=None):
    """Run (or, for --full without --run, write) the study; return the exit status."""
    parser = common.build_parser(STUDY, __doc__)
    parser.add_argument("--run", action="store_true",
                        help="with --full: run the 2 400-run grid here instead of only writing it")
    args = parser.parse_args(argv)
    mode = common.mode_of(args)
    try:
        prereg = common.load_prereg(STUDY)
        design_ = design(prereg)
        with open(common.experiment_path(STUDY), encoding="utf-8") as fh:
            check_sizes(prereg, design_, fh.read())
        directory = common.out_dir(args, STUDY)
        ini = common.prepare_experiment(STUDY, mode, directory, tiny=TINY, full=FULL,
                                        null=args.null, seed=args.seed)
        h5 = os.path.join(directory, f"{STUDY}.h5")
        if mode == "full" and not args.run:
            print(f"{STUDY}: wrote {ini} ({FULL['trials']} trials x 12 cells = "
                  f"{FULL['trials'] * 12} runs, at most {FULL['max_epochs']} epochs each); "
                  f"nothing run. On a cluster node:\n"
                  f"  bin/rnnbench run {ini} -o {h5} -j N\n"
                  f"then analyse (reruns nothing):\n"
                  f"  /usr/bin/python3 scripts/repro/greff_jsb.py --full --run --out {directory}")
            return 0
        wall_s = common.run_or_reuse(STUDY, ini, h5, args)
        df, dropped = load(h5)
        line, parts, _ = analyse(df, directory, mode, dropped)
        post_hoc = "; ".join(r for r in (common.prereg_status(prereg, h5), common.incomplete(h5))
                             if r)
    except (common.ReproError, rr.ResultsError, OSError, ValueError) as exc:
        print(f"greff_jsb.py: {exc}", file=sys.stderr)
        return 1
    if post_hoc:
        line = f"{common.POST_HOC} {line}"
    design_line = (f"design: {design_.text}; power calculation: {design_.key} = {design_.n}"
                   + (f" (this --{mode} run uses its own size)" if mode != "default" else ""))
    command = common.command_line(STUDY, mode, args, extra=" --run" if mode == "full" else "")
    head = [
        "# Greff et al. 2015, music arm: LSTM variants on JSB Chorales (greff-jsb)\n",
        f"**Claim.** {common.CLAIMS[STUDY]}\n",
        "**This is a --tiny smoke run: its numbers mean nothing.**\n" if mode == "tiny" else "",
        f"**This is a --null control (lr = {common.NULL_LR}: nothing can be learned): every check "
        "must read INCONCLUSIVE.**\n" if args.null else "",
        f"**Command.** `{command}`  \n**Experiment file.** `{ini}`  \n**Results.** `{h5}`  \n"
        f"**Grid wall time.** {wall_s:.0f} s (0 when the results file was already complete)\n",
        projected(df, wall_s, mode),
        f"**Verdict.** `{line}`\n",
        f"**Post hoc.** {post_hoc}\n" if post_hoc else "",
        f"**Design** (experiments/{STUDY}.prereg). {design_line}\n",
    ]
    path = os.path.join(directory, "report.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join([h for h in head if h] + parts + [DIFFERENCES]))
    print(f"{STUDY}: report {path}", file=sys.stderr)
    print(line)
    if post_hoc:
        print(f"  post hoc: {post_hoc}")
    print(f"  {design_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
