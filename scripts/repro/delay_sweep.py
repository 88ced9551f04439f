"""Delay sweep: the longest delay at which each cell still solves copy, adding and recall.

Runs experiments/delay-sweep.ini (every cell of `bin/rnnbench list cells` on copy, adding and
recall at T = 5, 10, 20, 40, 80; --full: T = 10 .. 1000) and reports, per task and cell, its reach:
the longest T at which a majority of its seeds solved the task (0: none), and beside it the
longest T at which its median final loss / baseline was below HALF (learned at least half of the
dependency). The check, per task: the Elman RNN's reach is shorter than the best of lstm and gru.
A task on which no cell solves at any T is judged on the loss reach instead; a task on which no
cell gets below HALF either is inconclusive and left out. REPRODUCED if the check holds on every
conclusive task, NOT REPRODUCED if on none, else PARTLY.

Example:
    /usr/bin/python3 scripts/repro/delay_sweep.py          # about 2.5 minutes on 2 cores
    /usr/bin/python3 scripts/repro/delay_sweep.py --tiny --out /tmp/sweep
"""
import sys


import common

STUDY = "delay-sweep"
HALF = 0.5

TINY = {"delay": "3, 6", "steps": 10, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 16}
FULL = {"delay": "10, 20, 50, 100, 200, 500, 1000", "steps": 10000, "hidden": 128,
        "eval_every": 250, "seeds": 3}


def reaches(rows):
    """(solved reach, loss reach) of one cell on one task: the longest T meeting each test."""
    solved_reach = loss_reach = 0
    for delay, at in rows.groupby("delay"):
        if 2 * int((at["solved"] != 0).sum()) > len(at):
            solved_reach = max(solved_reach, int(delay))
        if float(at["loss_over_baseline"].median()) < HALF:
            loss_reach = max(loss_reach, int(delay))
    return solved_reach, loss_reach


def analyse(df, report, mode):
    """Tables, figures and checks; return (status, reason)."""
    tasks = common.ordered(df["task"])
    cells = common.ordered(df["cell"])
    reach = {(t, c): reaches(df[(df["task"] == t) & (df["cell"] == c)])
             for t in tasks for c in cells}
    report.text("## Reach: the longest T solved (majority of seeds) / with loss below half the "
                "baseline\n\nDelays run: " + ", ".join(str(int(d)) for d in
                                                      sorted(df["delay"].unique())) + "\n\n"
                + common.md_table(["cell"] + tasks,
                                  [[c] + [f"{reach[t, c][0]} / {reach[t, c][1]}" for t in tasks]
                                   for c in cells]))
    report.figure("delay", "delay", "Final loss / baseline against T, every cell (dashed: the "
                  "baseline)")
    report.figure("delay", "delay_steps", "Steps to solve against T (the budget: never solved)",
                  metric="steps_to_solve")
    report.compare_table("Final held-out loss per task and T", baseline="lstm-peep")
    checks, notes = [], []
    for task in tasks:
        kind = 0 if any(reach[task, c][0] for c in cells) else 1
        if not any(reach[task, c][kind] for c in cells):
            notes.append(f"{task}: inconclusive (no cell below {HALF} of the baseline)")
            continue
        rnn = reach[task, "rnn"][kind]
        gated = max(reach[task, "lstm"][kind], reach[task, "gru"][kind])
        checks.append(rnn < gated)
        what = "solved" if kind == 0 else f"loss<{HALF}*baseline"
        notes.append(f"{task} ({what}) reach rnn {rnn} vs lstm {reach[task, 'lstm'][kind]}, "
                     f"gru {reach[task, 'gru'][kind]}")
    if not checks:
        return "NOT REPRODUCED", "no task was conclusive: " + "; ".join(notes)
    status = common.grade(sum(checks), len(checks))
    return status, (f"rnn reaches less far than the best of lstm/gru on {sum(checks)}/"
                    f"{len(checks)} tasks: " + "; ".join(notes))


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, argv)


if __name__ == "__main__":
    sys.exit(main())
