"""Plot an rnnbench results file: training curves, loss against delay, gradient flow, box plots
of a metric per variant, and gate activations.

KIND is one of:
  curves    training loss against step, one line per variant (--by, default cell): the median over
            seeds with the interquartile range as a band, one panel per (task, delay); a running
            mean over max(1, steps/100) steps smooths the batch noise, and runs that stop early
            (stop_when_solved) leave the median when they stop; the dashed line is the task's
            trivial baseline loss.
  delay     final loss over the task's baseline (or best_eval over it, or steps to solve with
            --metric steps_to_solve) against the delay, one line per variant, one panel per task;
            median over seeds with the interquartile band; dashed line at 1 = the baseline.
  gradflow  heat map of eval/grad_flow_h (or _c with --state c): mean ||dL/dh_t|| over a held-out
            batch, time step t on x, evaluation step on y, log colour scale; one run (--run ID) or
            the median over the runs of each (task, delay, variant) the selection holds.
  box       box plot of the metric per variant (Greff et al. style), one panel per (task, delay),
            every run drawn as a dot; with --baseline, boxes whose mean differs from the
            baseline's by Welch's t-test (p < 0.05) are blue.
  gates     eval/gate_mean against the evaluation step, a line per gate, one panel per (task, delay,
            variant) (median over runs) or one run (--run ID).
  all       every plot that applies to the file, into the directory -o; prints one line
            "FILE<TAB>CAPTION" per plot (report.sh uses it); a plot with nothing to draw is left
            out with a note on stderr.
-o names the image; if it is an existing directory, the image goes into it as KIND.png.
Runs that failed (or were cancelled) have no result: they are left out of every plot, and the
curves' legend counts them as it counts diverged runs.
A file that is not a usable results file (missing, damaged, another program's) and bad arguments
(a bad KIND, a --where matching nothing) exit with status 2; a selection with nothing to draw with
status 1; both with a one-line message.

It does not compute tables (compare.py does).

Examples:
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 curves -o curves.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 delay --metric steps_to_solve -o d.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 gradflow --where delay=50 -o g.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 box --baseline lstm -o box.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 all -o results/quickstart-report
"""
import argparse
import os
import re
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd

import compare
import rnnbench_results as rr

KINDS = ("curves", "delay", "gradflow", "box", "gates", "all")
MAX_PANELS = 24
PANEL_SIZE = (5.0, 3.8)  # inches per panel; at DPI below, readable without zooming
SINGLE_PANEL_SIZE = (7.5, 4.8)
DPI = 110
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "z": "block input z (tanh)",
              "o": "output gate o", "r": "reset gate r", "u": "update gate u",
              "n": "candidate n (tanh)"}
METRIC_LABELS = {"final_loss": "final held-out loss", "best_eval": "best held-out loss",
                 "steps_to_solve": "steps to solve"}


class PlotError(Exception):
    """A usable file whose selection has nothing this kind of plot can draw (exit status 1)."""


# ------------------------------------------------------------------------------------------------
# helpers

def pyplot():
    """Return matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def quiet_percentiles(matrix, qs, axis=0):
    """Return np.nanpercentile of `matrix` for each q in `qs`, NaN (no warning) where all-NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [np.nanpercentile(matrix, q, axis=axis) for q in qs]


def spans_decade(*arrays):
    """True if the finite positive values of the arrays span a factor of 10 or more."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays] or [[]])
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 1 and values.max() / values.min() >= 10


def make_panels(plt, n, sharey=False):
    """Return (figure, list of n axes) in a grid of at most 3 columns."""
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    width, height = PANEL_SIZE if n > 1 else SINGLE_PANEL_SIZE
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.6),
                             squeeze=False, sharey=sharey, layout="constrained")
    axes = list(axes.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def check_panels(n, what):
    """Raise UsageError if a figure would need more than MAX_PANELS panels."""
    if n > MAX_PANELS:
        raise compare.UsageError(f"{n} panels ({what}) is more than {MAX_PANELS}: "
                                 f"narrow the selection with --where")


def variant_colors(plt, df, by):
    """Return {variant: colour}, the same for a variant in every panel of a figure."""
    cmap = plt.get_cmap("tab10" if df[by].nunique() <= 10 else "tab20")
    return {v: cmap(i % cmap.N) for i, v in enumerate(compare.ordered_unique(df[by]))}


def task_baseline(rows):
    """Return the task's trivial loss for these rows (NaN when the task has none)."""
    values = rows["baseline"].dropna().unique()
    return float(values[0]) if len(values) == 1 else float("nan")


