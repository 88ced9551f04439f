"""Smoke test of the reproduction drivers (scripts/repro/*.py): each runs with --tiny.

Every driver runs its study's --tiny grid (seconds) into tmp_path, all of them at once with -j 1
each, and must exit 0, print exactly one verdict line (REPRODUCED / CONTRADICTED / INCONCLUSIVE / MIXED
with the counts of HOLDS / FAILS / INCONCLUSIVE, possibly marked POST HOC), then the design line
and one line per check with its effect, interval, p, Holm p and MDE, and write report.md holding
them. The verdicts of a --tiny run mean
nothing; this checks the plumbing, not the science. Needs bin/rnnbench (`make float`).

Example:
    /usr/bin/python3 -m pytest -q tests/test_reproductions.py
"""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVERS = ("greff2015", "hochreiter1997", "forget_bias", "copy_task", "peephole_timing",
           "delay_sweep", "greff_continual")
VERDICT = re.compile(r"^(?:POST HOC )?(REPRODUCED|CONTRADICTED|INCONCLUSIVE|MIXED) "
                     r"\((\d+) HOLDS, (\d+) FAILS, (\d+) INCONCLUSIVE\): \S")
CHECK = re.compile(r"^  check: (HOLDS|FAILS|INCONCLUSIVE) +.+: .+ \[.+\].*p=.*Holm p=.*"
                   r"detectable at 80% power: ")


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Start every driver with --tiny -j 1 in parallel; return {driver: (code, out, err, dir)}."""
    if not os.access(os.path.join(ROOT, "bin", "rnnbench"), os.X_OK):
        pytest.skip("bin/rnnbench not built (make float)")
    base = tmp_path_factory.mktemp("repro")
    procs = {}
    for driver in DRIVERS:
        out = base / driver
        cmd = [sys.executable, os.path.join(ROOT, "scripts", "repro", f"{driver}.py"),
               "--tiny", "-j", "1", "--out", str(out)]
        procs[driver] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, cwd=ROOT), out)
    results = {}
    for driver, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=240)
        results[driver] = (proc.returncode, stdout, stderr, out)
    return results


@pytest.mark.parametrize("driver", DRIVERS)
def test_tiny_driver(tiny_runs, driver):
    """The driver exits 0, prints one verdict line and writes a report that holds it."""
    code, stdout, stderr, out = tiny_runs[driver]
    assert code == 0, f"{driver} exited {code}: {stderr.strip()[-500:]}"
    verdicts = [line for line in stdout.splitlines() if VERDICT.match(line)]
    assert len(verdicts) == 1, f"{driver} printed {len(verdicts)} verdict lines: {stdout!r}"
    counts = [int(c) for c in VERDICT.match(verdicts[0]).groups()[1:]]
    checks = [line for line in stdout.splitlines() if line.startswith("  check: ")]
    assert checks and all(CHECK.match(c) for c in checks), checks
    assert not [c for c in checks if " n=0," in c or "/0," in c], checks  # a check of no runs
    assert sum(counts) == len(checks), (counts, checks)
    outcomes = [CHECK.match(c).group(1) for c in checks]
    assert counts == [outcomes.count(o) for o in ("HOLDS", "FAILS", "INCONCLUSIVE")]
    assert any(line.startswith("  design: ") and "power" in line
               for line in stdout.splitlines()), stdout
    report = out / "report.md"
    assert report.exists(), f"{driver} wrote no report.md"
    text = report.read_text()
    assert verdicts[0] in text
    assert all(c in text for c in checks)
    assert "--tiny" in text
    assert list(out.glob("*.h5")), f"{driver} left no results file in {out}"
    assert list(out.glob("*.png")), f"{driver} drew no figure"
