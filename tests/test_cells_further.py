"""The further cells (indrnn, janet, mgu, mut1-3, cwrnn) and the lstm-1997 alias through the binary.

- `rnnbench list cells` prints a parameter formula per cell: for every listed cell, at two sizes,
  it must equal the parameters a trace of that cell holds (readout excluded; cwrnn's zero blocks
  below the diagonal of weight_hh excluded, and checked to be zero), and for the further cells
  the formula of docs/cells.md as well.
- Each further cell trains through `train` (the adding problem, delay 10): the held-out loss
  falls to below half its value at step 0, every evaluation is finite, and the run records its
  kind, its gates and its exact parameter count.
- An experiment file with all of them runs (`run --plan` gives each a cost that grows with the
  delay; `run` finishes every run), `show` lists them, and scripts/rnnbench_cells.py reads from
  each run's attributes the flags that the cell's name implies.
- `bench` accepts them.

Example:
    make float double && /usr/bin/python3 -m pytest -q tests/test_cells_further.py
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin" / "rnnbench"
sys.path.insert(0, str(ROOT / "scripts"))
import rnnbench_cells  # noqa: E402  (scripts/ is not a package)
FURTHER = ("indrnn", "janet", "mgu", "mut1", "mut2", "mut3", "cwrnn")
# a stack of 2 by definition: trained, counted and run with layers = 2
STACKED = ("dglstm",)
# docs/cells.md, "Further cells" (N hidden, M inputs, readout excluded)
CELLS_MD_COUNT = {
    "indrnn": lambda n, m: n * m + 2 * n,
    "janet": lambda n, m: 2 * n * m + 2 * n * n + 2 * n,
    "mgu": lambda n, m: 2 * n * m + 2 * n * n + 2 * n,
    "mut1": lambda n, m: 3 * n * m + 2 * n * n + 3 * n,
    "mut2": lambda n, m: 3 * n * m + 3 * n * n + 3 * n,
    "mut3": lambda n, m: 3 * n * m + 3 * n * n + 3 * n,
    "lstm-1997": lambda n, m: 3 * n * m + 3 * n * n + 3 * n,
    # 4 modules of n/4 units: (n/4)^2 4(4+1)/2 recurrent weights (n divisible by 4)
    "cwrnn": lambda n, m: n * m + n + (n // 4) ** 2 * 10,
}
GATES = {"janet": "f,c", "mgu": "f,n", "mut1": "z,r,h", "mut2": "z,r,h", "mut3": "z,r,h",
         "lstm-1997": "i,z,o"}
KINDS = {"indrnn": "indrnn", "janet": "janet", "mgu": "mgu", "mut1": "mut", "mut2": "mut",
         "mut3": "mut", "lstm-1997": "lstm", "cwrnn": "cwrnn"}


def rnnbench(*args, cwd=None):
    """Run the float binary; return stdout, failing the test with stderr on a non-zero exit."""
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"{BIN} is not built: run `make float double` in {ROOT}")
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)
    assert proc.returncode == 0, f"rnnbench {' '.join(map(str, args))}: {proc.stderr}"
    return proc.stdout


def listed_formulas():
    """{cell: formula} from `rnnbench list cells` (the table before the first blank line)."""
    formulas = {}
    for line in rnnbench("list", "cells").splitlines()[1:]:
        if not line.strip():
            break
        cols = re.split(r"\s{2,}", line.strip())
        formulas[cols[0]] = cols[1]
    return formulas


def evaluate(formula, n, m):
    """The value of a formula such as '3NM + 2N^2 + 3N' or 'NM + N + 5N^2/8' at N = n, M = m."""
    total = 0
    for term in formula.split("+"):
        match = re.fullmatch(r"\s*(\d*)((?:[NM](?:\^\d+)?)+)(?:/(\d+))?\s*", term)
        assert match, f"cannot read the term {term!r} of {formula!r}"
        value = int(match.group(1) or 1)
        for letter, power in re.findall(r"([NM])(?:\^(\d+))?", match.group(2)):
            value *= (n if letter == "N" else m) ** int(power or 1)
        divisor = int(match.group(3) or 1)
        assert value % divisor == 0, f"{term!r} of {formula!r} is no whole number at N={n}, M={m}"
        total += value // divisor
    return total


def test_formula_reader():
    assert evaluate("3NM + 2N^2 + 3N", 5, 2) == 30 + 50 + 15
    assert evaluate("NM + 2N", 4, 3) == 20
    assert evaluate("NM + N + 5N^2/8", 8, 3) == 24 + 8 + 40


def trace_params(tmp_path, cell, hidden, inputs, layers=1):
    """{name: count} of the cell's parameters in a trace (readout excluded). cwrnn's blocks of
    weight_hh below the block diagonal are no parameters: they must be exactly zero, and are not
    counted."""
    out = tmp_path / f"{cell}-{hidden}-{inputs}-{layers}.h5"
    rnnbench("trace", "--cell", cell, "--layers", layers, "--hidden", hidden, "--input", inputs,
             "--output", 2, "--steps", 3, "--batch", 1, "-o", out)
    with h5py.File(out, "r") as f:
        counts = {name: f["params"][name].size for name in f["params"]
                  if not name.startswith("readout.")}
        if text(f.attrs.get("kind", b"")) == "cwrnn" and layers == 1:
            g = int(f.attrs["modules"])
            unit_module = np.arange(hidden) // (hidden // g)
            below = unit_module[None, :] < unit_module[:, None]  # column's module < row's
            weight_hh = f["params"]["weight_hh"][()]
            assert np.all(weight_hh[below] == 0), f"{cell}: a block below the diagonal is not zero"
            assert np.all(weight_hh[~below] != 0), f"{cell}: a block on or above it is zero"
            counts["weight_hh"] -= int(below.sum())
        return counts


def hidden_for(cell, hidden):
    """`hidden`, or for cwrnn (4 modules) the next multiple of 4."""
    return -(-hidden // 4) * 4 if cell.startswith("cwrnn") else hidden


@pytest.mark.parametrize("hidden,inputs", [(5, 3), (8, 20)])
def test_listed_counts_are_the_real_counts(tmp_path, hidden, inputs):
    """Every listed cell's formula equals its parameter count (and cells.md's for the new ones)."""
    formulas = listed_formulas()
    assert set(FURTHER) | {"lstm-1997"} <= set(formulas)
    for cell, formula in formulas.items():
        n = hidden_for(cell, hidden)
        # dglstm is counted, as listed, at the 2 layers it needs
        have = sum(trace_params(tmp_path, cell, n, inputs, 2 if cell == "dglstm" else 1).values())
        listed = evaluate(formula, n, inputs)
        assert have == listed, f"{cell}: {have} parameters, `list cells` says {formula} = {listed}"
        if cell in CELLS_MD_COUNT:
            assert have == CELLS_MD_COUNT[cell](n, inputs), f"{cell}: not cells.md's count"


def run_groups(path):
    """[(attrs, {dataset: array})] of every run in a results file."""
    with h5py.File(path, "r") as f:
        return [(dict(g.attrs), {k: (g["eval"][k][()], dict(g["eval"][k].attrs))
                                 for k in g["eval"]}) for g in f["runs"].values()]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("cell", FURTHER + ("lstm-1997",))
def test_each_cell_trains(tmp_path, cell):
    """A few hundred steps on the adding problem at delay 10 halve the held-out loss."""
    out = tmp_path / f"{cell}.h5"
    rnnbench("train", "--cell", cell, "--task", "adding", "--delay", 10, "--hidden", 16,
             "--steps", 300, "--eval-every", 100, "--eval-size", 128, "--seed", 1, "--quiet",
             "-o", out)
    [(attrs, ev)] = run_groups(out)
    assert text(attrs["status"]) == "done"
    assert text(attrs["kind"]) == KINDS[cell]
    loss = ev["loss"][0]
    assert np.all(np.isfinite(loss)) and len(loss) == 4, loss
    assert loss[-1] < 0.5 * loss[0], f"{cell}: held-out loss {loss[0]:.4f} -> {loss[-1]:.4f}"
    # readout: Y*N + Y with Y = 1 for the adding problem
    assert int(attrs["n_params"]) == CELLS_MD_COUNT[cell](16, 2) + 16 + 1
    if cell in GATES:
        gate_mean, gate_attrs = ev["gate_mean"]
        assert text(gate_attrs["columns"]) == GATES[cell]
        assert np.all((gate_mean >= -1) & (gate_mean <= 1))
    else:
        assert "gate_mean" not in ev  # indrnn has no gates
    assert "grad_flow_h" in ev
    assert ("grad_flow_c" in ev) == (cell == "lstm-1997")  # only the LSTM has a second state
    print(f"{cell}: held-out MSE {loss[0]:.4f} at step 0 -> {loss[-1]:.4f} at step 300")


def test_experiment_file_runs_every_further_cell(tmp_path):
    """An experiment file names them like any cell: planned with a cost, run, shown."""
    cells = FURTHER + ("lstm-1997",)
    exp = tmp_path / "further.ini"
    exp.write_text("[experiment]\nname = further\n\n[grid]\ntask = adding\ndelay = 10, 20\n"
                   f"cell = {', '.join(cells)}\nhidden = 8\nsteps = 40\neval_every = 20\n"
                   "eval_size = 32\n")
    costs = {}
    for line in rnnbench("run", exp, "--plan").splitlines()[1:-1]:
        _order, _id, cell, _task, delay, _hidden, cost = line.split()
        costs[(cell, int(delay))] = float(cost)
    for cell in cells:
        assert costs[(cell, 20)] > costs[(cell, 10)] > 0, cell
    out = tmp_path / "further.h5"
    rnnbench("run", exp, "-o", out, "-j", 2, "--quiet")
    groups = run_groups(out)
    assert sorted(text(a["cell_requested"]) for a, _ in groups) == sorted(cells * 2)
    for attrs, ev in groups:
        assert text(attrs["status"]) == "done", attrs["cell"]
        assert np.all(np.isfinite(ev["loss"][0]))
        # the Python side reads the same flags from the attributes as from the name
        name = text(attrs["cell_requested"])
        plain = {k: text(v) if isinstance(v, bytes) else v.item() if isinstance(v, np.generic)
                 else v for k, v in attrs.items()}
        from_name = rnnbench_cells.flags_from_name(name)
        assert from_name is not None, f"rnnbench_cells does not know {name}"
        assert rnnbench_cells.flags_from_attrs(plain, name) == from_name
        # and the raw numpy attributes, as h5py hands them over, read the same
        assert rnnbench_cells.flags_from_attrs(dict(attrs), name) == from_name, name
    shown = rnnbench("show", out)
    for cell in FURTHER:
        assert re.search(rf"^\s*adding\s+\d+\s+{cell}\b", shown, re.M) or f" {cell} " in shown, cell


def test_bench_accepts_them():
    """`bench --cell` times them as any other cell (one step; the numbers are not checked)."""
    out = rnnbench("bench", "--workload", "W1", "--cell", ",".join(FURTHER), "--steps", 1,
                   "--warmup", 0, "--format", "csv")
    rows = [line.split(",") for line in out.splitlines()[1:] if line]
    assert [r[1] for r in rows] == list(FURTHER)
    assert all(float(r[2]) > 0 for r in rows)


def test_stack_counts_every_layer(tmp_path):
    """A stack of L layers holds layer 0 (input M) and L - 1 layers of input N, each named with
    its _l<k> suffix; dglstm's further layers add 9N^2 + 7N each (cells.md)."""
    n, m = 6, 3
    one = sum(trace_params(tmp_path, "lstm", n, m).values())
    upper = sum(trace_params(tmp_path, "lstm", n, n).values())
    for layers in (2, 3):
        counts = trace_params(tmp_path, "lstm", n, m, layers)
        assert sum(counts.values()) == one + (layers - 1) * upper
        assert set(counts) == {f"{t}_l{k}" for t in ("weight_ih", "weight_hh", "bias")
                               for k in range(layers)}
    two = sum(trace_params(tmp_path, "dglstm", n, m, 2).values())
    three = sum(trace_params(tmp_path, "dglstm", n, m, 3).values())
    assert two == evaluate(listed_formulas()["dglstm"], n, m)
    assert three - two == 9 * n * n + 7 * n
    # cwrnn's zero blocks stay zero and uncounted in every layer of a stack
    counts = trace_params(tmp_path, "cwrnn", 8, m, 2)
    assert counts["weight_hh_l1"] == 8 * 8
    with h5py.File(tmp_path / f"cwrnn-8-{m}-2.h5", "r") as f:
        for k in range(2):
            w = f["params"][f"weight_hh_l{k}"][()]
            assert np.all(np.tril(w, -2)[2:, :2] == 0), f"layer {k}: a block below the diagonal"


