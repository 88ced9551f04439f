"""Hochreiter & Schmidhuber 1997 (Long Short-Term Memory): LSTM bridges long lags, the RNN does not.

Runs experiments/hochreiter1997.ini (adding at T = 50, 100, 200 and temporal order at T = 50, 100:
the paper's T = 100, 500, 1000 scaled down to fit minutes; lstm and rnn) and declares the checks
of experiments/hochreiter1997.prereg:
  - at every T of both tasks, lstm solves more runs than rnn (Fisher's exact test; the task's
    criterion: adding test MSE < 0.01, temporal order accuracy >= 99 %);
  - at the largest T of each task, rnn stays at the trivial baseline (paired TOST of log final
    loss against log baseline within the margin). The positive control: this counts only where
    lstm solves (a majority of its seeds) at that T in the same run; otherwise INCONCLUSIVE.
Every check of a task is INCONCLUSIVE when lstm does not beat the task's baseline. Seeds from
design()'s power calculation; Holm over all checks.

Example:
    /usr/bin/python3 scripts/repro/hochreiter1997.py          # a few minutes on 2 cores
    /usr/bin/python3 scripts/repro/hochreiter1997.py --tiny --out /tmp/h97
"""
import sys

import common
import curves
import rnnbench_stats as st

STUDY = "hochreiter1997"

TINY = {"adding": {"delay": "5, 10"}, "temporal-order": {"delay": "5, 10"},
        "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10, "eval_size": 32, "seeds": 2}
FULL = {"adding": {"delay": "100, 500, 1000", "form": 1997, "steps": 30000},
        "temporal-order": {"delay": 100, "steps": 10000},
        "eval_every": 500, "seeds": 10}


def design(prereg):
    """The solved fractions the study is designed to tell apart and the seeds they need."""
    k = common.prereg_number(prereg, "checks", int)
    p1 = common.prereg_number(prereg, "solved_lstm")
    p0 = common.prereg_number(prereg, "solved_rnn")
    n = st.fisher_n(p1, p0, alpha=st.ALPHA / k)
    return common.Design(f"Fisher's exact test tells solved fractions {p1:g} (lstm) from {p0:g} "
                         f"(rnn) with {n} seeds per cell and T at alpha {st.ALPHA / k:.4g} and "
                         f"{st.POWER:.0%} power", "seeds", n)


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    margin = common.prereg_number(prereg, "baseline_margin")
    report.compare_table("Final held-out loss (median over seeds)", baseline="lstm")
    report.compare_table("Steps to solve (never solved counts as the step budget)",
                         baseline="lstm", metric="steps_to_solve")
    report.figure("delay", "delay", "Final loss / baseline against T (median over seeds, IQR "
                  "band); dashed: the baseline")
    report.figure("curves", "curves", "Training loss per cell and T (median over seeds)")
    curves.add_km(report, df, ["task", "delay"], "cell",
                  "lstm vs rnn: fraction solved against updates", series=["lstm", "rnn"])
    specs = []
    for task in common.ordered(df["task"]):
        learner = {"task": task, "cell": "lstm"}
        delays = sorted(df.loc[df["task"] == task, "delay"].unique())
        for delay in delays:
            at = {"task": task, "delay": delay}
            specs.append(common.CheckSpec(f"{task} T={delay}: lstm solves more runs than rnn",
                                          "fisher", dict(at, cell="lstm"), dict(at, cell="rnn"),
                                          claim="greater", learner=learner))
        at = {"task": task, "delay": delays[-1]}
        specs.append(common.CheckSpec(f"{task} T={delays[-1]}: rnn stays at the baseline",
                                      "baseline_equivalent", dict(at, cell="rnn"),
                                      margin=margin, learner=learner,
                                      control=dict(at, cell="lstm")))
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