def step_aligned(curves):
    """Stack [(steps, values)] into (all steps, matrix runs x steps), NaN where a run has none."""
    all_steps = np.unique(np.concatenate([s for s, _ in curves])) if curves else np.array([])
    matrix = np.full((len(curves), len(all_steps)), np.nan)
    for i, (steps, values) in enumerate(curves):
        matrix[i, np.searchsorted(all_steps, steps)] = values
    return all_steps, matrix


def finite(a):
    """Return a float copy of `a` with inf replaced by NaN (diverged runs log inf)."""
    a = np.array(a, dtype=float)
    a[~np.isfinite(a)] = np.nan
    return a


def suptitle(fig, text, res):
    """Title a figure with `text` and the experiment it comes from."""
    width_chars = int(fig.get_figwidth() * 11)  # about 11 characters per inch at 11 pt
    lines = textwrap.wrap(text, width=max(40, width_chars))
    lines.append(f"{res.attr_text('experiment_name')} ({os.path.basename(res.path)})")
    fig.suptitle("\n".join(lines), fontsize=11)


# ------------------------------------------------------------------------------------------------
# kinds

def plot_curves(plt, res, df, args):
    """Training loss against step: median over seeds and IQR band per variant, panel per group."""
    groups = list(compare.group_rows(df, ["task", "delay"]))
    check_panels(len(groups), "one per task and delay")
    colors = variant_colors(plt, df, args.by)
    fig, axes = make_panels(plt, len(groups))
    window = max(1, int(df["steps"].max()) // 100)
    for ax, (key, rows) in zip(axes, groups):
        plotted = []
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[rows[args.by] == variant]
            runs = mine[rr.has_result(mine)]
            n_failed = len(mine) - len(runs)
            curves = []
            for run_id in runs.id:
                run = res.run(run_id)
                loss = finite(run["train/loss"])
                smooth = pd.Series(loss).rolling(window, min_periods=1).mean().to_numpy()
                smooth[np.isnan(loss)] = np.nan
                curves.append((run["train/step"], smooth))
            n_div = int((runs.status == "diverged").sum())
            label = (f"{compare.format_value(variant)} ({len(curves)} run{'s' * (len(curves) != 1)}"
                     + (f", {n_div} diverged" if n_div else "")
                     + (f", {n_failed} failed" if n_failed else "") + ")")
            if not curves:  # every run failed: a legend entry says so, there is no line
                ax.plot([], [], color=colors[variant], lw=1.6, label=label)
                continue
            steps, matrix = step_aligned(curves)
            q1, med, q3 = quiet_percentiles(matrix, (25, 50, 75))
            short = np.isfinite(med).sum() <= 3  # a run that diverged at once: show its points
            ax.plot(steps, med, color=colors[variant], lw=1.6, label=label,
                    marker="o" if short else None)
            ax.fill_between(steps, q1, q3, color=colors[variant], alpha=0.2, lw=0)
            plotted += [med, q1, q3]
        baseline = task_baseline(rows)
        if np.isfinite(baseline):
            ax.axhline(baseline, color="0.3", ls="--", lw=1, label="baseline (trivial loss)")
            plotted.append([baseline])
        if spans_decade(*plotted):
            ax.set_yscale("log")
        ax.set_title(compare.group_title(key))
        ax.set_xlabel("training step")
        loss_kind = rows["loss_kind"].iloc[0] if "loss_kind" in rows else "loss"
        ax.set_ylabel(f"training loss ({loss_kind})"
                      + (f", mean of {window} steps" if window > 1 else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    suptitle(fig, "Training loss: median over seeds, band = interquartile range", res)
    return fig


def plot_delay(plt, res, df, args):
    """Metric over baseline (or steps to solve) against the delay, a line per variant."""
    tasks = compare.ordered_unique(df.task)
    check_panels(len(tasks), "one per task")
    colors = variant_colors(plt, df, args.by)
    markers = {v: "osD^vP*Xph"[i % 10] for i, v in enumerate(colors)}
    fig, axes = make_panels(plt, len(tasks))
    steps_metric = args.metric == "steps_to_solve"
    from matplotlib.ticker import NullFormatter
    for ax, task in zip(axes, tasks):
        rows = df[df.task == task]
        if steps_metric:
            values = compare.metric_values(rows, args.metric)
        elif args.metric == "best_eval":
            values = rows["best_eval_loss"] / rows["baseline"]
        else:
            values = rows["loss_over_baseline"].astype(float)
        values = values.where(rr.has_result(rows))  # a failed run's numbers are no data
        plotted = []
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[args.by] == variant
            delays = np.sort(rows.loc[mine, "delay"].unique())
            stats = [quiet_percentiles(values[mine & (rows.delay == d)].to_numpy(dtype=float),
                                       (25, 50, 75)) for d in delays]
            q1, med, q3 = (np.array([s[j] for s in stats]) for j in range(3))
            ax.plot(delays, med, "-", marker=markers[variant], color=colors[variant], lw=1.6,
                    ms=5, label=compare.format_value(variant))
            ax.fill_between(delays, q1, q3, color=colors[variant], alpha=0.15, lw=0)
            plotted += [med, q1, q3]
        if steps_metric:
            budgets = rows["steps"].unique()
            if len(budgets) == 1:
                ax.axhline(budgets[0], color="0.3", ls=":", lw=1,
                           label="step budget (unsolved runs count here)")
            ax.set_ylabel("steps to solve (median, IQR band)")
        else:
            if not np.isfinite(values).any():
                ax.text(0.5, 0.5, "task has no trivial baseline", transform=ax.transAxes,
                        ha="center")
            ax.axhline(1.0, color="0.3", ls="--", lw=1, label="baseline (= 1)")
            plotted.append([1.0])
            what = "best" if args.metric == "best_eval" else "final"
            ax.set_ylabel(f"{what} held-out loss / baseline\n(median, IQR band)")
        all_delays = rows.delay.to_numpy(dtype=float)
        if all_delays.min() > 0 and all_delays.max() / all_delays.min() >= 10:
            ax.set_xscale("log")
        distinct = np.unique(all_delays)
        if len(distinct) <= 12:  # label every delay of the grid, in plain numbers
            ax.set_xticks(distinct)
            ax.set_xticklabels([compare.format_value(d) for d in distinct])
            ax.xaxis.set_minor_formatter(NullFormatter())
        if spans_decade(*plotted):
            ax.set_yscale("log")
        ax.set_title(f"{task}: {METRIC_LABELS[args.metric]} against delay")
        ax.set_xlabel("delay T")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    what = "steps to solve" if steps_metric else "loss relative to the trivial baseline"
    suptitle(fig, f"How {what} grows with the delay (median over seeds)", res)
    return fig


def panel_groups(df, args):
    """Return [(title, rows)]: one run (--run) or one (task, delay, variant) group per panel."""
    if args.run:
        row = df.iloc[0]
        return [(f"{row.task}, delay {row.delay}: {row[args.by]}\nrun {row.id}, "
                 f"seed index {row.seed_index}", df)]
    panels = []
    df = df[rr.has_result(df)]  # a failed run's curves are not data
    for key, rows in compare.group_rows(df, ["task", "delay", args.by]):
        n = len(rows)
        panels.append((f"{key['task']}, delay {key['delay']}: "
                       f"{compare.format_value(key[args.by])}\nmedian of {n} run{'s' * (n > 1)}",
                       rows))
    return panels


def eval_median(res, rows, name):
    """Return (eval steps, median over runs of the 2-D dataset `name`, columns, n runs), aligned
    on the evaluation step, or None if no run of `rows` has the dataset."""
    arrays, columns = [], None
    for run_id in rows.id:
        run = res.run(run_id)
        if not run.has(name):
            continue
        data = finite(run[name])
        if data.ndim == 1:
            data = data[:, None]
        arrays.append((run["eval/step"], data))
        columns = columns or run.columns(name)
    if not arrays:
        return None
    widths = {a.shape[1] for _, a in arrays}
    if len(widths) != 1:
        raise res.error(f"runs of one panel have {name} of different widths {sorted(widths)}")
    steps = np.unique(np.concatenate([s for s, _ in arrays]))
    stack = np.full((len(arrays), len(steps), widths.pop()), np.nan)
    for i, (s, a) in enumerate(arrays):
        stack[i, np.searchsorted(steps, s)] = a
    return steps, stack, columns, len(arrays)


def edges(centres):
    """Return the cell edges around sorted centres (for pcolormesh)."""
    c = np.asarray(centres, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def row_ticks(steps, max_ticks=7):
    """Return the row indices to label on a heat map whose rows are evaluation steps: rows at
    round step numbers when there are enough of them, else evenly spaced rows."""
    from matplotlib.ticker import MaxNLocator
    nice = MaxNLocator(nbins=max_ticks - 1, integer=True).tick_values(steps[0], steps[-1])
    rows = np.flatnonzero(np.isin(steps, nice))
    if len(rows) >= 3:
        return rows
    return np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_ticks)).round()
                     .astype(int))


def plot_gradflow(plt, res, df, args):
    """Heat map of the gradient flow ||dL/dh_t|| (or c_t) over t and evaluation step."""
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import MaxNLocator
    name = f"eval/grad_flow_{args.state}"
    panels = []
    for title, rows in panel_groups(df, args):
        found = eval_median(res, rows, name)
        if found is not None:
            steps, stack, _, _ = found
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                panels.append((title, steps, np.nanmedian(stack, axis=0)))
    if not panels:
        raise PlotError(f"no run in the selection records {name}"
                        + (" (only the LSTM family has a cell state c)" if args.state == "c"
                           else ""))
    check_panels(len(panels), "one per task, delay and variant; use --run or --where")
    positive = np.concatenate([p[2][np.isfinite(p[2]) & (p[2] > 0)] for p in panels])
    if positive.size == 0:
        raise PlotError(f"{name} is zero everywhere in the selection: nothing to draw on a log "
                        f"scale")
    vmax = positive.max()
    vmin = max(positive.min(), vmax * 1e-12)  # keep twelve decades: smaller values are clipped
    norm = LogNorm(vmin=vmin, vmax=vmax, clip=True)
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("0.85")
    fig, axes = make_panels(plt, len(panels))
    mesh = None
    for ax, (title, steps, flow) in zip(axes, panels):
        t = np.arange(1, flow.shape[1] + 1)
        rows = np.arange(len(steps))
        shown = np.ma.masked_where(~(np.isfinite(flow) & (flow > 0)), flow)
        mesh = ax.pcolormesh(edges(t), edges(rows), shown, norm=norm, cmap=cmap,
                             shading="flat")
        ticks = row_ticks(steps)
        ax.set_yticks(ticks)
        ax.set_yticklabels([str(steps[i]) for i in ticks])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time step t")
        ax.set_ylabel("evaluation at training step")
    symbol = "h" if args.state == "h" else "c"
    clipped = f", below {vmin:.0e} clipped" if positive.min() < vmin else ""
    fig.colorbar(mesh, ax=axes,
                 label=f"mean ‖∂L/∂{symbol}_t‖ over a held-out batch (log{clipped})",
                 shrink=0.9 if len(panels) > 3 else 1.0)
    suptitle(fig, f"Gradient flow to {symbol}_t (grey: exactly 0 or missing)", res)
    return fig


def plot_box(plt, res, df, args):
    """Box plot of the metric per variant and group, Greff-style, dots for every run."""
    groups = list(compare.group_rows(df, ["task", "delay"]))
    check_panels(len(groups), "one per task and delay")
    fig, axes = make_panels(plt, len(groups) + 1)  # the last panel holds the legend
    legend_ax = axes.pop()
    legend_ax.axis("off")
    rng = np.random.default_rng(0)  # jitter of the dots only
    any_significant = False
    for ax, (key, rows) in zip(axes, groups):
        table, _ = compare.summarize_group(rows, args.by, args.metric, args.baseline)
        values = compare.metric_values(rows, args.metric)
        variants = compare.ordered_unique(rows[args.by])
        data = [values[rows[args.by] == v].dropna().to_numpy() for v in variants]
        with np.errstate(invalid="ignore"):  # an infinite loss (a damaged file) is drawn quietly
            box = ax.boxplot(data, patch_artist=True, showmeans=True, widths=0.6,
                             medianprops={"color": "black"},
                             meanprops={"marker": "D", "markerfacecolor": "white",
                                        "markeredgecolor": "black", "markersize": 5})
        for patch, row in zip(box["boxes"], table):
            if row["is_baseline"]:
                patch.set_facecolor("0.55")
            elif not np.isnan(row["p"]) and row["p"] < compare.ALPHA:
                patch.set_facecolor("tab:blue")
                any_significant = True
            else:
                patch.set_facecolor("0.88")
        for i, d in enumerate(data, start=1):
            ax.plot(i + rng.uniform(-0.12, 0.12, len(d)), d, "o", color="tab:red", ms=4,
                    alpha=0.7, mec="none")
        labels = [compare.format_value(v) for v in variants]
        ax.set_xticks(range(1, len(variants) + 1))
        ax.set_xticklabels(labels, rotation=30 if len(labels) > 4 else 0,
                           ha="right" if len(labels) > 4 else "center")
        if args.metric == "steps_to_solve":
            budgets = rows["steps"].unique()
            if len(budgets) == 1:
                ax.axhline(budgets[0], color="0.3", ls=":", lw=1)
        else:
            baseline = task_baseline(rows)
            if np.isfinite(baseline):
                ax.axhline(baseline, color="0.3", ls="--", lw=1)
        if spans_decade(*data):
            ax.set_yscale("log")
        ax.set_title(compare.group_title(key))
        ax.set_xlabel(args.by)
        ax.set_ylabel(METRIC_LABELS[args.metric])
        ax.grid(alpha=0.3, axis="y")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], color="black", label="median"),
               Line2D([], [], marker="D", ls="", markerfacecolor="white",
                      markeredgecolor="black", label="mean"),
               Line2D([], [], marker="o", ls="", color="tab:red", ms=4, label="one run"),
               Line2D([], [], color="0.3", ls=":" if args.metric == "steps_to_solve" else "--",
                      label="step budget" if args.metric == "steps_to_solve"
                      else "baseline (trivial loss)")]
    if args.baseline is not None:
        handles += [Patch(facecolor="0.55", label=f"{args.baseline} (t-test reference)"),
                    Patch(facecolor="tab:blue", label="Welch p < 0.05 against it"),
                    Patch(facecolor="0.88", label="not significant")]
    legend_ax.legend(handles=handles, loc="center left", fontsize=9, frameon=False)
    suptitle(fig, f"{METRIC_LABELS[args.metric]} per {args.by}, box = quartiles, "
                  f"whiskers = 1.5 IQR"
                  + ("" if args.baseline is None or any_significant
                     else f" (no variant differs from {args.baseline} at p < 0.05)"), res)
    return fig