def test_stacked_run_records_each_layer(tmp_path):
    """`train --layers 2`: the run records layers, names every tensor of both layers in
    grad_norm_by_tensor, and its gradient flow is (evals, layers, T) with every entry finite."""
    out = tmp_path / "stack.h5"
    rnnbench("train", "--cell", "dglstm", "--layers", 2, "--task", "adding", "--delay", 10,
             "--hidden", 8, "--steps", 60, "--eval-every", 20, "--eval-size", 16, "--seed", 1,
             "--quiet", "-o", out)
    [(attrs, ev)] = run_groups(out)
    assert text(attrs["status"]) == "done"
    assert int(attrs["layers"]) == 2 and text(attrs["kind"]) == "dglstm"
    flow, _ = ev["grad_flow_h"]
    flow_c, _ = ev["grad_flow_c"]
    assert flow.shape[:2] == (4, 2) and flow.shape[2] >= 10 and flow_c.shape == flow.shape
    assert np.all(np.isfinite(flow)) and np.all(flow[:, :, -1] > 0)
    with h5py.File(out, "r") as f:
        group = next(iter(f["runs"].values()))
        columns = text(group["train"]["grad_norm_by_tensor"].attrs["columns"]).split(",")
    assert {"weight_ih_l0", "weight_d_l1", "peep_ld_l1", "readout.weight"} <= set(columns)


