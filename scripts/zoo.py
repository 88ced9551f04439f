#!/usr/bin/python3
"""The zoo: every cell of `rnnbench list cells` on adding and copy at three delays each, at an equal
parameter budget, and its report.

Runs experiments/zoo.ini with `bin/rnnbench run` (resuming a file it already started), then writes
into the report folder (default results/zoo-report/):
- zoo.md: the comparison table: per cell and (task, delay), runs solved of those run, the median
  final loss over the task's baseline and the median step at which the solved runs were solved;
  cells ranked by runs solved in all, then by the mean log loss ratio; each cell's parameter count
  and hidden size; the wall time and the machine's load while it ran;
- zoo-delay-lstm.png, zoo-delay-others.png: loss over baseline against the delay, a line per
  cell, a panel per task: Greff's LSTM family with the stacks, and the other cells beside V;
- zoo-flow.png: the gradient flow ‖∂L/∂h_t‖ against t at the longest adding delay, for a 2-layer
  lstm (every layer), a 2-layer dglstm (every layer) and an rnn: where along depth and time the
  gradient dies.
The table is printed too. `--tiny` runs the same file with a handful of steps, one seed and
delay 5 (`--set`), for the tests: its numbers mean nothing.

Example:
    /usr/bin/python3 scripts/zoo.py -j 2
    /usr/bin/python3 scripts/zoo.py --tiny -o /tmp/zoo-tiny.h5 --report /tmp/zoo-tiny
"""
import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_guard  # noqa: E402
import rnnbench_results as rr  # noqa: E402

TINY_SETTINGS = ("steps=20", "eval_every=10", "eval_size=32", "seeds=1", "delay=5")
FLOW_CELLS = ("lstm*2", "dglstm*2", "rnn")



