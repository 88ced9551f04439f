"""The null calibration of the reproduction drivers: how often a check decides when nothing is learned.

Runs every driver with --null (lr = 1e-12: no weight moves measurably, so no claim has any signal)
at --tiny size (or the default size with --default) over several experiment seeds, each into its
own directory under --out, and counts the checks that came out HOLDS or FAILS. Prints, per driver
and overall, that rate with the gates (what the drivers report) and without them (what the tests
alone would have said). The issue's requirement: the gated rate <= 5 %.

Example:
    /usr/bin/python3 scripts/repro/null_rate.py --seeds 5 --out /tmp/null
"""
import argparse
import os
import re
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS = ("greff2015", "hochreiter1997", "forget_bias", "copy_task", "peephole_timing",
           "delay_sweep", "greff_continual")
NULL_LINE = re.compile(r"^  null: (\d+)/(\d+) checks non-INCONCLUSIVE \((\d+)/(\d+) without")


def run_null(driver, seed, directory, size, jobs):
    """Run one driver's null; return (decided, decided without gates, checks) from its output."""
    cmd = [sys.executable, os.path.join(_HERE, f"{driver}.py"), "--null", "--seed", str(seed),
           "--out", directory, "-j", str(jobs)] + (["--tiny"] if size == "tiny" else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                           f"{proc.stderr.strip().splitlines()[-1:]}")
    for line in proc.stdout.splitlines():
        match = NULL_LINE.match(line)
        if match:
            decided, total, raw, _ = (int(g) for g in match.groups())
            return decided, raw, total
    raise RuntimeError(f"{driver} --null printed no null line")


def main(argv=None):
    """Run the nulls and print the rates; exit 1 if a run failed, 2 if the gated rate > 5 %."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--seeds", type=int, default=5, metavar="K",
                        help="experiment seeds per driver (default 5)")
    parser.add_argument("--first-seed", type=int, default=1, metavar="S")
    parser.add_argument("--default", action="store_true",
                        help="the drivers' default sizes instead of --tiny (minutes each)")
    parser.add_argument("--drivers", default=",".join(DRIVERS),
                        help="comma-separated drivers (default: all of them)")
    parser.add_argument("-j", "--jobs", type=int, default=2, metavar="N")
    args = parser.parse_args(argv)
    size = "default" if args.default else "tiny"
    totals = [0, 0, 0]
    try:
        for driver in [d.strip() for d in args.drivers.split(",") if d.strip()]:
            if driver not in DRIVERS:
                print(f"null_rate.py: --drivers: unknown driver {driver!r} "
                      f"(one of {', '.join(DRIVERS)})", file=sys.stderr)
                return 1
            counts = [0, 0, 0]
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                directory = os.path.join(args.out, f"{driver}-{size}-null-seed{seed}")
                result = run_null(driver, seed, directory, size, args.jobs)
                counts = [a + b for a, b in zip(counts, result)]
            totals = [a + b for a, b in zip(totals, counts)]
            print(f"{driver:16} {counts[0]:3d}/{counts[2]:<4d} non-INCONCLUSIVE "
                  f"({counts[0] / counts[2]:.1%}); without gates {counts[1]}/{counts[2]} "
                  f"({counts[1] / counts[2]:.1%})")
    except RuntimeError as exc:
        print(f"null_rate.py: {exc}", file=sys.stderr)
        return 1
    rate = totals[0] / totals[2] if totals[2] else 0.0
    print(f"{'all':16} {totals[0]:3d}/{totals[2]:<4d} non-INCONCLUSIVE ({rate:.1%}); "
          f"without gates {totals[1]}/{totals[2]} ({totals[1] / max(totals[2], 1):.1%}); "
          f"{size} size, {args.seeds} experiment seeds per driver, lr = 1e-12")
    return 0 if rate <= 0.05 else 2


if __name__ == "__main__":
    sys.exit(main())
