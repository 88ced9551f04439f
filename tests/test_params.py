"""`params = N` through `rnnbench run` and `show`.

An experiment file with a parameter budget (two budgets x three cells) runs; each run records
the budget (`params_target`), the hidden size it resolved to and its exact count (`n_params`,
the cell's formula on the task, readout included: no neighbouring hidden size is closer), in its
attributes and in /summary; `show` prints the budget, the hidden size and the count per row and
says what they are; `train --params` is refused with a one-line error.

Example:
    make float && /usr/bin/python3 -m pytest -q tests/test_params.py
"""
import os
import subprocess
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin" / "rnnbench"

EXPERIMENT = """[experiment]
name = budget
[grid]
task = adding
delay = 8
cell = rnn, lstm, mgu
params = 300, 1200
steps = 10
eval_every = 5
eval_size = 8
batch = 4
"""


# parameters on adding (X = 2, Y = 1): the gates' (H^2 + 2H + H) each, then the readout H + 1
FORMULA = {"rnn": lambda H: (H * H + 3 * H) + H + 1,
           "lstm": lambda H: 4 * (H * H + 3 * H) + H + 1,
           "mgu": lambda H: 2 * (H * H + 3 * H) + H + 1}


def run(*args):
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"{BIN} is not built: run `make float` in {ROOT}")
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_a_budget_run_records_the_budget_hidden_and_count(tmp_path):
    ini = tmp_path / "budget.ini"
    ini.write_text(EXPERIMENT)
    out = tmp_path / "budget.h5"
    proc = run("run", ini, "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        runs = f["runs"]
        assert len(runs) == 6
        seen = set()
        for rid in runs:
            a = runs[rid].attrs
            cell = a["cell"].decode() if isinstance(a["cell"], bytes) else a["cell"]
            target, hidden, count = int(a["params_target"]), int(a["hidden"]), int(a["n_params"])
            seen.add((cell, target))
            # the count is the cell's on adding (X = 2, Y = 1), readout included, and no
            # hidden size one up or down comes closer to the budget
            formula = FORMULA[cell]
            assert count == formula(hidden), (cell, hidden, count)
            assert abs(count - target) <= abs(formula(hidden + 1) - target), (cell, target, hidden)
            assert abs(count - target) < abs(formula(hidden - 1) - target), (cell, target, hidden)
        assert seen == {(c, t) for c in ("rnn", "lstm", "mgu") for t in (300, 1200)}
        summary = f["summary"][()]
        assert "params_target" in summary.dtype.names
        for row in summary:
            assert int(row["params_target"]) in (300, 1200)
            assert int(row["n_params"]) > 0
        # rnn on adding: H^2 + 4H + 1 parameters, 300 -> H = 15 (286); 1200 -> 33 (1222)
        rnn = {int(r["params_target"]): (int(r["hidden"]), int(r["n_params"]))
               for r in summary if r["cell"].decode() == "rnn"}
        assert rnn == {300: (15, 286), 1200: (33, 1222)}
    show = run("show", out)
    assert show.returncode == 0, show.stderr
    header = next(line for line in show.stdout.splitlines() if line.startswith("task"))
    assert header.split()[3:6] == ["params", "hidden", "n_params"], header
    assert "params: the parameter budget" in show.stdout
    row = next(line for line in show.stdout.splitlines() if line.split()[:3] == ["adding", "8", "rnn"])
    assert row.split()[3:6] == ["300", "15", "286"], row


def test_train_refuses_a_budget(tmp_path):
    proc = run("train", "--cell", "lstm", "--params", "300", "-o", tmp_path / "x.h5")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--params:" in lines[0], proc.stderr
