"""The jsb task from the command line (harness/tasks/jsb.c, docs/tasks.md#jsb).

- `trace --loss bce_sum` (jsb's loss: binary cross-entropy summed over the outputs, mean over the
  masked rows) against PyTorch in float64: loss and every gradient of an LSTM.
- `list tasks` states the marginal baseline; numpy recomputes it from the shipped JSON.
- A short `train` run on jsb records test_loss / test_step; an experiment file resumes it.
- A missing, damaged or malformed data file (through RNNBENCH_DATA_DIR): one line naming the file,
  exit status 2, and no results file.

Run: /usr/bin/python3 -m pytest -q tests/test_jsb.py
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "experiments" / "data" / "jsb-chorales"
BINARIES = {"float": ROOT / "bin" / "rnnbench", "double": ROOT / "bin" / "rnnbench-double"}
TOLERANCE = {"float": 1e-5, "double": 1e-10}


def rnnbench(*args, precision="float", env=None, cwd=None):
    return subprocess.run([str(BINARIES[precision]), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd)


def only_run(path):
    with h5py.File(path, "r") as f:
        (rid,) = f["runs"].keys()
        g = f["runs"][rid]
        return dict(g.attrs), {k: g["eval"][k][()] for k in g["eval"]}


# ---------------------------------------------------------------------------------------------
# the loss against PyTorch

@pytest.mark.parametrize("precision", ["float", "double"])
def test_bce_sum_trace_matches_torch(tmp_path, precision):
    H, X, Y, T, B = 5, 4, 6, 12, 3
    out = tmp_path / "t.h5"
    r = rnnbench("trace", "--cell", "lstm", "--hidden", H, "--input", X, "--output", Y, "--steps", T,
                 "--batch", B, "--loss", "bce_sum", "--seed", 5, "-o", out, precision=precision)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["loss_kind"] in (b"bce_sum", "bce_sum")
        d = {}
        f.visititems(lambda n, o: d.__setitem__(n, np.asarray(o[()], np.float64))
                     if isinstance(o, h5py.Dataset) else None)
    lstm = torch.nn.LSTM(X, H).double()
    readout = torch.nn.Linear(H, Y).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(d["params/weight_ih"]))
        lstm.weight_hh_l0.copy_(torch.tensor(d["params/weight_hh"]))
        lstm.bias_ih_l0.copy_(torch.tensor(d["params/bias"]))
        lstm.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor(d["params/readout.weight"]))
        readout.bias.copy_(torch.tensor(d["params/readout.bias"]))
    x, target, mask = (torch.tensor(d[k]) for k in ("x", "target", "mask"))
    assert set(np.unique(d["target"])) <= {0.0, 1.0}
    h, _ = lstm(x)
    y = readout(h)
    per_row = torch.nn.functional.binary_cross_entropy_with_logits(y, target, reduction="none").sum(-1)
    loss = (mask * per_row).sum() / mask.sum()  # summed over the outputs, mean over scored rows
    loss.backward()
    tol = TOLERANCE[precision]
    assert abs(float(d["loss"]) - loss.item()) <= tol * abs(loss.item())
    ref = {"grads/weight_ih": lstm.weight_ih_l0.grad, "grads/weight_hh": lstm.weight_hh_l0.grad,
           "grads/bias": lstm.bias_ih_l0.grad, "grads/readout.weight": readout.weight.grad,
           "grads/readout.bias": readout.bias.grad}
    for name, want in ref.items():
        want = want.numpy()
        err = np.abs(d[name] - want).max() / np.abs(want).max()
        assert err <= tol, f"{name}: {err:.3g}"


# ---------------------------------------------------------------------------------------------
# the baseline, recomputed from the JSON

def marginal_nll():
    data = json.loads((DATA / "jsb-chorales-quarter.json").read_text())

    def targets(split):
        rows = []
        for seq in data[split]:
            roll = np.zeros((len(seq), 88))
            for t, notes in enumerate(seq):
                roll[t, np.asarray(notes, int) - 21] = 1
            rows.append(roll[1:])
        return np.concatenate(rows)

    train, test = targets("train"), targets("test")
    p = (train.sum(0) + 1) / (len(train) + 2)
    return -(test * np.log(p) + (1 - test) * np.log1p(-p)).sum(1).mean()


def test_list_tasks_states_the_marginal_baseline():
    r = rnnbench("list", "tasks", cwd="/")  # the data is found beside the binary, from anywhere
    assert r.returncode == 0, r.stderr
    (line,) = [l for l in r.stdout.splitlines() if l.startswith("jsb ")]
    fields = line.split()
    assert fields[1] == "bce_sum"
    assert abs(float(fields[2]) - marginal_nll()) < 5e-3  # printed to 4 significant digits (11.09)


# ---------------------------------------------------------------------------------------------
# a run, and its resume

SMALL = ["--task", "jsb", "--cell", "gru", "--hidden", "8", "--batch", "4", "--steps", "30",
         "--eval-every", "10", "--quiet"]


def test_a_short_run_records_the_test_loss_at_the_best_validation(tmp_path):
    r = rnnbench("train", *SMALL, "-o", tmp_path / "a.h5")
    assert r.returncode == 0, r.stderr
    attrs, ev = only_run(tmp_path / "a.h5")
    assert attrs["loss_kind"] in (b"bce_sum", "bce_sum") and attrs["status"] in (b"done", "done")
    best = int(np.argmin(ev["loss"]))
    assert attrs["test_step"] == ev["step"][best]
    assert np.isfinite(attrs["test_loss"]) and attrs["test_loss"] > 0
    assert attrs["best_eval_loss"] == ev["loss"][best]
    # the same run from an experiment file: the same id, and a second `run` resumes it
    ini = tmp_path / "j.ini"
    ini.write_text("[experiment]\nseed = 1\n[grid]\ntask = jsb\ncell = gru\nhidden = 8\nbatch = 4\n"
                   "steps = 30\neval_every = 10\n")
    for _ in range(2):
        r = rnnbench("run", ini, "-o", tmp_path / "b.h5", "--quiet")
        assert r.returncode == 0, r.stderr
    again, _ = only_run(tmp_path / "b.h5")
    assert again["id"] == attrs["id"] and again["test_loss"] == attrs["test_loss"]
    r = rnnbench("show", tmp_path / "b.h5")
    assert r.returncode == 0 and "jsb" in r.stdout, r.stderr


# ---------------------------------------------------------------------------------------------
# a bad data file

def data_dir_with(tmp_path, content):
    folder = tmp_path / "data" / "jsb-chorales"
    folder.mkdir(parents=True)
    if content is not None:
        (folder / "jsb-chorales-quarter.json").write_bytes(content)
    return tmp_path / "data"


GOOD = (DATA / "jsb-chorales-quarter.json").read_bytes()
BAD_FILES = {
    "missing": (None, "No such file or directory"),
    "truncated": (GOOD[:1000], "wrong SHA-256"),
    "one note changed": (GOOD.replace(b"[72, 76, 79, 84]", b"[72, 77, 79, 84]", 1), "wrong SHA-256"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_data_file_is_one_line_naming_it(tmp_path, case):
    content, text = BAD_FILES[case]
    env = dict(os.environ, RNNBENCH_DATA_DIR=str(data_dir_with(tmp_path, content)))
    out = tmp_path / "out.h5"
    r = rnnbench("train", *SMALL, "-o", out, env=env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "jsb-chorales-quarter.json" in lines[0] and text in lines[0], lines[0]
    assert not out.exists()
    # synthetic tasks do not read it
    r = rnnbench("train", "--task", "adding", "--delay", "5", "--hidden", "2", "--batch", "2",
                 "--steps", "2", "--eval-every", "2", "--eval-size", "4", "--quiet", "-o", out, env=env)
    assert r.returncode == 0, r.stderr
