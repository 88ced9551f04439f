"""Arjovsky et al. 2016, copy task: the RNN stays at the baseline, gated cells beat it at short T.

Runs experiments/copy.ini (copy at T = 10 and 40 with rnn, lstm and gru, every run trained for
8 000 updates or until solved) and reads each run at the pre-registered budgets (500, 2 000,
8 000 updates: its last held-out evaluation at or before the budget, solved when it first met the
criterion by then). At every budget it declares the checks of experiments/copy.prereg (the
baseline 10 ln 8 / (T + 20) is computed by rnnbench and stored per run):
  - at every T, rnn stays at the baseline (paired TOST of log loss against log baseline);
    positive control: lstm solves at that T and budget, else INCONCLUSIVE;
  - at the shortest T, lstm and gru beat the baseline (Wilcoxon signed-rank, claim less);
  - at the longest T, lstm stays at the baseline (their LSTM beat it only at their shortest T);
    positive control: gru solves there at that budget.
A budget's checks are INCONCLUSIVE when neither lstm nor gru beats the baseline at any T at that
budget. Seeds from design()'s power calculation; Holm over all checks of all budgets; one verdict
per budget besides the study's. The budget curve (fraction solved, median loss / baseline against
updates) is tabulated and drawn (budget.png), with the Kaplan-Meier fraction solved (km.png).

Example:
    /usr/bin/python3 scripts/repro/copy_task.py            # 70 min on 2 cores at load ~8
    /usr/bin/python3 scripts/repro/copy_task.py --tiny --out /tmp/copy
"""
import sys

import numpy as np
import pandas as pd

import common
import curves
import rnnbench_results as rr
import rnnbench_stats as st

STUDY = "copy"

TINY = {"delay": "3, 6", "steps": 40, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 32, "seeds": 2}
FULL = {"delay": "100, 200, 300, 500", "steps": 80000, "hidden": 128, "eval_every": 500,
        "seeds": 10}


def design(prereg):
    """The drop below the baseline the study is designed to detect and the seeds it needs."""
    k = common.prereg_number(prereg, "checks", int)
    dz = common.prereg_number(prereg, "effect_dz")
    n = st.paired_n(dz, alpha=st.ALPHA / k)
    return common.Design(f"Wilcoxon against the baseline detects d_z = {dz:g} with {n} seeds "
                         f"per cell and T at alpha {st.ALPHA / k:.4g} and {st.POWER:.0%} power",
                         "seeds", n)


def ratio_table(df):
    """Rows of (T, baseline, median loss/baseline per cell)."""
    cells = common.ordered(df["cell"])
    rows = []
    for delay in sorted(df["delay"].unique()):
        at = df[df["delay"] == delay]
        rows.append([int(delay), float(at["baseline"].iloc[0])]
                    + [float(at.loc[at["cell"] == c, "loss_over_baseline"].median())
                       for c in cells])
    return ["T", "baseline 10 ln8/(T+20)"] + [f"{c} loss/baseline" for c in cells], rows


def at_budget(row, steps, loss, budget):
    """One run read at `budget` updates: its last evaluation at or before it."""
    seen = np.nonzero(steps <= budget)[0]
    last = seen[-1] if len(seen) else 0
    out = dict(row)
    solved_at = int(row["steps_to_solve"])
    out.update(steps=budget, final_loss=float(loss[last]),
               loss_over_baseline=float(loss[last]) / float(row["baseline"]),
               solved=int(bool(row["solved"]) and 0 <= solved_at <= budget),
               steps_done=min(int(row["steps_done"]), budget))
    if row["status"] == "diverged" and int(row["steps_done"]) > budget:
        out["status"] = "done"  # it diverged after this budget
    if not out["solved"]:
        out["steps_to_solve"] = -1
    return out


