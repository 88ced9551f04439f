#!/usr/bin/env python3
"""Time two rnnbench binaries against each other, interleaved: the A/B of a kernel change.

Each round runs `bench --workload W --cell C` of every binary in turn, pinned to one core, the
order rotated each round; the table gives each binary's median over rounds of its per-round
median ms per step, and the median (min-max) of the per-round paired ratios A/B: above 1 means B
is faster. The load is read before and after, as the numbers are only as good as the machine
was quiet; on a shared machine compare the ratio, not the milliseconds.

Example (the binary before a change saved as /tmp/rnnbench-before):
    /usr/bin/python3 scripts/bench_ab.py /tmp/rnnbench-before bin/rnnbench --cells W1:lstm,W1:rnn
    /usr/bin/python3 scripts/bench_ab.py /tmp/rnnbench-before bin/rnnbench --cells W1:eq-lstm-peep \
        --cell-file experiments/graph-cells.ini
"""
import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_compare  # noqa: E402  (pinning, CSV parsing, rotation, paired ratios)
import bench_guard  # noqa: E402  (the load)


def parse_cases(text):
    """'W1:lstm,W2:rnn' -> [('W1', 'lstm'), ('W2', 'rnn')]; exits naming a malformed item."""
    cases = []
    for item in text.split(","):
        wl, sep, cell = item.partition(":")
        if not sep or not wl or not cell:
            sys.exit(f"bench_ab.py: --cells item '{item}' is not WORKLOAD:CELL (e.g. W1:lstm)")
        cases.append((wl, cell))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="the first binary (the baseline)")
    ap.add_argument("b", help="the second binary (the change)")
    ap.add_argument("--cells", default="W1:lstm", help="WORKLOAD:CELL,... (default W1:lstm)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--length", type=int, help="the sequence length T instead of the workload's")
    ap.add_argument("--cell-file", help="an INI file whose [cell NAME] sections define graph cells "
                    "named in --cells (e.g. experiments/graph-cells.ini)")
    args = ap.parse_args()
    for path in (args.a, args.b):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench_ab.py: '{path}' is not an executable file")
    if args.rounds < 1 or args.steps < 1:
        sys.exit(f"bench_ab.py: --rounds {args.rounds} and --steps {args.steps} must be >= 1")
    if args.cell_file and not os.path.isfile(args.cell_file):
        sys.exit(f"bench_ab.py: --cell-file '{args.cell_file}' is not a file")
    extra = ["--cell-file", args.cell_file] if args.cell_file else []  # passed to every bench
    if args.length is not None:
        if args.length < 1:
            sys.exit(f"bench_ab.py: --length {args.length} must be >= 1")
        extra += ["--length", str(args.length)]
    cases = parse_cases(args.cells)
    binaries = [args.a, args.b]
    ms = {(case, k): {} for case in cases for k in range(2)}
    # as make bench runs them: one thread each, and no idle OpenBLAS worker (the oneDNN build links
    # OpenBLAS too) spinning on the pinned core while the first steps are timed
    one = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    load_before = bench_guard.read_loadavg()
    for rnd in range(args.rounds):
        for case in cases:
            for k in bench_compare.rotated([0, 1], rnd):
                cmd = [binaries[k], "bench", "--workload", case[0], "--cell", case[1],
                       "--steps", str(args.steps), "--format", "csv"] + extra
                rows, _ = bench_compare.run_csv(bench_compare.pinned(cmd, args.core), env=one)
                ms[(case, k)][rnd] = rows[0]["ms"]
    load_after = bench_guard.read_loadavg()
    print(f"load (1 min) before {load_before:.2f}, after {load_after:.2f}; {args.rounds} rounds, "
          f"{args.steps} steps, core {args.core}" + (f", T = {args.length}" if args.length else ""))
    print(f"A = {args.a}\nB = {args.b}")
    print(f"{'wl':4} {'cell':12} {'A ms':>9} {'B ms':>9} {'A/B':>6} {'min':>6} {'max':>6}")
    for case in cases:
        a, b = ms[(case, 0)], ms[(case, 1)]
        med, lo, hi, _ = bench_compare.paired_ratio_stats(b, a)
        print(f"{case[0]:4} {case[1]:12} {statistics.median(a.values()):9.3f} "
              f"{statistics.median(b.values()):9.3f} {med:6.2f} {lo:6.2f} {hi:6.2f}")


if __name__ == "__main__":
    main()
