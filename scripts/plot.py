"""Plot rnnbench results: training curves, loss against delay, gradient flow (heat map and line
plot), box plots of a metric per variant, gate activations, fraction solved and accuracy.

KIND is one of:
  curves    training loss against step, one line per variant (--by, default cell): the median over
            seeds with the interquartile range as a band, one panel per (task, delay); a running
            mean over max(1, steps/100) steps smooths the batch noise; runs that stop early
            (stop_when_solved) leave the median when they stop, which the legend counts and the
            title explains (see solved); the dashed line is the task's trivial baseline loss.
            --skip-first N leaves out the first N steps; by default (auto) a panel whose first
            steps' loss is over twice what follows the first 5 % of training (copy's untrained
            loss) ends above the latter, and says so.
  delay     final loss over the task's baseline (or best_eval over it, or steps to solve with
            --metric steps_to_solve) against the delay, one line per variant, one panel per task;
            median over seeds with the interquartile band; dashed line at 1 = the baseline.
  gradflow  heat map of eval/grad_flow_h (or _c with --state c): mean ||dL/dh_t|| over a held-out
            batch, time step t on x, evaluation step on y, log colour scale; one run (--run ID) or
            the median over the runs of each (task, delay, variant) the selection holds. For a
            stack of layers, the top layer's (the flow line plot draws every layer).
  box       box plot of the metric per variant (Greff et al. style), one panel per (task, delay),
            every run drawn as a dot; with --baseline, boxes whose mean differs from the
            baseline's by Welch's t-test (p < 0.05) are blue.
  flow      the gradient-flow line plot: eval/grad_flow_h (or _c) at one evaluation (--at: last,
            the default, first, or a step; repeatable) against the time step t, log scale, a line
            per variant (median over runs), one panel per (task, delay); the task's input segment
            (where what must be remembered is shown) and recall segment (where it is asked for)
            shaded, as docs/tasks.md lays each task out. A stack of layers draws a line per
            layer (the top one solid): where along depth and time the gradient dies.
  gates     eval/gate_mean against the evaluation step, a line per gate, one panel per (task, delay,
            variant) (median over runs) or one run (--run ID).
  solved    fraction of runs solved against the training step (each run counts from its
            steps_to_solve; never solved or diverged: never), a line per variant, one panel per
            (task, delay): what the curves' median cannot show when runs stop once solved.
  accuracy  eval/accuracy (the fraction of the task's items correct) against the evaluation
            step, median over seeds with the interquartile band, a line per variant.
  all       every plot that applies to the file, into the directory -o; prints one line
            "FILE<TAB>CAPTION" per plot (report.sh uses it); a plot with nothing to draw is left
            out with a note on stderr.
-o names the image; if it is an existing directory, the image goes into it as KIND.png.
Colours are fixed by name: a cell (or a gate) has the same colour in every panel and figure.
Legends sit to the right of their panel, never on the data. --logy forces a log y axis;
--where filters (and --run) are written in the title.
Runs that failed (or were cancelled) have no result: they are left out of every plot, and the
curves' legend counts them as it counts diverged runs.
A file that is not a usable results file (missing, damaged, another program's) and bad arguments
(a bad KIND, a --where matching nothing) exit with status 2; a selection with nothing to draw with
status 1; both with a one-line message.

--watch SECONDS redraws the figure whenever the results file changes (a grid still running
updates it as runs finish), looking every SECONDS, until the grid is complete (or Ctrl-C); it
waits for a file that does not exist yet, and each drawing replaces the image whole.

Several results files (or glob patterns, before KIND) are read as one table; files whose builds
differ in precision or GEMM backend are refused unless --allow-mixed.
It does not compute tables (compare.py does).

Examples:
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 curves -o curves.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 delay --metric steps_to_solve -o d.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 gradflow --where delay=50 -o g.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 box --baseline lstm -o box.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 flow --at first --at last -o f.png
    /usr/bin/python3 scripts/plot.py 'results/study-*.h5' solved -o solved.png
    /usr/bin/python3 scripts/plot.py results/quickstart.h5 all -o results/quickstart-report
    /usr/bin/python3 scripts/plot.py results/zoo.h5 curves -o curves.png --watch 10   # while it runs
"""
import argparse
import glob
import os
import re
import sys
import textwrap
import time
import warnings
import zlib

