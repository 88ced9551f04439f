"""Issue 17, the harness side: the progress line's running count and rate,
the output's folder made when missing, studies that grow (kept, new and
dropped runs; the experiment text versioned), `run --set` and `rnnbench export`.
Nothing here depends on machine speed: counts of lines are bounded by the
grid's own wall time, and runs are compared by their data, not by timing.
Run: /usr/bin/python3 -m pytest -q tests/test_grow.py
"""
import os
import re
import subprocess
import time

import h5py
import pytest

from test_harness import RNNBENCH, run, write
from test_results_reliability import TINY

PROGRESS = re.compile(r"^rnnbench: (\d+)/(\d+) runs done, (\d+) running, elapsed")


def progress_lines(stderr):
    return [PROGRESS.match(l).groups() for l in stderr.splitlines() if PROGRESS.match(l)]


# --------------------------------------------------------------------------
# progress

@pytest.mark.parametrize("jobs", [1, 2])
def test_running_count_is_the_number_of_workers(tmp_path, jobs):
    """TINY has 4 runs: while they go, `jobs` of them are running; at the end none."""
    exp = write(tmp_path, TINY)
    r = run("run", exp, "-o", str(tmp_path / "t.h5"), "-j", str(jobs))
    lines = progress_lines(r.stderr)  # stderr is a pipe: plain lines
    assert lines, r.stderr
    assert lines[0] == ("0", "4", str(jobs)), r.stderr
    assert lines[-1] == ("4", "4", "0"), r.stderr
    for done, total, running in lines:
        assert int(running) == min(jobs, 4 - int(done)), r.stderr


def test_plain_progress_is_a_few_lines_not_one_per_run(tmp_path):
    """Twelve runs: the first line, the last, and one per 5 s of the grid's own time between."""
    exp = write(tmp_path, TINY.replace("seeds = 2", "seeds = 6"))
    t0 = time.monotonic()
    r = run("run", exp, "-o", str(tmp_path / "t.h5"), "-j", "1")
    wall = time.monotonic() - t0
    n = len(progress_lines(r.stderr))
    assert 2 <= n <= 2 + wall / 5 + 1, r.stderr
    assert "\r" not in r.stderr


# --------------------------------------------------------------------------
# the output's folder

def test_default_results_folder_is_made_in_another_directory(tmp_path):
    exp = write(tmp_path, TINY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("run", exp, "--quiet", cwd=str(elsewhere))
    assert "results: results/tiny.h5" in r.stdout
    with h5py.File(elsewhere / "results" / "tiny.h5", "r") as f:
        assert f.attrs["complete"] == 1


def test_only_the_last_folder_is_made(tmp_path):
    """a mistyped deeper path is an error naming the folder, not a new tree"""
    exp = write(tmp_path, TINY)
    out = tmp_path / "no" / "such" / "t.h5"
    r = run("run", exp, "-o", str(out), "--quiet", check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert f"cannot create the folder '{tmp_path}/no/such'" in r.stderr, r.stderr
    assert not (tmp_path / "no").exists()