def plot_gates(plt, res, df, args):
    """Mean gate activations on the held-out set against the evaluation step."""
    panels, skipped = [], []
    for title, rows in panel_groups(df, args):
        found = eval_median(res, rows, "eval/gate_mean")
        if found is None:
            skipped.append(title.split("\n")[0])
        else:
            panels.append((title, found))
    if not panels:
        raise PlotError("no run in the selection records eval/gate_mean "
                        "(RNN cells have no gates)")
    check_panels(len(panels), "one per task, delay and variant; use --run or --where")
    if skipped:
        print(f"plot.py: note: no gates to draw for {'; '.join(skipped)}", file=sys.stderr)
    fig, axes = make_panels(plt, len(panels), sharey=True)
    for ax, (title, (steps, stack, columns, _)) in zip(axes, panels):
        q1, med, q3 = quiet_percentiles(stack, (25, 50, 75))
        for j, column in enumerate(columns):
            line, = ax.plot(steps, med[:, j], "o-", ms=3, lw=1.5,
                            label=GATE_NAMES.get(column, column))
            ax.fill_between(steps, q1[:, j], q3[:, j], color=line.get_color(), alpha=0.15, lw=0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("evaluation at training step")
        ax.set_ylabel("mean activation (held-out set)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    suptitle(fig, "Mean gate activations (median over runs, band = interquartile range)", res)
    return fig


PLOTTERS = {"curves": plot_curves, "delay": plot_delay, "gradflow": plot_gradflow,
            "box": plot_box, "gates": plot_gates}


# ------------------------------------------------------------------------------------------------
# every plot that applies (for report.sh)

def safe_name(*parts):
    """Return a file-name-safe stem built from parts."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.+]+", "_", compare.format_value(p)) for p in parts)


def plan(res, df, args):
    """Return [(file name, caption, kind, rows, metric)] for every plot that applies to df."""
    items = []
    has_flow = {run_id: res.run(run_id).has("eval/grad_flow_h") for run_id in df.id}
    has_gates = {run_id: res.run(run_id).has("eval/gate_mean") for run_id in df.id}
    for task in compare.ordered_unique(df.task):
        rows = df[df.task == task]
        items.append((f"curves-{safe_name(task)}.png",
                      f"{task}: training loss against step, median over seeds",
                      "curves", rows, args.metric))
        items.append((f"box-{safe_name(task)}.png",
                      f"{task}: {METRIC_LABELS[args.metric]} per {args.by}",
                      "box", rows, args.metric))
    multi_delay = df.groupby("task")["delay"].nunique().max() >= 2
    if multi_delay:
        items.append(("delay.png", "final loss over the baseline against the delay",
                      "delay", df, "final_loss"))
        if (df.solved.astype(int) != 0).any():
            items.append(("delay-steps.png", "steps to solve against the delay "
                          "(unsolved runs count as the step budget)",
                          "delay", df, "steps_to_solve"))
    for key, rows in compare.group_rows(df, ["task", "delay"]):
        stem = safe_name(key["task"], key["delay"])
        title = compare.group_title(key)
        if rows[args.by].nunique() <= MAX_PANELS:
            if rows.id.map(has_flow).any():
                items.append((f"gradflow-{stem}.png", f"{title}: gradient flow ‖∂L/∂h_t‖",
                              "gradflow", rows, args.metric))
            gated = rows[rows.id.map(has_gates)]
            if not gated.empty:
                items.append((f"gates-{stem}.png", f"{title}: mean gate activations",
                              "gates", gated, args.metric))
    return items


def plot_all(plt, res, df, args):
    """Write every plot that applies into the directory args.output; print FILE<TAB>CAPTION.
    A plot with nothing to draw (PlotError) is left out with a note on stderr."""
    os.makedirs(args.output, exist_ok=True)
    for name, caption, kind, rows, metric in plan(res, df, args):
        sub = argparse.Namespace(**vars(args))
        sub.metric = metric
        try:
            fig = PLOTTERS[kind](plt, res, rows, sub)
        except PlotError as exc:
            print(f"plot.py: note: {name} not drawn: {exc}", file=sys.stderr)
            continue
        fig.savefig(os.path.join(args.output, name), dpi=DPI)
        plt.close(fig)
        print(f"{name}\t{caption}")


# ------------------------------------------------------------------------------------------------

def select(df, args):
    """Return the runs chosen by --run or --where (UsageError if none)."""
    if args.run:
        hits = df[df.id.str.startswith(args.run)]
        if len(hits) != 1:
            what = "no run" if hits.empty else f"{len(hits)} runs"
            raise compare.UsageError(f"--run {args.run}: {what} with that id")
        return hits
    conditions = rr.parse_where(args.where)
    selected = rr.apply_where(df, conditions)
    if selected.empty:
        raise compare.UsageError(f"no runs match --where {rr.where_text(conditions)} "
                                 f"(of {len(df)} runs)")
    return selected


def build_parser():
    """Return the command-line parser."""
    parser = compare.OneLineParser(
        prog="plot.py",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: plot.py results/quickstart.h5 curves -o curves.png")
    parser.add_argument("results", help="results file written by `rnnbench run` (.h5)")
    parser.add_argument("kind", metavar="KIND", choices=KINDS,
                        help="curves, delay, gradflow, box, gates, or all (every plot into the "
                             "directory -o)")
    parser.add_argument("-o", "--output", required=True,
                        help="output image (.png; .pdf and .svg work too); an existing directory "
                             "receives KIND.png (e.g. DIR/curves.png); for all, the directory "
                             "that receives every plot (made if missing)")
    parser.add_argument("--where", action="append", metavar="COND",
                        help="keep runs whose summary columns match, e.g. task=copy,delay=100 "
                             "(repeatable)")
    parser.add_argument("--run", metavar="ID", help="one run, by its id (or a unique prefix)")
    parser.add_argument("--metric", choices=compare.METRICS, default="final_loss",
                        help="for delay and box: final_loss (default), best_eval, steps_to_solve")
    parser.add_argument("--by", default="cell",
                        help="summary column whose values are the lines/boxes (default: cell)")
    parser.add_argument("--baseline", help="box: colour variants that differ from this one "
                                           "(Welch's t-test, p < 0.05)")
    parser.add_argument("--state", choices=("h", "c"), default="h",
                        help="gradflow: gradient with respect to h_t (default) or c_t")
    return parser


def output_file(output, kind):
    """Return the image file for -o `output`: KIND.png inside it if it is a directory.
    Raise UsageError if its directory does not exist."""
    if os.path.isdir(output):
        return os.path.join(output, f"{kind}.png")
    if output.endswith(os.sep):
        raise compare.UsageError(f"-o {output}: directory does not exist")
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise compare.UsageError(f"-o {output}: directory {parent} does not exist")
    return output


def main(argv=None):
    """Parse the command line, draw the plot; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.kind != "all":
        try:
            args.output = output_file(args.output, args.kind)
        except compare.UsageError as exc:
            print(f"plot.py: {exc}", file=sys.stderr)
            return 2
    plt = pyplot()
    try:
        with rr.open_results(args.results) as res:
            df = res.summary
            if args.by not in df.columns:
                raise compare.UsageError(f"--by {args.by}: no such summary column")
            selected = select(df, args)
            if args.kind == "all":
                plot_all(plt, res, selected, args)
            else:
                fig = PLOTTERS[args.kind](plt, res, selected, args)
                fig.savefig(args.output, dpi=DPI)
                plt.close(fig)
    except PlotError as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 1
    except (rr.ResultsError, compare.UsageError, rr.WhereError) as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"plot.py: cannot write {args.output}: {rr._one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
