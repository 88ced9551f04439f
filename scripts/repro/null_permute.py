"""Permutation null of the drivers' between-cell checks at their default sizes, with no new runs.

null_rate.py's null (lr = 1e-12) removes all learning, so the learner gate makes every check
INCONCLUSIVE at once: it shows the gate works, not that the tests are calibrated when cells do
learn. This null keeps the learning and removes only the difference between the compared arms:
in a finished default-size results file it permutes the compared factor (the cell, or
forget-bias's forget_bias) among the runs of each block that shares everything else (task,
delay, seed index, trial, hyperparameters: a draw of a paired design stays a draw), K times, and
evaluates the driver's declared checks on each permuted summary exactly as the driver does
(gates, Holm). Only the checks of a difference between arms count (kinds paired, fisher,
logrank): under exchangeability each of them should come out HOLDS or FAILS in at most 5 % of
permutations. Equivalence checks (a claim of no difference, which the null makes true),
checks against the trivial baseline (the null does not touch the baseline) and custom checks are
left out, and Holm runs over the checks that count.

Example:
    /usr/bin/python3 scripts/repro/null_permute.py --permutations 100 \\
        hochreiter1997=results/repro/hochreiter1997/hochreiter1997.h5
"""
import argparse
import contextlib
import dataclasses
import importlib
import io
import os
import sys
import tempfile

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import common  # noqa: E402
import compare  # noqa: E402
import curves  # noqa: E402

DIFFERENCE_KINDS = ("paired", "fisher", "logrank")
FACTOR = {"forget-bias": "forget_bias"}  # the compared factor of a study (default: cell)
BLOCK = ("section", "task", "delay") + tuple(compare.PAIR_COLUMNS)


class SilentReport:
    """A Report that keeps nothing: the drivers' analyse() draw and write through it."""

    def __init__(self, directory, h5):
        self.directory = directory
        self.h5 = h5
        self.figures = []

    def text(self, _markdown):
        pass

    def compare_table(self, *_args, **_kwargs):
        pass

    def figure(self, *_args, **_kwargs):
        return None


def arm_settings(df, factor):
    """The design columns that belong to an arm rather than to a draw: one value in every
    (task, delay, factor) group and more than one over the file, as an lr tuned per arm or the
    [grid] section each arm was written into. They go with the arm's label, so they must not
    split the blocks (a block of one run cannot be permuted)."""
    groups = [c for c in ("task", "delay", factor) if c in df.columns]
    out = []
    for column in BLOCK:
        if column in df.columns and column not in groups and df[column].nunique(dropna=False) > 1 \
                and (df.groupby(groups, dropna=False)[column].nunique(dropna=False) <= 1).all():
            out.append(column)
    return out


def permute(df, factor, rng):
    """The summary with `factor` permuted within each block of runs that share every other
    design column but the arm's own settings (arm_settings)."""
    per_arm = arm_settings(df, factor)
    cols = [c for c in BLOCK if c in df.columns and c != factor and c not in per_arm]
    out = df.copy()
    values = out[factor].to_numpy(copy=True)
    for _key, index in df.groupby(cols, sort=False, dropna=False).indices.items():
        values[index] = values[index][rng.permutation(len(index))]
    out[factor] = values
    return out


@contextlib.contextmanager
def no_figures():
    """Stub out scripts/repro/curves.py's drawing while the checks are evaluated K times."""
    saved = curves.plot_km, curves.plot_budget
    curves.plot_km = curves.plot_budget = lambda *_a, **_k: None
    try:
        yield
    finally:
        curves.plot_km, curves.plot_budget = saved


def study_null(study, h5, permutations, seed):
    """(decided, decided without gates, checks counted) over `permutations` permuted copies."""
    module = importlib.import_module(study.replace("-", "_") if study != "copy" else "copy_task")
    prereg = common.load_prereg(study)
    df = common.load_summary(h5)
    factor = FACTOR.get(study, "cell")
    rng = np.random.default_rng(seed)
    decided = raw = total = 0
    with tempfile.TemporaryDirectory() as tmp, no_figures(), \
            contextlib.redirect_stdout(io.StringIO()):
        for _ in range(permutations):
            permuted = permute(df, factor, rng)
            specs = module.analyse(permuted, SilentReport(tmp, h5), "default", prereg)
            rows = permuted
            if isinstance(specs, tuple):
                specs, rows = specs
            specs = [s for s in specs if s.kind in DIFFERENCE_KINDS]
            if not specs:
                raise common.ReproError(f"{study}: no check of a difference between arms")
            checks = common.evaluate(specs, rows)
            decided += sum(c.outcome != "INCONCLUSIVE" for c in checks)
            raw += sum(dataclasses.replace(c, gate="").outcome != "INCONCLUSIVE"
                       for c in checks)
            total += len(checks)
    return decided, raw, total


def main(argv=None):
    """Print each study's permutation-null rate and the overall one; exit 2 above 5 %."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", nargs="+", metavar="STUDY=RESULTS.h5",
                        help="a study (greff2015, hochreiter1997, forget-bias, ...) and its "
                             "default-size results file")
    parser.add_argument("--permutations", type=int, default=100, metavar="K")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    totals = [0, 0, 0]
    for item in args.studies:
        study, sep, h5 = item.partition("=")
        if not sep or not os.path.exists(h5):
            print(f"null_permute.py: {item!r}: expected STUDY=RESULTS.h5 naming an existing "
                  f"file", file=sys.stderr)
            return 1
        try:
            counts = study_null(study, h5, args.permutations, args.seed)
        except (common.ReproError, ImportError) as exc:
            print(f"null_permute.py: {study}: {exc}", file=sys.stderr)
            return 1
        totals = [a + b for a, b in zip(totals, counts)]
        print(f"{study:16} {counts[0]:4d}/{counts[2]:<5d} non-INCONCLUSIVE "
              f"({counts[0] / counts[2]:.1%}); without gates {counts[1]}/{counts[2]} "
              f"({counts[1] / counts[2]:.1%})", flush=True)
    rate = totals[0] / totals[2]
    print(f"{'all':16} {totals[0]:4d}/{totals[2]:<5d} non-INCONCLUSIVE ({rate:.1%}); without "
          f"gates {totals[1]}/{totals[2]} ({totals[1] / totals[2]:.1%}); default size, "
          f"{args.permutations} permutations of the compared factor per study")
    return 0 if rate <= 0.05 else 2


if __name__ == "__main__":
    sys.exit(main())