def test_layers_is_a_grid_axis_that_the_table_keeps_apart(tmp_path):
    """`layers = 1, 2` in one section: two variants of one cell, told apart by the table's layers
    column and by the summary's, and compare.py names the pooling if asked to mix them."""
    exp = tmp_path / "depth.ini"
    exp.write_text("[grid]\ntask = adding\ndelay = 10\ncell = lstm\nlayers = 1, 2\nhidden = 6\n"
                   "steps = 20\neval_every = 10\neval_size = 16\n")
    out = tmp_path / "depth.h5"
    shown = rnnbench("run", exp, "-o", out, "--quiet")
    header = next(line for line in shown.splitlines() if line.startswith("task"))
    assert "layers" in header.split()
    rows = [line.split() for line in shown.splitlines() if line.startswith("adding")]
    assert sorted(r[3] for r in rows) == ["1", "2"], shown
    with h5py.File(out, "r") as f:
        assert sorted(f["summary"]["layers"]) == [1, 2]
    import rnnbench_results as rr
    with rr.open_results(str(out)) as res:
        assert sorted(res.summary.layers) == [1, 2]
    # compare.py labels the stack lstm*2 and names the one part that differs
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare.py"), str(out),
                           "--baseline", "lstm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "lstm*2" in proc.stdout and "CONFOUNDED" not in proc.stdout + proc.stderr
