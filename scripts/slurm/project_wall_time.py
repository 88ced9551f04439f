#!/usr/bin/python3
"""Project a grid's wall time on P cores from its plan and a measured speed.

`rnnbench run EXP.ini --plan` gives every run's estimated cost (multiply-adds at its step cap);
a measured speed in seconds per Gmadd turns each into seconds, and the runs are placed as the MPI
scheduler places them: longest first, each on the core that frees first. The makespan of that
schedule is the projected wall time (a bound when every run is taken to its cap: early stopping
ends runs sooner). Writer-side figures follow from the same schedule: runs per second and, given
the bytes a run's records take per training step, the bytes per second rank 0 receives.

Example (the JSB --full grid, with the speed the default study measured):
    bin/rnnbench run experiments/greff-jsb.ini --set trials=200 --set max_epochs=100 \\
        --set steps=22900 --set patience=10 --plan > /tmp/full.plan
    /usr/bin/python3 scripts/slurm/project_wall_time.py /tmp/full.plan --seconds-per-gmadd 0.3985 \\
        --cores 64 1000 --bytes-per-step 36.6
"""
import argparse
import heapq
import re
import sys


def read_plan(path):
    """The (id, cost in Gmadd, steps cap unknown) of every run of a `--plan` listing."""
    costs = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if line.startswith("order") or re.match(r"\d+ runs, ", line):
                continue
            fields = line.split()
            if len(fields) < 7:
                sys.exit(f"{path}:{line_no}: not a line of `rnnbench run --plan`: {line.strip()!r}")
            try:
                costs.append(float(fields[-1]))
            except ValueError:
                sys.exit(f"{path}:{line_no}: cost {fields[-1]!r} is not a number")
    if not costs:
        sys.exit(f"{path}: no runs (expected the output of `rnnbench run EXP.ini --plan`)")
    return costs


def makespan(seconds, cores):
    """Longest first, each run on the core that frees first; returns the time the last run ends."""
    free = [0.0] * cores
    for s in sorted(seconds, reverse=True):
        t = heapq.heappop(free)
        heapq.heappush(free, t + s)
    return max(free)


def hms(s):
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min" if s >= 3600 else f"{s / 60:.1f} min"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plan", help="output of `rnnbench run EXP.ini --plan`")
    ap.add_argument("--seconds-per-gmadd", type=float, required=True,
                    help="measured seconds of one run per Gmadd of its plan cost")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="share of its cap a run uses (1: every run to its cap, the bound)")
    ap.add_argument("--cores", type=int, nargs="+", default=[64, 1000])
    ap.add_argument("--bytes-per-step", type=float, default=0,
                    help="bytes of a run's records per training step (its part file / steps_done)")
    ap.add_argument("--steps", type=float, default=0, help="a run's step cap, for the message sizes")
    args = ap.parse_args()
    if args.seconds_per_gmadd <= 0 or not 0 < args.fraction <= 1 or min(args.cores) < 1:
        sys.exit("project_wall_time: --seconds-per-gmadd > 0, 0 < --fraction <= 1 and --cores >= 1 expected")
    costs = read_plan(args.plan)
    seconds = [c * args.seconds_per_gmadd * args.fraction for c in costs]
    total = sum(seconds)
    print(f"{len(costs)} runs, {total / 3600:.1f} core-hours; the longest run {hms(max(seconds))}, "
          f"the mean {sum(seconds) / len(seconds):.1f} s")
    for p in args.cores:
        span = makespan(seconds, p)
        line = (f"{p:5d} cores: {hms(span)} (the work alone: {hms(total / p)}; "
                f"{len(costs) / span:.3g} runs/s on average, {p / (total / len(costs)):.3g} runs/s while every core is busy")
        if args.bytes_per_step and args.steps:
            rate = p / (total / len(costs))
            size = args.bytes_per_step * args.steps * args.fraction
            line += f"; messages up to {size / 1e3:.0f} kB, {rate * size / 1e6:.1f} MB/s to rank 0"
        print(line + ")")


if __name__ == "__main__":
    main()
