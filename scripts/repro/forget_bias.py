"""Jozefowicz et al. 2015: an LSTM forget-gate bias of 1 learns long dependencies better than 0.

Runs experiments/forget-bias.ini (lstm on adding at T = 100, forget_bias 0 vs 1, 8 seeds, runs
stop when solved) and checks:
  - bias 1 solves at least as many seeds as bias 0;
  - bias 1 needs fewer steps to solve on average (a seed that never solves counts as the step
    budget, a censored value);
  - that difference is significant (Welch's t-test, p < 0.05).
REPRODUCED if all three hold, NOT REPRODUCED if none does, else PARTLY.

Example:
    /usr/bin/python3 scripts/repro/forget_bias.py          # about 1 minute on 2 cores
    /usr/bin/python3 scripts/repro/forget_bias.py --tiny --out /tmp/fb
"""
import sys


import common

STUDY = "forget-bias"
ALPHA = 0.05

TINY = {"delay": 10, "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10, "eval_size": 32,
        "seeds": 2}
FULL = {"task": "adding, temporal-order, copy", "delay": "100, 200", "steps": 10000,
        "hidden": 128, "eval_every": 250, "seeds": 20}


def analyse(df, report, mode):
    """Tables, figures and checks; return (status, reason)."""
    report.compare_table("Steps to solve by forget bias (censored at the budget)",
                         by="forget_bias", baseline="0", metric="steps_to_solve")
    report.compare_table("Final held-out loss by forget bias", by="forget_bias", baseline="0")
    report.figure("curves", "curves", "Training loss, forget bias 0 vs 1 (median over seeds, IQR)",
                  by="forget_bias")
    report.figure("box", "box", "Steps to solve per forget bias (every seed a dot)",
                  by="forget_bias", metric="steps_to_solve", baseline="0")
    checks, notes = [], []
    for (task, delay), rows in df.groupby(["task", "delay"], sort=False):
        arms = {}
        for bias in (0.0, 1.0):
            arm = rows[rows["forget_bias"] == bias]
            arms[bias] = (int((arm["solved"] != 0).sum()), len(arm), common.censored_steps(arm))
        (s0, n0, steps0), (s1, n1, steps1) = arms[0.0], arms[1.0]
        t, p = common.welch(steps1, steps0)
        checks += [s1 >= s0, steps1.mean() < steps0.mean(), bool(p < ALPHA)]
        notes.append(f"{task} T={delay}: solved bias1 {s1}/{n1} vs bias0 {s0}/{n0}, mean steps "
                     f"{steps1.mean():.0f} vs {steps0.mean():.0f} (Welch p={common.fmt(p, 2)})")
    return common.verdict(checks, notes)


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, argv)


if __name__ == "__main__":
    sys.exit(main())