def run_grid(args):
    """Run (or resume) the experiment; return (wall seconds, [load samples])."""
    cmd = [os.path.join(ROOT, "bin", "rnnbench"), "run", args.experiment, "-o", args.out,
           "-j", str(args.jobs), "--quiet"]
    if args.tiny:
        for setting in TINY_SETTINGS:
            cmd += ["--set", setting]
    start = time.monotonic()
    loads = [bench_guard.read_loadavg_or_nan()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    while proc.poll() is None:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            loads.append(bench_guard.read_loadavg_or_nan())
    loads.append(bench_guard.read_loadavg_or_nan())
    if proc.returncode != 0:
        sys.exit(f"zoo: `{' '.join(cmd)}` exited {proc.returncode}")
    return time.monotonic() - start, loads


def points(df):
    """The (task, delay) columns of the table, in file order, delays ascending."""
    out = []
    for task in pd_unique(df.task):
        out += [(task, int(d)) for d in sorted(df[df.task == task].delay.unique())]
    return out


def pd_unique(series):
    return list(dict.fromkeys(series))


def cell_rows(df, cols):
    """[(cell, stats)] with stats per (task, delay): (solved, runs, median loss/baseline, median
    steps to solve of the solved), plus the cell's totals, ranked."""
    rows = []
    for cell in pd_unique(df.cell):
        mine = df[df.cell == cell]
        stats, solved, runs, logs = {}, 0, 0, []
        for task, delay in cols:
            at = mine[(mine.task == task) & (mine.delay == delay)]
            if at.empty:
                continue
            ok = at[at.solved == 1]
            ratio = float(np.nanmedian(at.loss_over_baseline)) if at.loss_over_baseline.notna().any() \
                else float("nan")
            to_solve = float(np.median(ok.steps_to_solve)) if len(ok) else float("nan")
            stats[(task, delay)] = (len(ok), len(at), ratio, to_solve, int((at.status == "diverged").sum()))
            solved, runs = solved + len(ok), runs + len(at)
            if ratio > 0 and math.isfinite(ratio):
                logs.append(math.log10(ratio))
        # per task, in the table's task order (one value when every point shares it)
        tasks = pd_unique(t for t, _ in cols)
        hidden = pd_unique(int(mine[mine.task == t].hidden.iloc[0]) for t in tasks
                           if (mine.task == t).any())
        n_params = pd_unique(int(mine[mine.task == t].n_params.iloc[0]) for t in tasks
                             if (mine.task == t).any())
        rows.append((cell, stats, solved, runs, np.mean(logs) if logs else float("inf"),
                     hidden, n_params))
    rows.sort(key=lambda r: (-r[2] / max(r[3], 1), r[4]))
    return rows


def fmt_point(s):
    solved, runs, ratio, to_solve, diverged = s
    step = f" @{to_solve:.0f}" if math.isfinite(to_solve) else ""
    div = f" ({diverged} div)" if diverged else ""
    return f"{solved}/{runs} {ratio:.3g}{step}{div}"


def table_markdown(df):
    cols = points(df)
    head = "| cell | hidden | params | " + " | ".join(f"{t} {d}" for t, d in cols) + " | solved |"
    lines = [head, "|" + "---|" * (len(cols) + 4)]
    for cell, stats, solved, runs, _, hidden, n_params in cell_rows(df, cols):
        cells = [fmt_point(stats[c]) if c in stats else "" for c in cols]
        lines.append(f"| {cell} | {','.join(map(str, hidden))} | {','.join(map(str, n_params))} | "
                     + " | ".join(cells) + f" | {solved}/{runs} |")
    return "\n".join(lines)


def plot(args, kind, out, *extra):
    cmd = [sys.executable, os.path.join(HERE, "plot.py"), args.out, kind, "-o", out, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"zoo: {' '.join(cmd)}: {proc.stderr.strip()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", default=os.path.join(ROOT, "experiments", "zoo.ini"))
    parser.add_argument("-o", "--out", default=os.path.join(ROOT, "results", "zoo.h5"))
    parser.add_argument("--report", default=None, help="report folder (default: next to --out)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="a few steps, one seed: for the tests")
    parser.add_argument("--no-run", action="store_true", help="report on --out as it is")
    args = parser.parse_args(argv)
    report = args.report or os.path.splitext(args.out)[0] + "-report"
    os.makedirs(report, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    wall, loads = (float("nan"), []) if args.no_run else run_grid(args)
    with rr.open_results(args.out) as res:
        df = rr.label_stacks(res.summary)
    df = df[rr.has_result(df)]
    table = table_markdown(df)
    finite = [x for x in loads if math.isfinite(x)]
    timing_file = os.path.join(report, "timing.txt")  # the last run's, for --no-run
    if finite:
        timing = (f"{len(df)} runs in {wall / 60:.1f} min ({wall:.0f} s) wall on -j {args.jobs} "
                  f"(load {min(finite):.1f} to {max(finite):.1f} while it ran)")
        with open(timing_file, "w") as f:
            f.write(timing + "\n")
    elif os.path.exists(timing_file):
        with open(timing_file) as f:
            timing = f.read().strip() + ", as measured when it ran"
    else:
        timing = f"{len(df)} runs (reported from {args.out} as it was)"
    lines = ["# The zoo", "",
             f"`{os.path.relpath(args.experiment, ROOT)}`: {timing}.", "",
             "Per (task, delay): runs solved / runs, median final loss over the task's baseline, "
             "@ median step at which the solved ones were solved, (n div) runs that diverged (their "
             "loss is their last finite one). Ranked by runs solved, then by the mean log loss "
             "ratio. hidden and params: on adding, on copy.", "", table, ""]
    with open(os.path.join(report, "zoo.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))

    # two figures, so that each legend stays readable: Greff's LSTM family (with the stacks), and
    # the other cells beside V and rnn; diverged runs are left out of the medians (the table
    # counts them), or one blown-up run sets the scale
    families = {"zoo-delay-lstm.png": [c for c in pd_unique(df.cell)
                                       if c.startswith(("lstm", "dglstm")) or c == "rnn"],
                "zoo-delay-others.png": [c for c in pd_unique(df.cell)
                                         if not c.startswith(("lstm", "dglstm")) or c == "lstm-peep"]}
    for name, cells in families.items():
        plot(args, "delay", os.path.join(report, name), "--where",
             f"status=done,cell={'|'.join(cells)}")
    longest = int(df[df.task == "adding"].delay.max())
    have = [c for c in FLOW_CELLS if (df.cell == c).any()]
    if have:
        plot(args, "flow", os.path.join(report, "zoo-flow.png"),
             "--where", f"task=adding,delay={longest},cell={'|'.join(have)}")
    print(f"report: {report}/zoo.md, {', '.join(families)}, zoo-flow.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
