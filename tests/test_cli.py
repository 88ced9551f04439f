"""Command-line checks of rnnbench's foundation: `list cells` and `trace`.

Run: /usr/bin/python3 -m pytest -q tests/test_cli.py
"""
import os
import subprocess

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINS = {"float": os.path.join(ROOT, "bin", "rnnbench"),
        "double": os.path.join(ROOT, "bin", "rnnbench-double")}


def listed_cells():
    out = subprocess.run([BINS["float"], "list", "cells"], check=True,
                         capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        names.append(line.split()[0])
    return names


def test_list_cells_names_every_cell():
    names = listed_cells()
    for cell in ["rnn", "irnn", "lstm-peep", "lstm", "lstm-nig", "lstm-nfg", "lstm-nog",
                 "lstm-niaf", "lstm-noaf", "lstm-cifg", "lstm-fgr", "gru", "gru-ra"]:
        assert cell in names


def test_unknown_cell_message_and_status(tmp_path):
    r = subprocess.run([BINS["float"], "trace", "--cell", "lstm-nxg", "-o",
                        str(tmp_path / "f.h5")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "rnnbench: unknown cell 'lstm-nxg' (try: rnnbench list cells)"
    assert not (tmp_path / "f.h5").exists()


@pytest.mark.parametrize("precision", ["float", "double"])
def test_trace_every_cell_loads_in_h5py(tmp_path, precision):
    for cell in listed_cells() + ["lstm-peep+cifg+fgr"]:
        path = tmp_path / f"{cell}.h5"
        subprocess.run([BINS[precision], "trace", "--cell", cell, "--hidden", "5",
                        "--input", "3", "--output", "4", "--steps", "20", "--batch", "3",
                        "--loss", "xent", "--seed", "3", "-o", str(path)], check=True)
        with h5py.File(path, "r") as f:
            assert f.attrs["precision"] == precision
            assert f["x"].shape == (20, 3, 3)
            assert f["y"].shape == (20, 3, 4)
            assert f["mask"].shape == (20, 3)
            assert 0 < f["mask"][:].sum() < 60
            assert np.allclose(f["target"][:].sum(-1), 1.0)  # one-hot rows
            assert np.isfinite(f["loss"][()])
            assert set(f["params"].keys()) == set(f["grads"].keys())
            for name in f["params"]:
                assert f["params"][name].shape == f["grads"][name].shape
            assert np.abs(f["grads/weight_hh"][:]).max() > 0


def test_trace_is_deterministic_in_the_seed(tmp_path):
    def run(seed, name):
        p = tmp_path / name
        subprocess.run([BINS["float"], "trace", "--cell", "lstm", "--seed", str(seed),
                        "-o", str(p)], check=True)
        with h5py.File(p, "r") as f:
            return f["grads/weight_hh"][:], f["x"][:]
    a, b, c = run(7, "a.h5"), run(7, "b.h5"), run(8, "c.h5")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
