"""Budget curves and Kaplan-Meier figures of the reproduction drivers (scripts/repro/*.py).

A verdict that depends on the training budget is measured at several budgets (the summary's
`steps` column: a budget, one row per run and budget, whether each budget had its own runs or
the runs were read at each budget from their evaluations); budget_rows() tabulates, per cell, delay and budget, the
fraction of runs solved (with its exact 95 % Clopper-Pearson interval) and the median final loss /
baseline, and plot_budget() draws both against the number of updates. plot_km() draws
Kaplan-Meier curves of the fraction solved against updates (runs that never solve censored at
their budget; rnnbench_stats.kaplan_meier, statsmodels' product-limit estimator).

Example (what copy_task.py does):
    rows = curves.budget_rows(df, cells=["rnn", "lstm"])
    curves.plot_budget(df, "out/budget.png", cells=["rnn", "lstm"], title="copy")
"""
import numpy as np
from statsmodels.stats.proportion import proportion_confint

import rnnbench_stats as st

BUDGET = "steps"  # the summary column holding a run's budget (steps_done: what it ran)


def _pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def solved_fraction(rows):
    """(solved, n, fraction, low, high): the runs solved and the exact 95 % interval."""
    n = len(rows)
    k = int((rows["solved"] != 0).sum())
    if n == 0:
        return 0, 0, float("nan"), float("nan"), float("nan")
    low, high = proportion_confint(k, n, alpha=1 - st.LEVEL, method="beta")
    return k, n, k / n, float(low), float(high)


def budget_rows(df, cells, delays=None):
    """Rows [cell, T, budget, "k/n", fraction solved, low, high, median loss/baseline], cells in
    the order given, T and budgets ascending."""
    delays = delays if delays is not None else sorted(df["delay"].unique())
    rows = []
    for cell in cells:
        for delay in delays:
            for budget in sorted(df[BUDGET].unique()):
                at = df[(df["cell"] == cell) & (df["delay"] == delay) & (df[BUDGET] == budget)]
                if len(at) == 0:
                    continue
                k, n, frac, low, high = solved_fraction(at)
                rows.append([cell, int(delay), int(budget), f"{k}/{n}", frac, low, high,
                             float(at["loss_over_baseline"].astype(float).median())])
    return rows


BUDGET_HEADER = ["cell", "T", "updates", "solved", "fraction", "95% low", "95% high",
                 "median loss/baseline"]


def km_fraction_solved(rows):
    """(steps, fraction solved by then) of the Kaplan-Meier fit of `rows` (censored at budget)."""
    solved = (rows["solved"] != 0).to_numpy(dtype=int)
    steps = np.where(solved, rows["steps_to_solve"], rows[BUDGET]).astype(float)
    times, surviving, _median = st.kaplan_meier(steps, solved)
    return times, 1.0 - surviving


def plot_budget(df, path, cells, title):
    """Two rows of panels, one column per T: fraction solved (points with their 95 % interval;
    dotted: Kaplan-Meier of the rows at the largest budget) and median loss /
    baseline against updates (log scale)."""
    plt = _pyplot()
    delays = sorted(df["delay"].unique())
    budgets = sorted(df[BUDGET].unique())
    fig, axes = plt.subplots(2, len(delays), figsize=(4 * len(delays), 6.5), squeeze=False,
                             sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for col, delay in enumerate(delays):
        top, bottom = axes[0][col], axes[1][col]
        for i, cell in enumerate(cells):
            colour = colours[i % len(colours)]
            offset = 1.0 + 0.04 * (i - (len(cells) - 1) / 2)  # keep the error bars apart
            frac, err_lo, err_hi, ratio = [], [], [], []
            for budget in budgets:
                at = df[(df["cell"] == cell) & (df["delay"] == delay) & (df[BUDGET] == budget)]
                _k, _n, f, low, high = solved_fraction(at)
                frac.append(f)
                err_lo.append(f - low)
                err_hi.append(high - f)
                ratio.append(float(at["loss_over_baseline"].astype(float).median()))
            x = np.asarray(budgets, dtype=float) * offset
            top.errorbar(x, frac, yerr=[err_lo, err_hi], marker="o", color=colour, label=cell,
                         capsize=3)
            largest = df[(df["cell"] == cell) & (df["delay"] == delay)
                         & (df[BUDGET] == budgets[-1])]
            times, solved = km_fraction_solved(largest)
            top.step(np.r_[times[1:] if len(times) > 1 else [], budgets[-1]],
                     np.r_[solved[1:] if len(times) > 1 else [], solved[-1]], where="post",
                     linestyle=":", color=colour)
            bottom.plot(budgets, ratio, marker="o", color=colour, label=cell)
        top.set_title(f"{title}, T = {int(delay)}")
        top.set_ylim(-0.05, 1.05)
        top.set_ylabel("fraction of runs solved")
        bottom.axhline(1.0, linestyle="--", color="grey", linewidth=1)
        bottom.set_ylabel("median final loss / baseline")
        bottom.set_xlabel("updates (budget)")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xticks(budgets)
            ax.set_xticklabels([str(int(b)) for b in budgets])
            ax.minorticks_off()
    axes[0][0].legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_km(panels, path, title):
    """Kaplan-Meier fraction solved against updates: `panels` is a list of (panel title,
    [(label, rows), ...]); one panel each, side by side."""
    plt = _pyplot()
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(6.0, 4.5 * ncols), 3.4 * nrows + 0.4),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (panel_title, series) in zip(axes.flat, panels):
        for label, rows in series:
            if len(rows) == 0:
                continue
            times, solved = km_fraction_solved(rows)
            budget = float(rows[BUDGET].max())
            ax.step(np.r_[times, budget], np.r_[solved, solved[-1]], where="post",
                    label=f"{label} ({int((rows['solved'] != 0).sum())}/{len(rows)})")
        ax.set_title(panel_title, fontsize="medium")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("updates")
        ax.set_ylabel("fraction solved (Kaplan-Meier)")
        ax.legend(loc="upper left", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def km_panels(df, panel_by, series_by, series=None):
    """plot_km's panels from a summary: one panel per distinct value (tuple) of the `panel_by`
    columns, in order of appearance, one curve per value of `series_by` (or the given list)."""
    panels = []
    by = panel_by[0] if len(panel_by) == 1 else list(panel_by)  # a one-column key is a value
    for key, rows in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        title = ", ".join(f"T = {int(v)}" if col == "delay" else str(v)
                          for col, v in zip(panel_by, key))
        values = series if series is not None else list(dict.fromkeys(rows[series_by]))
        panels.append((title, [(f"{series_by} {v}" if series_by == "forget_bias" else str(v),
                                rows[rows[series_by] == v]) for v in values]))
    return panels


def add_km(report, df, panel_by, series_by, title, series=None):
    """Draw DIR/km.png from km_panels and append it to the report."""
    path = plot_km(km_panels(df, panel_by, series_by, series), f"{report.directory}/km.png",
                   title)
    report.figures.append(path)
    report.text("![Kaplan-Meier](km.png)\n\n*Kaplan-Meier fraction of runs solved against "
                "updates (runs never solved censored at the budget; solved / runs in the "
                "legend)*\n")
    return path
