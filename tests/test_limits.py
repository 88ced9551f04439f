"""Size limits: the largest value of a size parameter that rnnbench accepts must also run.

For each size limit, a one-run experiment at the largest accepted value (every other size
small, a step or two) runs in bin/rnnbench and bin/rnnbench-double with `-j 2` and
`seeds = 2` (two runs in parallel: the main thread and an OpenMP worker, whose stacks
differ), exits 0 and leaves every run finished ('done' or 'diverged') in the results file.
Regression: timing and adding at delay 10^6 crashed with SIGSEGV, T-sized arrays being on
the stack in evaluation.
Run: /usr/bin/python3 -m pytest -q tests/test_limits.py
"""
import os
import subprocess

import h5py
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARIES = {
    "float": os.path.join(ROOT, "bin", "rnnbench"),
    "double": os.path.join(ROOT, "bin", "rnnbench-double"),
}

# every size small: a case overrides the one it tests
SMALL = {"task": "adding", "delay": 2, "cell": "rnn", "hidden": 1, "batch": 1, "steps": 1,
         "eval_every": 1, "eval_size": 1}

# name -> the keys that put one parameter at the largest value accepted
LARGEST = {
    "delay-adding": {"task": "adding", "delay": 1000000},
    "delay-timing": {"task": "timing", "delay": 1000000},
}


def experiment(tmp_path, overrides, seeds=2):
    """An experiment file of one grid point (seeds runs); returns its path."""
    keys = {**SMALL, **overrides}
    lines = ["[experiment]", "name = limits", "seed = 7", "", "[grid]"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    lines.append(f"seeds = {seeds}")
    path = tmp_path / "limits.ini"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("precision", sorted(BINARIES))
@pytest.mark.parametrize("case", sorted(LARGEST))
def test_largest_accepted_value_runs(tmp_path, case, precision):
    exp, out = experiment(tmp_path, LARGEST[case]), str(tmp_path / "out.h5")
    r = subprocess.run([BINARIES[precision], "run", exp, "-o", out, "-j", "2", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{case} ({precision}) exited {r.returncode}:\n{r.stderr}"
    with h5py.File(out, "r") as f:
        status = [s.decode() for s in f["summary"]["status"]]
    assert len(status) == 2 and set(status) <= {"done", "diverged"}, status
