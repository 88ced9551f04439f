"""Greff et al. 2015 (LSTM: A Search Space Odyssey): which LSTM parts and hyperparameters matter.

Runs experiments/greff2015.ini (the vanilla LSTM with peepholes, lstm-peep, and its eight single
ablations on adding and temporal-order, a random search over lr and hidden with the same draws for
every variant), then checks, per task:
  - NFG (lstm-nfg) and NOAF (lstm-noaf) are significantly worse than lstm-peep (higher mean final
    loss, Welch's t-test p < 0.05);
  - CIFG (lstm-cifg) and NP (lstm) are not significantly different (p >= 0.05);
  - the learning rate explains more of the variance of log10(final loss / baseline) than the hidden
    size (one-way ANOVA eta^2 over quartile bins of lr and over the hidden sizes, all variants
    pooled).
The verdict is REPRODUCED if all 10 checks hold, NOT REPRODUCED if none does, else PARTLY.

Example:
    /usr/bin/python3 scripts/repro/greff2015.py            # about 1 minute on 2 cores
    /usr/bin/python3 scripts/repro/greff2015.py --tiny --out /tmp/greff
"""
import sys


import numpy as np

import common

STUDY = "greff2015"
BASELINE = "lstm-peep"
ALPHA = 0.05
HURT = ("lstm-nfg", "lstm-noaf")          # the claim: significantly worse than V
SAME = ("lstm-cifg", "lstm")              # the claim: no significant difference (lstm is NP)
LR_BINS = 4

TINY = {"delay": 5, "trials": 3, "steps": 20, "hidden": "choice(4, 8)", "batch": 8,
        "eval_every": 10, "eval_size": 32}
FULL = {"delay": 100, "trials": 200, "steps": 5000, "hidden": "loguniform(20, 200)",
        "lr": "loguniform(1e-5, 1e-1)", "input_noise": "uniform(0, 0.5)", "eval_every": 250}


def variance_shares(rows):
    """eta^2 of log10(final loss / baseline) for each hyperparameter that varies, and the cell."""
    metric = np.log10(np.maximum(rows["loss_over_baseline"].astype(float), 1e-12))
    shares = {}
    for key in ("lr", "hidden", "input_noise", "momentum"):
        if key in rows.columns and rows[key].nunique() > 1:
            factor = common.bins_of(rows[key], LR_BINS) if key != "hidden" or \
                rows[key].nunique() > 6 else rows[key].to_numpy()
            shares[key] = common.eta_squared(metric, factor)
    shares["cell"] = common.eta_squared(metric, rows["cell"].to_numpy())
    return shares


def analyse(df, report, mode):
    """Tables, box plots, t-tests and variance shares; return (status, reason)."""
    checks, notes = [], []
    report.compare_table("Final loss per variant (Welch's t-test vs lstm-peep)",
                         baseline=BASELINE)
    report.figure("box", "box", "Final held-out loss per variant over the random-search trials "
                  "(blue: differs from lstm-peep, Welch p < 0.05)", baseline=BASELINE)
    share_rows = []
    for task in common.ordered(df["task"]):
        rows = df[df["task"] == task]
        base = rows.loc[rows["cell"] == BASELINE, "final_loss"].astype(float)
        for cell, expect in [(c, "hurts") for c in HURT] + [(c, "same") for c in SAME]:
            values = rows.loc[rows["cell"] == cell, "final_loss"].astype(float)
            t, p = common.welch(values, base)
            worse = values.mean() > base.mean()
            if expect == "hurts":
                held = bool(worse and p < ALPHA)
            else:
                held = bool(not (p < ALPHA))
            checks.append(held)
            notes.append(f"{task} {cell} {'worse' if worse else 'better'} p={common.fmt(p, 2)}"
                         f"{'' if held else ' (claim fails)'}")
        shares = variance_shares(rows)
        share_rows.append([task] + [common.fmt(shares.get(k, np.nan), 2)
                                    for k in ("lr", "hidden", "input_noise", "cell")])
        others = max(v for k, v in shares.items() if k not in ("lr", "cell"))
        held = shares["lr"] > others
        checks.append(bool(held))
        notes.append(f"{task} eta2 lr={shares['lr']:.2f} vs hidden={shares['hidden']:.2f}"
                     f"{'' if held else ' (claim fails)'}")
    report.text("## Share of variance explained (one-way ANOVA eta²)\n\n"
                f"Metric: log10(final loss / baseline) over every run of the task (all variants); "
                f"lr in {LR_BINS} quantile bins, hidden by its values; `cell` for comparison.\n\n"
                + common.md_table(["task", "lr", "hidden", "input_noise", "cell"], share_rows))
    report.figure("curves", "curves", "Training loss (median over trials and IQR) per variant")
    return common.verdict(checks, notes)


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, argv)


if __name__ == "__main__":
    sys.exit(main())
