"""What bookkeeping costs a grid per run, as the number of runs grows.

Runs grids of N runs that train almost nothing (one step, hidden 2, sequences of 3), so that a
run's wall time is its results bookkeeping: writing its own file (with fsync) and its share of
the index. Prints, per N, the grid's time per run while runs finish (the consolidation at the end
is timed apart: it is once per grid). Flat per-run figures mean the index costs O(1) per run.

Example:
    /usr/bin/python3 scripts/bench_index.py                 # N = 250 and 10 000
    /usr/bin/python3 scripts/bench_index.py --runs 250 2000 --bin /path/to/other/rnnbench
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GRID = """[experiment]
name = index-{n}
seed = 1

[grid]
task = adding
delay = 2
cell = rnn
hidden = 2
batch = 1
steps = 1
eval_every = 1
eval_size = 1
seeds = {n}
"""


def time_grid(binary, n, folder):
    """Seconds for the runs of an n-run grid and for its final consolidation (from the progress
    lines rnnbench prints every few seconds, and the end)."""
    exp = os.path.join(folder, f"index-{n}.ini")
    with open(exp, "w") as f:
        f.write(GRID.format(n=n))
    out = os.path.join(folder, f"index-{n}.h5")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "run", exp, "-o", out, "-j", "1"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    runs_done_at = None
    for line in p.stderr:
        m = re.search(r"(\d+)/(\d+) runs done", line)
        if m and m.group(1) == m.group(2) and runs_done_at is None:
            runs_done_at = time.monotonic()
    p.wait()
    end = time.monotonic()
    if p.returncode != 0:
        sys.exit(f"bench_index: {binary} exited {p.returncode} on {n} runs")
    if runs_done_at is None:
        runs_done_at = end
    return runs_done_at - t0, end - runs_done_at


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[250, 10000])
    ap.add_argument("--bin", default=os.path.join(ROOT, "bin", "rnnbench"))
    args = ap.parse_args(argv)
    print(f"{'runs':>7} {'ms/run':>8} {'final copy s':>13}   ({args.bin})")
    for n in args.runs:
        with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "build")) as folder:
            runs_s, finish_s = time_grid(args.bin, n, folder)
        print(f"{n:>7} {1000 * runs_s / n:>8.2f} {finish_s:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
