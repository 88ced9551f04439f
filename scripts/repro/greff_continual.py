"""Greff et al.'s gate claims on continual streams: NFG and NOAF against V where the part matters.

Runs experiments/greff-continual.ini (V = lstm-peep and lstm-nfg on reber-continual at T = 200,
and V, lstm-nfg and lstm-noaf on adding-stream with 10 segments of T = 50: one unbroken stream,
no state reset, where a forget gate has a job and an unbounded cell state reaches the output) and
declares the checks of experiments/greff-continual.prereg:
  - NFG fails where V succeeds: V solves more runs than lstm-nfg (Fisher's exact test, claim
    greater); positive control: V solves (a majority of its runs) on that task, else INCONCLUSIVE;
  - NOAF hurts on the long stream (adding-stream): V solves more runs than lstm-noaf (a diverged run is a run not
    solved), same test and control.
A task's checks are INCONCLUSIVE when V does not beat the task's trivial baseline. Seeds from
design()'s power calculation; Holm over all checks. Reported beside them: solved, diverged and
median steps to solve per cell and task, and the Kaplan-Meier fraction solved against updates
(km.png).

Example:
    /usr/bin/python3 scripts/repro/greff_continual.py          # 54 min on 2 cores at load ~8
    /usr/bin/python3 scripts/repro/greff_continual.py --tiny --out /tmp/gc
"""
import sys

import common
import curves
import rnnbench_stats as st

STUDY = "greff-continual"
BASE = "lstm-peep"
ABLATIONS = {"lstm-nfg": "NFG fails where V succeeds",
             "lstm-noaf": "NOAF hurts on the long stream"}

TINY = {"reber-continual": {"delay": 20}, "adding-stream": {"delay": 5, "n_symbols": 4},
        "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10, "eval_size": 32, "seeds": 2}
FULL = {"reber-continual": {"delay": "200, 1000", "steps": 5000},
        "adding-stream": {"delay": "50, 100", "steps": 5000},
        "cell": "lstm-peep, lstm-nig, lstm-nfg, lstm-nog, lstm-noaf, lstm-cifg, lstm",
        "eval_every": 250, "seeds": 20}


def design(prereg):
    """The solved fractions the study is designed to tell apart and the seeds they need."""
    k = common.prereg_number(prereg, "checks", int)
    p1 = common.prereg_number(prereg, "solved_base")
    p0 = common.prereg_number(prereg, "solved_ablation")
    n = st.fisher_n(p1, p0, alpha=st.ALPHA / k)
    return common.Design(f"Fisher's exact test tells solved fractions {p1:g} (V) from {p0:g} "
                         f"(the ablation) with {n} seeds per cell and task at alpha "
                         f"{st.ALPHA / k:.4g} and {st.POWER:.0%} power", "seeds", n)


def outcome_rows(df, tasks, cells):
    """Rows [task, cell, solved k/n, diverged, Kaplan-Meier median steps to solve, median loss /
    baseline]."""
    rows = []
    for task in tasks:
        for cell in cells:
            at = df[(df["task"] == task) & (df["cell"] == cell)]
            if len(at) == 0:  # a cell not run on this task (NOAF: adding-stream only)
                continue
            solved = (at["solved"] != 0).to_numpy(dtype=int)
            steps = common.censored_steps(at).to_numpy()
            median = st.kaplan_meier(steps, solved)[2] if len(at) else float("nan")
            rows.append([task, cell, f"{int(solved.sum())}/{len(at)}",
                         int((at["status"] == "diverged").sum()),
                         "never" if median == float("inf") else f"{median:.0f}",
                         float(at["loss_over_baseline"].astype(float).median())])
    return rows


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    tasks = common.ordered(df["task"])
    cells = common.ordered(df["cell"])
    report.text("## Solved, diverged and time to solve per task and cell\n\nMedian steps to "
                "solve: Kaplan-Meier, runs never solved censored at the budget (\"never\": "
                "fewer than half solved). Runs stop when solved, so their final losses compare "
                "unequal budgets; no check cites them.\n\n"
                + common.md_table(["task", "cell", "solved", "diverged", "median steps to solve",
                                   "median final loss/baseline"],
                                  outcome_rows(df, tasks, cells)))
    png = curves.plot_km([(f"{task} (T = {int(df.loc[df['task'] == task, 'delay'].iloc[0])})",
                           [(cell, df[(df["task"] == task) & (df["cell"] == cell)])
                            for cell in cells
                            if ((df["task"] == task) & (df["cell"] == cell)).any()])
                          for task in tasks],
                         f"{report.directory}/km.png",
                         "V (lstm-peep) and its ablations on continual streams")
    report.figures.append(png)
    report.text("![Kaplan-Meier](km.png)\n\n*Fraction of runs solved against updates "
                "(Kaplan-Meier; runs never solved censored at the budget)*\n")
    report.figure("curves", "curves", "Training loss per cell and task (median over seeds)")
    return declare(df)


def declare(df):
    """The declared checks on the summary: per task, V against each ablation."""
    specs = []
    for task in common.ordered(df["task"]):
        base = {"task": task, "cell": BASE}
        present = set(df.loc[df["task"] == task, "cell"])
        for cell, claim in ABLATIONS.items():
            if cell not in present:  # NOAF runs on adding-stream only
                continue
            specs.append(common.CheckSpec(
                f"{task}: {claim}: V solves more runs than {cell}", "fisher", base,
                {"task": task, "cell": cell}, claim="greater", control=base, learner=base,
                group=task))
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