def budgets_of(prereg, mode, df):
    """The pre-registered budgets; --tiny reads its own largest budget at 1/16, 1/4 and 1."""
    if mode == "tiny":
        top = int(df["steps"].max())
        return [max(1, top // 16), max(1, top // 4), top]
    text = prereg.design.get("budgets", "")
    try:
        budgets = [int(b) for b in text.split(",") if b.strip()]
    except ValueError:
        raise common.ReproError(f"{prereg.path}: [design] budgets = {text!r} is not a comma "
                                f"list of integers") from None
    if len(budgets) < 3 or max(budgets) > int(df["steps"].max()):
        raise common.ReproError(f"{prereg.path}: [design] budgets = {text!r}: need at least 3, "
                                f"none above the runs' {int(df['steps'].max())} updates")
    return budgets


def read_budgets(h5, df, budgets):
    """The summary with one row per run and budget (`steps` = the budget)."""
    rows = []
    with rr.open_results(h5) as res:
        for _, row in df.iterrows():
            run = res.run(row["id"])
            steps = np.asarray(run["eval/step"], dtype=float)
            loss = np.asarray(run["eval/loss"], dtype=float)
            rows += [at_budget(row, steps, loss, b) for b in budgets]
    return pd.DataFrame(rows)


def budget_specs(df, budget, margin):
    """The six checks at one budget (its own runs)."""
    delays = sorted(df["delay"].unique())
    at = {"steps": budget}
    group = f"steps={budget}"
    learner = [dict(at, cell="lstm"), dict(at, cell="gru")]
    specs = [common.CheckSpec(f"steps={budget} rnn T={d}: stays at the baseline",
                              "baseline_equivalent", dict(at, cell="rnn", delay=d),
                              margin=margin, learner=learner,
                              control=dict(at, cell="lstm", delay=d), group=group)
             for d in delays]
    specs += [common.CheckSpec(f"steps={budget} {c} T={delays[0]}: beats the baseline",
                               "vs_baseline", dict(at, cell=c, delay=delays[0]), claim="less",
                               learner=learner, group=group) for c in ("lstm", "gru")]
    specs.append(common.CheckSpec(f"steps={budget} lstm T={delays[-1]}: stays at the baseline",
                                  "baseline_equivalent",
                                  dict(at, cell="lstm", delay=delays[-1]), margin=margin,
                                  learner=learner, control=dict(at, cell="gru",
                                                                delay=delays[-1]),
                                  group=group))
    return specs


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks and the per-budget rows they select."""
    margin = common.prereg_number(prereg, "baseline_margin")
    cells = common.ordered(df["cell"])
    runs = df
    budgets = budgets_of(prereg, mode, runs)
    df = read_budgets(report.h5, runs, budgets)
    for budget in budgets:
        header, rows = ratio_table(df[df[curves.BUDGET] == budget])
        report.text(f"## Final loss over the baseline at {budget} updates (median over seeds)"
                    f"\n\n" + common.md_table(header, rows))
    report.text("## Budget curve: fraction of runs solved and median loss / baseline per "
                "budget\n\nEvery run read at each budget; interval: exact 95 % (Clopper-Pearson).\n\n"
                + common.md_table(curves.BUDGET_HEADER, curves.budget_rows(df, cells)))
    budget_png = curves.plot_budget(df, f"{report.directory}/budget.png", cells, "copy")
    report.figures.append(budget_png)
    report.text("![Budget curve](budget.png)\n\n*Fraction of runs solved (95 % interval; "
                "dotted: Kaplan-Meier at the largest budget) and median loss / "
                "baseline against updates, per T*\n")
    largest = runs
    km_png = curves.plot_km([(f"T = {int(d)}", [(c, largest[(largest["cell"] == c)
                                                             & (largest["delay"] == d)])
                                               for c in cells])
                             for d in sorted(df["delay"].unique())],
                            f"{report.directory}/km.png",
                            "copy: fraction solved against updates")
    report.figures.append(km_png)
    report.text("![Kaplan-Meier](km.png)\n\n*Kaplan-Meier fraction solved against updates "
                "(unsolved runs censored at the budget)*\n")
    report.compare_table("Final held-out loss against rnn, largest budget", baseline="rnn")
    specs = []
    for budget in budgets:
        specs += budget_specs(df, budget, margin)
    return specs, df


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
