"""Jozefowicz et al. 2015: an LSTM forget-gate bias of 1 learns long dependencies better than 0.

Runs experiments/forget-bias.ini (lstm on adding at T = 100, forget_bias 0 vs 1, runs stop when
solved) and declares, per (task, T), the checks of experiments/forget-bias.prereg:
  - bias 1 solves more runs than bias 0: Fisher's exact test (a tie is INCONCLUSIVE);
  - bias 1 solves sooner: log-rank test on the steps to solve, a run that never solves censored
    at the budget (Kaplan-Meier medians in the check's note).
No final loss is cited: stop_when_solved ends each run at a different step. Both checks are
INCONCLUSIVE when neither arm beats the trivial baseline. Seeds from design()'s power
calculation; Holm over all checks.

Example:
    /usr/bin/python3 scripts/repro/forget_bias.py          # about a minute on 2 cores
    /usr/bin/python3 scripts/repro/forget_bias.py --tiny --out /tmp/fb
"""
import sys

import common
import curves
import rnnbench_stats as st

STUDY = "forget-bias"

TINY = {"delay": 10, "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10, "eval_size": 32,
        "seeds": 2}
FULL = {"task": "adding, temporal-order, copy", "delay": "100, 200", "steps": 10000,
        "hidden": 128, "eval_every": 250, "seeds": 20}


def design(prereg):
    """The solved fractions the study is designed to tell apart and the seeds they need."""
    k = common.prereg_number(prereg, "checks", int)
    p1 = common.prereg_number(prereg, "solved_variant")
    p0 = common.prereg_number(prereg, "solved_base")
    n = st.fisher_n(p1, p0, alpha=st.ALPHA / k)
    return common.Design(f"Fisher's exact test tells solved fractions {p1:g} (bias 1) from "
                         f"{p0:g} (bias 0) with {n} seeds per arm at alpha {st.ALPHA / k:.4g} "
                         f"and {st.POWER:.0%} power", "seeds", n)


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    report.compare_table("Steps to solve by forget bias (censored at the budget)",
                         by="forget_bias", baseline="0", metric="steps_to_solve")
    report.figure("curves", "curves", "Training loss, forget bias 0 vs 1 (median over seeds, IQR)",
                  by="forget_bias")
    report.figure("box", "box", "Steps to solve per forget bias (every seed a dot)",
                  by="forget_bias", metric="steps_to_solve", baseline="0")
    curves.add_km(report, df, ["task", "delay"], "forget_bias",
                  "forget-gate bias 0 vs 1: fraction solved against updates")
    specs = []
    for (task, delay), _rows in df.groupby(["task", "delay"], sort=False):
        at = {"task": task, "delay": delay}
        one, zero = dict(at, forget_bias=1), dict(at, forget_bias=0)
        specs.append(common.CheckSpec(f"{task} T={delay}: bias 1 solves more runs", "fisher",
                                      one, zero, claim="greater", learner=at))
        specs.append(common.CheckSpec(f"{task} T={delay}: bias 1 solves sooner", "logrank",
                                      one, zero, claim="greater", learner=at))
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
