"""Greff et al. 2015 (LSTM: A Search Space Odyssey): which LSTM parts and hyperparameters matter.

Runs experiments/greff2015.ini (the vanilla LSTM with peepholes, lstm-peep = V, and its eight
single ablations on adding and temporal-order, a random search over lr and hidden with the SAME
draws for every variant) and declares, per task, the checks pre-registered in
experiments/greff2015.prereg:
  - NFG (lstm-nfg) and NOAF (lstm-noaf) are worse than V: Wilcoxon signed-rank on the log final
    loss, one pair per shared draw (a paired design: the draws are shared);
  - CIFG (lstm-cifg) and NP (lstm) are no different from V: paired TOST within the stated margin
    (INCONCLUSIVE, never HOLDS, when the sample cannot establish equivalence);
  - the learning rate explains more of the variance than the hidden size: eta2(lr bins) -
    eta2(hidden) over the unique draws (each draw's log(final loss / baseline) averaged over the
    variants, so no draw counts twice), against a permutation null.
Every check of a task is INCONCLUSIVE when V does not beat the task's trivial baseline. The
trials come from the power calculation of design(). Holm over all checks.

Example:
    /usr/bin/python3 scripts/repro/greff2015.py            # about a minute on 2 cores
    /usr/bin/python3 scripts/repro/greff2015.py --tiny --out /tmp/greff
"""
import math
import sys

import numpy as np

import common
import rnnbench_stats as st

STUDY = "greff2015"
BASE = "lstm-peep"                          # V
HURT = (("lstm-nfg", "NFG"), ("lstm-noaf", "NOAF"))   # claim: worse than V
SAME = (("lstm-cifg", "CIFG"), ("lstm", "NP"))       # claim: no different from V

TINY = {"delay": 5, "trials": 3, "steps": 20, "hidden": "choice(4, 8)", "batch": 8,
        "eval_every": 10, "eval_size": 32}
FULL = {"delay": 100, "trials": 200, "steps": 5000, "hidden": "loguniform(20, 200)",
        "lr": "loguniform(1e-5, 1e-1)", "input_noise": "uniform(0, 0.5)", "eval_every": 250}


def design(prereg):
    """The effect the study is designed to detect and the trials its power calculation gives."""
    k = common.prereg_number(prereg, "checks", int)
    dz = common.prereg_number(prereg, "effect_dz")
    margin = common.prereg_number(prereg, "equivalence_margin")
    sd = common.prereg_number(prereg, "equivalence_sd")
    alpha = st.ALPHA / k  # Holm's first step: the worst case of the family
    n_diff = st.paired_n(dz, alpha=alpha)
    n_same = st.tost_paired_n(math.log(margin), sd, alpha=alpha)
    return common.Design(
        f"paired Wilcoxon detects d_z = {dz:g} with {n_diff} draws, paired TOST establishes "
        f"x/: {margin:g} (sd {sd:g} assumed) with {n_same}, at alpha {alpha:.4g} and "
        f"{st.POWER:.0%} power", "trials", max(n_diff, n_same))


def importance(task, bins):
    """A custom check: lr explains more variance than hidden over the task's unique draws."""
    def compute(df):
        rows = df[df["task"] == task]
        y = np.log(np.maximum(rows["loss_over_baseline"].astype(float), 1e-12))
        per_draw = rows.assign(y=y).groupby(["lr", "hidden"], sort=False)["y"].mean()
        lr = per_draw.index.get_level_values("lr").to_numpy(dtype=float)
        hidden = per_draw.index.get_level_values("hidden").to_numpy()
        return st.share_difference(per_draw.to_numpy(), st.quantile_bins(lr, bins), hidden,
                                   name=f"{task}: lr explains more variance than hidden",
                                   claim="greater")
    return compute


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    margin = common.prereg_number(prereg, "equivalence_margin")
    bins = common.prereg_number(prereg, "lr_bins", int)
    report.compare_table("Final loss per variant (paired against lstm-peep = V)", baseline=BASE)
    report.figure("box", "box", "Final held-out loss per variant over the random-search trials",
                  baseline=BASE)
    specs = []
    for task in common.ordered(df["task"]):
        base = {"task": task, "cell": BASE}
        for cell, label in HURT:
            specs.append(common.CheckSpec(f"{task}: {label} worse than V", "paired",
                                          {"task": task, "cell": cell}, base, claim="greater",
                                          learner=base))
        for cell, label in SAME:
            specs.append(common.CheckSpec(f"{task}: {label} no different from V", "equivalent",
                                          {"task": task, "cell": cell}, base, margin=margin,
                                          learner=base))
        specs.append(common.CheckSpec(f"{task}: lr explains more variance than hidden",
                                      "custom", {"task": task}, learner=base,
                                      compute=importance(task, bins)))
    report.text("## Hyperparameter importance\n\nPer task, each unique draw of (lr, hidden) is "
                "one unit: its log(final loss / baseline) averaged over the nine variants. "
                f"eta² of lr ({bins} quantile bins) minus eta² of hidden, against the "
                "permutation null of the units' values (neither matters).\n")
    report.figure("curves", "curves", "Training loss (median over trials and IQR) per variant")
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