import numpy as np
import pandas as pd

import compare
import rnnbench_results as rr

KINDS = ("curves", "delay", "gradflow", "flow", "box", "gates", "solved", "accuracy", "all")
MAX_PANELS = 24
# curves, --skip-first auto: an early spike this many times above what follows the first
# EARLY_FRACTION of training is cut off the panel (said in its x label)
SPIKE_RATIO = 2.0
EARLY_FRACTION = 0.05
PANEL_SIZE = (5.0, 3.8)  # inches per panel; at DPI below, readable without zooming
SINGLE_PANEL_SIZE = (7.5, 4.8)
LEGEND_WIDTH = 2.6  # inches beside a panel for its legend (legends never sit on the data)
DPI = 110
# one colour per cell name and per gate name, the same in every panel and every figure (keyed by
# name, never by position); a name not listed gets a colour from its CRC-32, stable across runs
CELL_COLORS = {"lstm": "#1f77b4", "lstm-peep": "#2ca02c", "gru": "#ff7f0e", "rnn": "#7f7f7f",
               "lstm-nfg": "#d62728", "lstm-nig": "#9467bd", "lstm-nog": "#e377c2",
               "lstm-niaf": "#17becf", "lstm-noaf": "#bcbd22", "lstm-cifg": "#8c564b",
               "lstm-fgr": "#393b79", "lstm-1997": "#843c39", "gru-ra": "#e7969c",
               "irnn": "#252525", "indrnn": "#a55194", "janet": "#637939", "mgu": "#fdae6b",
               "mut1": "#8c6d31", "mut2": "#e6550d", "mut3": "#ad494a", "cwrnn": "#9e9ac8",
               # lstm+nfg is lstm-1997's canonical name; a stack a darker shade of its cell
               "lstm+nfg": "#843c39", "lstm*2": "#08306b", "dglstm*2": "#00a087",
               "dglstm*3": "#005a4b", "lstm*3": "#4a1486"}
GATE_COLORS = {"i": "#1f77b4", "f": "#2ca02c", "z": "#ff7f0e", "o": "#d62728", "r": "#9467bd",
               "u": "#8c564b", "n": "#e377c2"}
FALLBACK_COLORS = ("#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
                   "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#a55194", "#ad494a")
SEGMENT_COLORS = {"input": "#4c72b0", "recall": "#dd8452"}
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


def make_panels(plt, n, sharey=False, legend=False):
    """Return (figure, list of n axes) in a grid of at most 3 columns; legend=True widens each
    column by LEGEND_WIDTH for a legend to the right of its panel."""
    ncols = 2 if n == 4 else min(n, 3)
    nrows = (n + ncols - 1) // ncols
    width, height = PANEL_SIZE if n > 1 else SINGLE_PANEL_SIZE
    width += LEGEND_WIDTH if legend else 0.0
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


def name_color(name, table):
    """Return the colour of a cell or gate name: its entry in `table`, else one picked by the
    CRC-32 of the name (the same name, the same colour, in every figure)."""
    if name in table:
        return table[name]
    return FALLBACK_COLORS[zlib.crc32(str(name).encode()) % len(FALLBACK_COLORS)]


def variant_colors(plt, df, by):
    """Return {variant: colour}: by cell (or any text column), the fixed colour of each name;
    by a numeric column (lr, delay, ...), viridis along the sorted values of the selection."""
    values = compare.ordered_unique(df[by])
    if by == "cell":
        return {v: name_color(v, CELL_COLORS) for v in values}
    if pd.api.types.is_numeric_dtype(df[by].dtype):
        ranks = {v: i for i, v in enumerate(sorted(values, key=lambda v: (np.isnan(v), v)))}
        cmap = plt.get_cmap("viridis")
        return {v: cmap(0.9 * ranks[v] / max(1, len(values) - 1)) for v in values}
    return {v: name_color(v, {}) for v in values}


