"""Adding a cell kind is one file and one registry line.

A scratch copy of the project gets `cells/toy.c` (from tests/data/toy_cell.c) and the line
`CELL_KIND(toy)` in cells/kinds.h, and nothing else. Its build must then know the cell everywhere
a cell name is used: `list cells`, `trace` (with the `kind` attribute), an experiment run (the
run's HDF5 group with `kind`, the summary), `show`, and the scheduler's cost (`run --plan`). The
build reuses the objects of this checkout's build, so only the new file and the registry compile.

A second check reads the sources: no code outside a kind's own file asks which kind a cell is.

Example:
    /usr/bin/python3 -m pytest -q tests/test_new_cell.py
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parent.parent
KIND_FILES = {"rnn.c", "lstm.c", "gru.c"}


def _tracked_files():
    """Return the project's files, tracked or new but not ignored (the build needs only these)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def toy_build(tmp_path_factory):
    """Build rnnbench with the toy kind added in a scratch copy; return (copy root, binary)."""
    work = tmp_path_factory.mktemp("toy") / "rnnbench"
    for rel in _tracked_files():
        src = ROOT / rel
        if src.is_file():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    # this checkout's objects and dependency files: make recompiles only what the change touches
    if (ROOT / "build").is_dir():
        shutil.copytree(ROOT / "build", work / "build", symlinks=True,
                        ignore=shutil.ignore_patterns("*.h5", "test-runner", "rnnbench"))
    kinds = work / "cells" / "kinds.h"
    before = kinds.read_text()
    shutil.copy2(ROOT / "tests" / "data" / "toy_cell.c", work / "cells" / "toy.c")
    kinds.write_text(before + "CELL_KIND(toy)\n")
    assert kinds.read_text().splitlines()[:-1] == before.splitlines()  # one line added
    env = dict(os.environ)
    proc = subprocess.run(["make", "-j2", "float"], cwd=work, capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    binary = work / "bin" / "rnnbench"
    assert binary.is_file()
    return work, binary


def _run(binary, *args, cwd):
    proc = subprocess.run([str(binary), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}: {proc.stderr}"
    return proc.stdout


def test_toy_kind_is_listed(toy_build):
    work, binary = toy_build
    rows = [line.split()[0] for line in _run(binary, "list", "cells", cwd=work).splitlines() if line]
    assert "toy" in rows
    assert rows.index("toy") > rows.index("gru-ra")  # after the kinds before it, as registered


def test_toy_kind_traces_with_its_kind(toy_build, tmp_path):
    work, binary = toy_build
    out = tmp_path / "toy-trace.h5"
    _run(binary, "trace", "--cell", "toy", "--hidden", "6", "--steps", "7", "-o", str(out), cwd=work)
    with h5py.File(out, "r") as f:
        assert f.attrs["kind"] == "toy"
        assert f.attrs["leak"] == "0.5"
        assert set(f["params"]) == {"weight_ih", "weight_hh", "bias", "readout.weight", "readout.bias"}
        assert "dc0" not in f  # no second state
        assert abs(f["grads/weight_hh"][()]).sum() > 0


def test_toy_kind_runs_in_a_grid(toy_build, tmp_path):
    work, binary = toy_build
    exp = tmp_path / "toy.ini"
    exp.write_text("[experiment]\nname = toy\n\n[grid]\ntask = adding\ndelay = 10, 20\n"
                   "cell = toy, rnn\nhidden = 8\nsteps = 30\neval_every = 10\neval_size = 16\n")
    plan = _run(binary, "run", str(exp), "--plan", cwd=work)
    costs = {}
    for line in plan.splitlines()[1:-1]:
        order, _id, cell, _task, delay, _hidden, cost = line.split()
        costs[(cell, int(delay))] = float(cost)
    assert set(costs) == {("toy", 10), ("toy", 20), ("rnn", 10), ("rnn", 20)}
    assert costs[("toy", 20)] > costs[("toy", 10)] > 0  # the kind's own cost, scaled by length
    out = tmp_path / "toy.h5"
    _run(binary, "run", str(exp), "-o", str(out), "-j", "2", "--quiet", cwd=work)
    with h5py.File(out, "r") as f:
        kinds = {f["runs"][name].attrs["cell"]: f["runs"][name].attrs["kind"] for name in f["runs"]}
        assert kinds == {"toy": "toy", "rnn": "rnn"}
        toy_runs = [g for g in f["runs"].values() if g.attrs["cell"] == "toy"]
        assert all(g.attrs["status"] == "done" for g in toy_runs)
        for g in toy_runs:  # the kind's gates are what the gate statistics record
            assert g["eval/gate_mean"].attrs["columns"] == "z"
            assert g["eval/gate_mean"].shape[1] == 1
            assert "grad_flow_c" not in g["eval"]
        cells = {row.decode() if isinstance(row, bytes) else row for row in f["summary"]["cell"]}
        assert cells == {"toy", "rnn"}
    shown = _run(binary, "show", str(out), cwd=work)
    assert re.search(r"^\s*toy\b", shown, re.M) or " toy " in shown


def test_no_kind_switch_outside_kind_files():
    """Only a kind's own file may name its flags or ask which kind a cell is."""
    pattern = re.compile(r"CELL_(RNN|LSTM|GRU)\b|ops->kind\s*[!=]=|strn?cmp\([^;]*ops->kind"
                         r"|strn?cmp\([^;]*\"(lstm|gru|rnn|irnn)")
    offenders = []
    for path in list((ROOT / "cells").glob("*.[ch]")) + list((ROOT / "harness").rglob("*.[ch]")):
        if path.name in KIND_FILES:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
