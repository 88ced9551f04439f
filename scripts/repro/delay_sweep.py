"""Delay sweep: the longest delay at which each cell still solves adding and recall.

Runs experiments/delay-sweep.ini (four cells on adding and recall at T = 10, 20, 40, 80; --full:
all fourteen cells of the LSTM/GRU families on copy, adding and recall at T = 10 .. 1000) and
reports, per task and cell, its reach: the longest T at which a majority of its seeds solved the
task (0: none), and beside it the longest T at which its median final loss / baseline was below
HALF, and the Kaplan-Meier fraction solved against updates (km.png). It declares one check per
task (experiments/delay-sweep.prereg): at T*, the longest T at which lstm (the positive control)
solves, lstm solves more runs than rnn (Fisher's exact test). T* is chosen from the control's runs
alone; where lstm solves at no T, the check is INCONCLUSIVE (its control failed). A task's check
is INCONCLUSIVE too when neither lstm nor gru beats its trivial baseline. Seeds from design()'s
power calculation; Holm over the tasks.

Example:
    /usr/bin/python3 scripts/repro/delay_sweep.py          # 39 min with -j 1 at load ~8
    /usr/bin/python3 scripts/repro/delay_sweep.py --tiny --out /tmp/sweep
"""
import sys


import common
import curves
import rnnbench_stats as st

STUDY = "delay-sweep"
HALF = 0.5

TINY = {"delay": "3, 6", "steps": 10, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 16, "seeds": 2}
FULL = {"task": "copy, adding, recall", "delay": "10, 20, 50, 100, 200, 500, 1000",
        "cell": "rnn, irnn, lstm-peep, lstm, lstm-nig, lstm-nfg, lstm-nog, lstm-niaf, lstm-noaf, "
                "lstm-cifg, lstm-fgr, lstm-1997, gru, gru-ra",
        "steps": 10000, "hidden": 128,
        "eval_every": 250, "seeds": 9}


def design(prereg):
    """The solved fractions the study is designed to tell apart and the seeds they need."""
    k = common.prereg_number(prereg, "checks", int)
    p1 = common.prereg_number(prereg, "solved_lstm")
    p0 = common.prereg_number(prereg, "solved_rnn")
    n = st.fisher_n(p1, p0, alpha=st.ALPHA / k)
    return common.Design(f"Fisher's exact test tells solved fractions {p1:g} (lstm) from {p0:g} "
                         f"(rnn) at T* with {n} seeds at alpha {st.ALPHA / k:.4g} and "
                         f"{st.POWER:.0%} power", "seeds", n)


def reaches(rows):
    """(solved reach, loss reach) of one cell on one task: the longest T meeting each test."""
    solved_reach = loss_reach = 0
    for delay, at in rows.groupby("delay"):
        if 2 * int((at["solved"] != 0).sum()) > len(at):
            solved_reach = max(solved_reach, int(delay))
        if float(at["loss_over_baseline"].median()) < HALF:
            loss_reach = max(loss_reach, int(delay))
    return solved_reach, loss_reach


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
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
    km_cells = [c for c in ("rnn", "irnn", "lstm", "lstm-peep", "gru") if c in cells]
    png = curves.plot_km([(f"{task}, T = {int(d)}",
                           [(c, df[(df["task"] == task) & (df["delay"] == d) & (df["cell"] == c)])
                            for c in km_cells])
                          for task in tasks for d in sorted(df.loc[df["task"] == task, "delay"]
                                                            .unique())[-2:]],
                         f"{report.directory}/km.png",
                         "fraction solved against updates at the two longest delays")
    report.figures.append(png)
    report.text("![Kaplan-Meier](km.png)\n\n*Kaplan-Meier fraction solved against updates "
                "(runs never solved censored at the budget), per cell, at the "
                "two longest delays of each task*\n")
    specs = []
    for task in tasks:
        delays = sorted(df.loc[df["task"] == task, "delay"].unique())
        # T*: the longest T the control solves, from the control's runs alone
        t_star = reach[task, "lstm"][0] or delays[0]
        at = {"task": task, "delay": t_star}
        specs.append(common.CheckSpec(
            f"{task} T*={t_star}: lstm solves more runs than rnn", "fisher",
            dict(at, cell="lstm"), dict(at, cell="rnn"), claim="greater",
            control=dict(at, cell="lstm"),
            learner=[{"task": task, "cell": "lstm"}, {"task": task, "cell": "gru"}]))
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