def legend_outside(ax, **options):
    """Put the legend of `ax` to the right of its data area, never on the data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize=8, **options)


def apply_logy(ax, args, *plotted):
    """Log y axis with --logy, or when the values drawn span a decade or more."""
    if getattr(args, "logy", False) or spans_decade(*plotted):
        ax.set_yscale("log")


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


def selection_text(args):
    """Return the selection the figure shows, for its title: --where filters and --run, or ""."""
    parts = []
    conditions = rr.parse_where(getattr(args, "where", None))
    if conditions:
        parts.append(f"where {rr.where_text(conditions)}")
    if getattr(args, "run", None):
        parts.append(f"run {args.run}")
    return "; ".join(parts)


def suptitle(fig, text, res, args=None):
    """Title a figure with `text`, the experiment it comes from and the --where selection."""
    width_chars = int(fig.get_figwidth() * 11)  # about 11 characters per inch at 11 pt
    lines = textwrap.wrap(text, width=max(40, width_chars))
    source = f"{res.attr_text('experiment_name')} ({source_names(res)})"
    chosen = selection_text(args) if args is not None else ""
    lines.append(source + (f"; {chosen}" if chosen else ""))
    fig.suptitle("\n".join(lines), fontsize=11)


def source_names(res):
    """Return the base names of the file(s) a figure reads, comma-separated."""
    paths = getattr(res, "paths", None) or [res.path]
    return ", ".join(os.path.basename(p) for p in paths)


# ------------------------------------------------------------------------------------------------
# kinds

def spike_top(steps, curves, budget):
    """Return the y limit that leaves out an early spike, or None: with --skip-first auto, when
    the highest value drawn is over SPIKE_RATIO times the highest after the first EARLY_FRACTION
    of the budget (copy: the untrained loss, about ln 9, against a settled loss of 0.1 to 1),
    the panel ends a little above the latter."""
    late = np.asarray(steps) > EARLY_FRACTION * budget
    tops = [np.nanmax(c) for c in curves if np.isfinite(c).any()]
    late_tops = [np.nanmax(c[late]) for c in curves if np.isfinite(c[late]).any()]
    if not tops or not late_tops:
        return None
    top, late_top = max(tops), max(late_tops)
    return late_top if late_top > 0 and top > SPIKE_RATIO * late_top else None


def args_skip(args):
    """--skip-first of a namespace (auto for one made before the option existed)."""
    return getattr(args, "skip_first", "auto")


def plot_curves(plt, res, df, args):
    """Training loss against step: median over seeds and IQR band per variant, panel per group."""
    groups = list(compare.group_rows(df, ["task", "delay"]))
    check_panels(len(groups), "one per task and delay")
    colors = variant_colors(plt, df, args.by)
    fig, axes = make_panels(plt, len(groups), legend=True)
    window = max(1, int(df["steps"].max()) // 100)
    any_stopped, any_cut = False, False
    skip = 0 if args_skip(args) == "auto" else int(args_skip(args))
    for ax, (key, rows) in zip(axes, groups):
        plotted = []
        drawn = []  # (steps, q3) of each variant, for the spike check
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[rows[args.by] == variant]
            runs = mine[rr.has_result(mine)]
            n_failed = len(mine) - len(runs)
            curves = []
            for run_id in runs.id:
                run = res.run(run_id)
                steps = np.asarray(run["train/step"])
                loss = finite(run["train/loss"])
                keep = steps > skip  # --skip-first N: those steps are not data of the figure
                steps, loss = steps[keep], loss[keep]
                if len(steps) == 0:
                    continue
                smooth = pd.Series(loss).rolling(window, min_periods=1).mean().to_numpy()
                smooth[np.isnan(loss)] = np.nan
                curves.append((steps, smooth))
            n_div = int((runs.status == "diverged").sum())
            stopped = int(((runs.steps_done < runs.steps) & (runs.status == "done")).sum())
            any_stopped |= stopped > 0
            label = (f"{compare.format_value(variant)} ({len(curves)} run{'s' * (len(curves) != 1)}"
                     + (f", {stopped} stopped solved" if stopped else "")
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
            drawn.append((steps, q3))
        baseline = task_baseline(rows)
        if np.isfinite(baseline):
            ax.axhline(baseline, color="0.3", ls="--", lw=1, label="baseline (trivial loss)")
            plotted.append([baseline])
        apply_logy(ax, args, *plotted)
        cut = None
        if args_skip(args) == "auto" and drawn:
            cut = max((spike_top(s, [c], int(rows["steps"].max())) or 0) for s, c in drawn)
            cut = max(cut, baseline if np.isfinite(baseline) else 0) or None
        xlabel = "training step" + (f" (steps 1-{skip} not shown)" if skip else "")
        if cut:
            any_cut = True
            ax.set_ylim(top=cut * (1.5 if ax.get_yscale() == "log" else 1.15))
            xlabel += "\n(the first steps' untrained loss runs above the panel)"
        ax.set_title(compare.group_title(key))
        ax.set_xlabel(xlabel)
        loss_kind = rows["loss_kind"].iloc[0] if "loss_kind" in rows else "loss"
        ax.set_ylabel(f"training loss ({loss_kind})"
                      + (f", mean of {window} steps" if window > 1 else ""))
        ax.grid(alpha=0.3)
        legend_outside(ax)
    title = "Training loss: median over seeds, band = interquartile range"
    if any_stopped:
        title += ("; a run that stopped once solved (stop_when_solved) leaves the median at its "
                  "last step, so the line can jump: `plot.py solved` shows the fraction solved")
    if any_cut:
        title += "; the y axis leaves out the untrained loss of the first steps (--skip-first 0 "
        title += "draws it)"
    suptitle(fig, title, res, args)
    return fig


def plot_solved(plt, res, df, args):
    """Fraction of runs solved against training updates (a survival curve turned up), a line per
    variant, a panel per (task, delay); a run that never solved (or diverged) stays unsolved."""
    groups = list(compare.group_rows(df, ["task", "delay"]))
    check_panels(len(groups), "one per task and delay")
    colors = variant_colors(plt, df, args.by)
    fig, axes = make_panels(plt, len(groups), legend=True)
    for ax, (key, rows) in zip(axes, groups):
        budget = int(rows["steps"].max())
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[(rows[args.by] == variant) & rr.has_result(rows)]
            if mine.empty:
                continue
            solved = mine[(mine.solved.astype(int) != 0) & (mine.steps_to_solve >= 0)]
            times = np.sort(solved.steps_to_solve.to_numpy(dtype=float))
            x = np.concatenate([[0.0], times, [budget]])
            y = np.concatenate([[0.0], np.arange(1, len(times) + 1), [len(times)]]) / len(mine)
            ax.step(x, y, where="post", color=colors[variant], lw=1.8,
                    label=f"{compare.format_value(variant)} ({len(times)}/{len(mine)} solved)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(0, budget)
        ax.set_title(compare.group_title(key))
        ax.set_xlabel("training step (update)")
        ax.set_ylabel("fraction of runs solved")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    suptitle(fig, "Fraction of runs solved by each training step (a run counts from the first "
                  "evaluation at which the task's criterion held; failed runs are left out)",
             res, args)
    return fig


def plot_accuracy(plt, res, df, args):
    """Held-out accuracy against the evaluation step: median over seeds and IQR band per variant,
    one panel per (task, delay); for the tasks that record eval/accuracy."""
    groups = list(compare.group_rows(df[rr.has_result(df)], ["task", "delay"]))
    check_panels(len(groups), "one per task and delay")
    colors = variant_colors(plt, df, args.by)
    panels = []
    for key, rows in groups:
        lines = []
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[rows[args.by] == variant]
            found = eval_median(res, mine, "eval/accuracy")
            if found is not None:
                lines.append((variant, found))
        if lines:
            panels.append((key, lines))
    if not panels:
        raise PlotError("no run in the selection records eval/accuracy")
    fig, axes = make_panels(plt, len(panels), legend=True)
    for ax, (key, lines) in zip(axes, panels):
        for variant, (steps, stack, _, n) in lines:
            q1, med, q3 = quiet_percentiles(stack[:, :, 0], (25, 50, 75))
            ax.plot(steps, med, "o-", ms=3, color=colors[variant], lw=1.6,
                    label=f"{compare.format_value(variant)} ({n} run{'s' * (n != 1)})")
            ax.fill_between(steps, q1, q3, color=colors[variant], alpha=0.2, lw=0)
        if getattr(args, "logy", False):
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.03, 1.03)
        ax.set_title(compare.group_title(key))
        ax.set_xlabel("evaluation at training step")
        ax.set_ylabel("held-out accuracy (fraction of items correct)")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    suptitle(fig, "Held-out accuracy: median over seeds, band = interquartile range "
                  "(an item is what docs/tasks.md counts: a recalled symbol, a sequence)",
             res, args)
    return fig


def plot_delay(plt, res, df, args):
    """Metric over baseline (or steps to solve) against the delay, a line per variant."""
    tasks = compare.ordered_unique(df.task)
    check_panels(len(tasks), "one per task")
    colors = variant_colors(plt, df, args.by)
    markers = {v: "osD^vP*Xph"[i % 10] for i, v in enumerate(colors)}
    fig, axes = make_panels(plt, len(tasks), legend=True)
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
        apply_logy(ax, args, *plotted)
        ax.set_title(f"{task}: {METRIC_LABELS[args.metric]} against delay")
        ax.set_xlabel("delay T")
        ax.grid(alpha=0.3, which="both")
        legend_outside(ax)
    what = "steps to solve" if steps_metric else "loss relative to the trivial baseline"
    suptitle(fig, f"How {what} grows with the delay (median over seeds)", res, args)
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
        elif data.ndim == 3:  # a stack's flow: the top layer's, the one the readout reads
            data = data[:, -1, :]
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
    stacked = any(res.run(run_id).has(name) and res.run(run_id)[name].ndim == 3 for run_id in df.id)
    depth = "; of a stack, the top layer's (plot flow draws every layer)" if stacked else ""
    suptitle(fig, f"Gradient flow to {symbol}_t (grey: exactly 0 or missing){depth}", res, args)
    return fig


def temporal_order_windows(delay, form):
    """Return the relevant windows of temporal-order as 0-based [lo, hi) spans: the paper's
    1-based windows at length 100 scaled by delay/100, each pushed right past the one before
    and past position 1, which holds E (harness/tasks/temporal_order.c)."""
    paper = [(10, 20), (50, 60)] if form == 0 else [(10, 20), (33, 43), (66, 76)]
    spans, prev_hi = [], 1
    for lo, hi in paper:
        lo, hi = lo * delay // 100, hi * delay // 100
        lo = lo if lo > prev_hi else prev_hi + 1
        hi = hi if hi > lo else lo
        prev_hi = hi
        spans.append((lo - 1, hi))
    return spans


def task_segments(attrs, length):
    """Return ([input spans], [recall spans]) of a task's sequence as 0-based [lo, hi) time steps,
    from docs/tasks.md: where the information to remember can be shown, and where it is asked
    for. `attrs` are a run's attributes; `length` is the recorded sequence's length (the
    variable-length tasks draw theirs per batch). Empty lists for a task without a layout."""
    task, delay = attrs.get("task"), int(attrs.get("delay", 0))
    form = attrs.get("form", 0)
    last = [(length - 1, length)]
    if task == "adding" and form == 1997:
        return [(0, min(10, delay // 2))], last
    if task in ("adding", "multiplication", "xor"):
        return [(0, length // 2)], last  # the first marked step is uniform in the first half
    if task == "copy":
        symbols = int(attrs.get("n_symbols", 10))
        return [(0, symbols)], [(delay + symbols, delay + 2 * symbols)]
    if task == "recall":
        return [(0, 1)], last
    if task == "temporal-order":
        return temporal_order_windows(delay, int(form)), last
    if task == "reber":
        return [(1, 2)], [(delay + 1, delay + 2)]  # the branch symbol, asked for after inner E
    if task == "timing":
        return [(0, delay)], [(delay, 2 * delay)]
    return [], []


def evaluation_row(steps, at):
    """Return the row of a run's eval/step for --at: "last", "first" (before training) or a step
    number (the last evaluation at or before it; None if the run has none that early)."""
    if at == "last":
        return len(steps) - 1
    if at == "first":
        return 0
    rows = np.flatnonzero(np.asarray(steps) <= int(at))
    return int(rows[-1]) if len(rows) else None


def flow_at(res, rows, name, at):
    """Return the median over `rows`' runs of dataset `name` at evaluation --at `at` as a
    (layers, t) array (one row for a run of one layer; a stack's bottom layer first), and the
    number of runs that have it (None, 0 if none)."""
    vectors = []
    for run_id in rows.id:
        run = res.run(run_id)
        if not run.has(name):
            continue
        k = evaluation_row(run["eval/step"], at)
        if k is not None:
            vectors.append(np.atleast_2d(finite(run[name])[k]))
    if not vectors:
        return None, 0
    layers, width = max(v.shape[0] for v in vectors), max(v.shape[1] for v in vectors)
    stack = np.full((len(vectors), layers, width), np.nan)
    for i, v in enumerate(vectors):
        stack[i, layers - v.shape[0]:, :v.shape[1]] = v  # aligned on the top layer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(stack, axis=0), len(vectors)


def at_label(at):
    return {"last": "last evaluation", "first": "before training (step 0)"}.get(
        at, f"evaluation at step <= {at}")


def plot_flow(plt, res, df, args):
    """||dL/dh_t|| (or c_t) against t on a log scale, a line per variant (median over runs) at
    the chosen evaluations, one panel per (task, delay), the task's input and recall segments
    shaded."""
    name = f"eval/grad_flow_{args.state}"
    symbol = args.state
    evaluations = args.at or ["last"]
    styles = ["-", "--", ":", "-."]
    if len(evaluations) > len(styles):
        raise compare.UsageError(f"--at: at most {len(styles)} evaluations in one figure")
    stacked = False
    colors = variant_colors(plt, df, args.by)
    df = df[rr.has_result(df)]
    panels = []
    for key, rows in compare.group_rows(df, ["task", "delay"]):
        lines = []
        for variant in compare.ordered_unique(rows[args.by]):
            mine = rows[rows[args.by] == variant]
            for at, style in zip(evaluations, styles):
                flow, n = flow_at(res, mine, name, at)
                if flow is not None:
                    lines.append((variant, at, style, flow, n))
                    stacked |= flow.shape[0] > 1
        if lines:
            panels.append((key, rows, lines))
    if not panels:
        raise PlotError(f"no run in the selection records {name}"
                        + (" (only the LSTM family has a cell state c)" if args.state == "c"
                           else ""))
    check_panels(len(panels), "one per task and delay; use --where")
    if stacked and len(evaluations) > 1:
        raise compare.UsageError("--at: one evaluation at a time for stacked runs (the line styles "
                                 "tell their layers apart)")
    fig, axes = make_panels(plt, len(panels), legend=True)
    for ax, (key, rows, lines) in zip(axes, panels):
        length = max(line[3].shape[1] for line in lines)
        inputs, recalls = task_segments(res.run(rows.id.iloc[0]).attrs, length)
        for spans, what, label in ((inputs, "input", "input segment (what must be kept)"),
                                   (recalls, "recall", "recall segment (where it is asked for)")):
            for j, (lo, hi) in enumerate(spans):
                ax.axvspan(lo - 0.5, hi - 0.5, color=SEGMENT_COLORS[what], alpha=0.15, lw=0,
                           label=label if j == 0 else None)
        positive = []
        for variant, at, style, flow, n in lines:
            layers = flow.shape[0]
            for layer in range(layers):
                shown = np.where(flow[layer] > 0, flow[layer], np.nan)  # log: an exact 0 is a gap
                if not np.isfinite(shown).any():
                    continue  # a layer this variant's runs do not have
                positive.append(shown[np.isfinite(shown)])
                label = f"{compare.format_value(variant)} ({n} run{'s' * (n != 1)})"
                if len(evaluations) > 1:
                    label += f", {at_label(at)}"
                if layers > 1:  # the top layer solid, deeper ones dashed, dotted, ...
                    label += f", layer {layer}"
                    style = styles[(layers - 1 - layer) % len(styles)]
                ax.plot(np.arange(flow.shape[1]), shown, ls=style, color=colors[variant], lw=1.6,
                        label=label)
        if np.concatenate(positive).size:
            ax.set_yscale("log")
        ax.set_xlim(-0.5, length - 0.5)
        ax.set_title(compare.group_title(key))
        ax.set_xlabel("time step t (0 = first input)")
        ax.set_ylabel(f"mean ‖∂L/∂{symbol}_t‖ (held-out batch)")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    when = " and ".join(at_label(at) for at in evaluations)
    depth = ("; a stack draws every layer (layer 0 at the bottom, the top one solid)"
             if stacked else "")
    suptitle(fig, f"Gradient flow to {symbol}_t at the {when}: median over runs of the mean "
                  f"‖∂L/∂{symbol}_t‖ over a held-out batch, log scale; the loss reaches back "
                  f"from the recall segment to the input segment only if this stays large{depth}",
             res, args)
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
        apply_logy(ax, args, *data)
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
                     else f" (no variant differs from {args.baseline} at p < 0.05)"), res, args)
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
    fig, axes = make_panels(plt, len(panels), sharey=True, legend=True)
    for ax, (title, (steps, stack, columns, _)) in zip(axes, panels):
        q1, med, q3 = quiet_percentiles(stack, (25, 50, 75))
        for j, column in enumerate(columns):
            color = name_color(column, GATE_COLORS)
            ax.plot(steps, med[:, j], "o-", ms=3, lw=1.5, color=color,
                    label=GATE_NAMES.get(column, column))
            ax.fill_between(steps, q1[:, j], q3[:, j], color=color, alpha=0.15, lw=0)
        if getattr(args, "logy", False):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("evaluation at training step")
        ax.set_ylabel("mean activation (held-out set)")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    suptitle(fig, "Mean gate activations (median over runs, band = interquartile range)", res,
             args)
    return fig


PLOTTERS = {"curves": plot_curves, "delay": plot_delay, "gradflow": plot_gradflow,
            "flow": plot_flow, "box": plot_box, "gates": plot_gates, "solved": plot_solved,
            "accuracy": plot_accuracy}


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
    has_accuracy = {run_id: res.run(run_id).has("eval/accuracy") for run_id in df.id}
    for task in compare.ordered_unique(df.task):
        rows = df[df.task == task]
        items.append((f"curves-{safe_name(task)}.png",
                      f"{task}: training loss against step, median over seeds",
                      "curves", rows, args.metric))
        items.append((f"box-{safe_name(task)}.png",
                      f"{task}: {METRIC_LABELS[args.metric]} per {args.by}",
                      "box", rows, args.metric))
        if (rows.solved.astype(int) != 0).any():
            items.append((f"solved-{safe_name(task)}.png",
                          f"{task}: fraction of runs solved against training steps",
                          "solved", rows, args.metric))
        if rows.id.map(has_flow).any():
            items.append((f"flow-{safe_name(task)}.png",
                          f"{task}: gradient flow ‖∂L/∂h_t‖ against t at the last evaluation",
                          "flow", rows, args.metric))
        if rows.id.map(has_accuracy).any():
            items.append((f"accuracy-{safe_name(task)}.png",
                          f"{task}: held-out accuracy against training steps",
                          "accuracy", rows, args.metric))
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
    """Return the runs chosen by --run or --where (UsageError if none); a stack's cell reads
    NAME*L (rnnbench_results.label_stacks)."""
    df = rr.label_stacks(df)
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
    parser.add_argument("results", nargs="+",
                        help="results file(s) written by `rnnbench run` (.h5), or glob patterns "
                             "('results/study-*.h5'): several are read as one table")
    parser.add_argument("kind", metavar="KIND", choices=KINDS,
                        help="curves, delay, gradflow, flow, box, gates, solved, accuracy, or all "
                             "(every plot into the directory -o)")
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
    parser.add_argument("--allow-mixed", action="store_true",
                        help="read files whose builds differ in precision or GEMM backend as one "
                             "table (refused by default)")
    parser.add_argument("--state", choices=("h", "c"), default="h",
                        help="gradflow, flow: gradient with respect to h_t (default) or c_t")
    parser.add_argument("--at", action="append", type=evaluation_choice, metavar="EVAL",
                        help="flow: the evaluation drawn, last (default), first (before "
                             "training) or a step (each run's last evaluation at or before it); "
                             "repeatable, up to 4 (line styles)")
    parser.add_argument("--watch", type=float, metavar="SECONDS", default=None,
                        help="redraw whenever the results file changes (looked at every SECONDS) "
                             "until its grid is complete: a run still going can be watched; "
                             "Ctrl-C stops")
    parser.add_argument("--logy", action="store_true",
                        help="log y axis (without it, a panel whose values span a factor of 10 "
                             "or more is log anyway)")
    parser.add_argument("--skip-first", default="auto", type=skip_choice, metavar="N",
                        help="curves: leave out the first N training steps (0: draw every "
                             "step at full height); auto (default) ends the y axis above what "
                             "follows the first 5%% of training when the first steps' loss is "
                             f"over {SPIKE_RATIO:g} times that (copy's untrained loss)")
    return parser


def evaluation_choice(text):
    """--at: last, first or a training step (a non-negative integer)."""
    if text in ("last", "first"):
        return text
    if text.isdigit():
        return str(int(text))
    raise argparse.ArgumentTypeError(f"{text!r} is not last, first or a training step")


def skip_choice(text):
    """--skip-first: auto or a non-negative number of steps."""
    if text == "auto" or text.isdigit():
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not auto or a number of steps")


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


def draw(plt, args, quiet_notes=False):
    """Draw the figure(s) of args once. Returns (exit status, whether the grid is complete,
    runs drawn, whether a later try may succeed: the file being written, or no run of the
    selection finished yet)."""
    complete = False
    try:
        with rr.open_results(args.results, allow_mixed=args.allow_mixed) as res:
            complete = res.complete
            if not quiet_notes:
                for note in getattr(res, "notes", []):
                    print(f"plot.py: note: {note}", file=sys.stderr)
            df = res.summary
            if args.by not in df.columns:
                raise compare.UsageError(f"--by {args.by}: no such summary column")
            selected = select(df, args)
            if args.kind == "all":
                plot_all(plt, res, selected, args)
            else:
                fig = PLOTTERS[args.kind](plt, res, selected, args)
                # beside it first, then renamed over it: a viewer never sees half a PNG
                tmp = f"{args.output}.tmp.{os.getpid()}.png"
                try:
                    fig.savefig(tmp, dpi=DPI)
                    os.replace(tmp, args.output)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
                plt.close(fig)
            return 0, complete, len(selected), False
    except PlotError as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 1, complete, 0, not complete
    except rr.ResultsError as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 2, complete, 0, not complete
    except (compare.UsageError, rr.WhereError) as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 2, complete, 0, False
    except OSError as exc:
        print(f"plot.py: cannot write {args.output}: {rr._one_line(exc)}", file=sys.stderr)
        return 1, complete, 0, False


def results_stamp(patterns):
    """What changes when a results file is rewritten: (path, mtime, size) of every file the
    patterns name, or None while none exists yet."""
    paths = sorted({p for pattern in patterns for p in (glob.glob(pattern) or [pattern])})
    stamp = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        stamp.append((path, st.st_mtime_ns, st.st_size))
    return tuple(stamp) or None


def watch(plt, args):
    """Redraw whenever the results change, until the grid is complete (or Ctrl-C). A file that
    does not exist yet, or holds no finished run of the selection yet, is waited for; a bad
    option ends the watch at once."""
    last, tried, waiting = None, False, False
    try:
        while True:
            stamp = results_stamp(args.results)
            if stamp is None and not waiting:
                print(f"plot.py: waiting for {' '.join(args.results)} to appear (Ctrl-C stops)",
                      file=sys.stderr, flush=True)
                waiting = True
            if stamp is not None and stamp != last:
                last = stamp
                status, complete, n, retry = draw(plt, args, quiet_notes=tried)
                tried = True
                if status == 0:
                    print(f"plot.py: drew {args.output} at {time.strftime('%H:%M:%S')} from {n} runs"
                          + (", the grid is complete" if complete else ""), flush=True)
                if complete or (status != 0 and not retry):
                    return status
            time.sleep(args.watch)
    except KeyboardInterrupt:
        print("plot.py: stopped watching", file=sys.stderr)
        return 0


def main(argv=None):
    """Parse the command line, draw the plot (or watch the file); return the exit status."""
    args = build_parser().parse_args(argv)
    if args.kind != "all":
        try:
            args.output = output_file(args.output, args.kind)
        except compare.UsageError as exc:
            print(f"plot.py: {exc}", file=sys.stderr)
            return 2
    plt = pyplot()
    if args.watch is not None:
        if not args.watch > 0:
            print(f"plot.py: --watch: expected seconds > 0, got {args.watch}", file=sys.stderr)
            return 2
        return watch(plt, args)
    return draw(plt, args)[0]


if __name__ == "__main__":
    sys.exit(main())
