"""Cells written as equations from the command line (docs/cells.md "Cells written as equations").

- an experiment file's [cell NAME] sections (before and after the [grid] that names them) run in
  `rnnbench run`, in one layer and in a stack of two; each run records kind `graph` and its
  equations, and the parameter count of the LSTM written as equations is the native lstm-peep's;
- the equations attribute alone makes the cell again: a new experiment file written from it gives
  the same run (same id, same final loss, bit for bit);
- `rnnbench trace --cell-file FILE --cell NAME` traces such a cell, with one tensor per W, R, p, b.
(The equivalence with the native cells and the gradients are tests/double/test_graph.c's.)

Example:
    /usr/bin/python3 -m pytest -q tests/test_graph.py
"""
import os
import subprocess

import h5py
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
RNNBENCH_DOUBLE = os.path.join(ROOT, "bin", "rnnbench-double")

LSTM_PEEP = """state = h, c
i = sigmoid(W x + R h + p . c + b)
f = sigmoid(W x + R h + p . c + b)
z = tanh(W x + R h + b)
c' = f * c + i * z
o = sigmoid(W x + R h + p . c' + b)
h' = o * tanh(c')
"""

MGU = """state = h
f = sigmoid(W x + R h + b)
n = tanh(W x + R (f * h) + b)
h' = (1 - f) * h + f * n
"""

GRID = """
[grid]
task = adding
delay = 5
cell = {cells}
layers = 1, 2
hidden = 4
batch = 4
steps = 10
eval_every = 5
eval_size = 8
"""


def run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def runs_of(path):
    with h5py.File(path, "r") as f:
        return {k: dict(f["runs"][k].attrs) for k in f["runs"]}


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("graph")
    ini = d / "graph.ini"
    ini.write_text("[experiment]\nname = graph\n\n[cell g-lstm]\n" + LSTM_PEEP
                   + GRID.format(cells="g-lstm, lstm-peep, g-mgu") + "\n[cell g-mgu]\n" + MGU)
    run([RNNBENCH, "run", str(ini), "-o", str(d / "graph.h5"), "--quiet"], d)
    return d, runs_of(d / "graph.h5")


def test_graph_cells_run_in_one_layer_and_in_a_stack(results):
    _, runs = results
    got = {(text(a["cell"]), int(a.get("layers", 1))): a for a in runs.values()}
    assert set(got) == {(c, layers) for c in ("g-lstm", "lstm-peep", "g-mgu") for layers in (1, 2)}
    for (cell, layers), a in got.items():
        assert text(a["status"]) == "done", (cell, layers, a["error"])
        if cell.startswith("g-"):
            assert text(a["kind"]) == "graph"
            assert text(a["equations"]) == (LSTM_PEEP if cell == "g-lstm" else MGU)
    # the LSTM as equations has the native lstm-peep's parameters, one layer or two
    for layers in (1, 2):
        assert got[("g-lstm", layers)]["n_params"] == got[("lstm-peep", layers)]["n_params"]
    # mgu: 2 blocks of W (4 x 2), R (4 x 4), b (4), and the readout (1 x 4 + 1)
    assert got[("g-mgu", 1)]["n_params"] == 2 * (4 * 2 + 4 * 4 + 4) + 5


def test_equations_attribute_makes_the_run_again(results, tmp_path):
    """A new experiment file written from a run's attributes alone gives that run again."""
    _, runs = results
    a = next(a for a in runs.values() if text(a["cell"]) == "g-mgu" and int(a.get("layers", 1)) == 2)
    lines = ["[experiment]", "name = graph", "", "[cell g-mgu]", text(a["equations"]),
             GRID.format(cells="g-mgu").replace("layers = 1, 2", "layers = 2")]
    ini = tmp_path / "again.ini"
    ini.write_text("\n".join(lines))
    run([RNNBENCH, "run", str(ini), "-o", str(tmp_path / "again.h5"), "--quiet"], tmp_path)
    (again,) = runs_of(tmp_path / "again.h5").values()
    assert text(again["id"]) == text(a["id"])
    assert again["final_loss"] == a["final_loss"]


def test_trace_cell_file(tmp_path):
    cells = tmp_path / "cells.ini"
    cells.write_text("; cells only\n[cell g-lstm]\n" + LSTM_PEEP)
    out = tmp_path / "t.h5"
    run([RNNBENCH_DOUBLE, "trace", "--cell-file", str(cells), "--cell", "g-lstm", "--layers", "2",
         "-o", str(out)], tmp_path)
    with h5py.File(out, "r") as f:
        assert text(f.attrs["kind"]) == "graph"
        names = set(f["params"])
        for layer in (0, 1):
            for gate in "ifzo":
                assert f"weight_ih_{gate}_l{layer}" in names and f"bias_{gate}_l{layer}" in names
            for gate in "ifo":
                assert f"peep_{gate}_c_l{layer}" in names
        assert f["params/weight_ih_i_l0"].shape == (8, 3)
        assert f["params/weight_ih_i_l1"].shape == (8, 8)


def test_trace_cell_file_errors(tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text("[cell g]\nstate = h\nh' = tanh(W x + R h +)\n")
    r = subprocess.run([RNNBENCH, "trace", "--cell-file", str(bad), "--cell", "g", "-o", str(tmp_path / "t.h5")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert f"{bad}:3: column 22: expected a term, got ')'" in r.stderr
    assert not (tmp_path / "t.h5").exists()
