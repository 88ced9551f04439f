"""Command-line checks of rnnbench's foundation: `list cells` and `trace`, and bad command lines:
every numeric option of `train` is range-checked exactly (one line naming the option and the
value, exit 2, no file written).

Run: /usr/bin/python3 -m pytest -q tests/test_cli.py
"""
import os
import re
import shutil
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


# ------------------------------------------------------------------------------------------------
# bad command lines: one line naming the option and the value, exit 2, no file written

# characters that do not show as themselves: a message writes them as <U+XXXX>
HIDDEN = re.compile("[\x00-\x1f\x7f-\xa0\xad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def rnnbench(*args, timeout=120):
    return subprocess.run([BINS["float"], *args], capture_output=True, timeout=timeout)


def one_line(r):
    """The single line on stderr (UTF-8, no hidden characters), after checking for a clean exit."""
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    err = r.stderr.decode("utf-8")
    lines = err.split("\n")
    assert len(lines) == 2 and lines[1] == "", f"expected one line on stderr, got {err!r}"
    assert not HIDDEN.search(lines[0]), f"invisible or control characters in {lines[0]!r}"
    return lines[0]


def shown(value):
    """value as a message shows it: hidden characters as <U+XXXX>."""
    return HIDDEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", value)


# a run of a few milliseconds
TRAIN_OK = {"--cell": "rnn", "--task": "adding", "--delay": "5", "--hidden": "4", "--batch": "4",
            "--steps": "2", "--eval-every": "2", "--eval-size": "8"}

TRAIN_BAD = [
    # (int) of these would be 1 and 8: no silent wrap
    ("--eval-every", "4294967297", "expected an integer from 1 to 2147483647"),
    ("--eval-every", "2147483648", "expected an integer from 1 to 2147483647"),
    ("--hidden", "4294967304", "expected an integer from 1 to 2147483647"),
    ("--delay", "4294967301", "expected an integer from 1 to 2147483647"),
    ("--steps", "9223372036854775808", "expected an integer from 1 to"),
    ("--batch", "0x10", "expected an integer"),
    ("--steps", "1e3", "expected an integer"),
    ("--eval-size", "8 ", "expected an integer"),
    ("--eval-size", " 8", "expected an integer"),
    ("--seed", " -1", "expected an integer from 0 to 18446744073709551615"),
    ("--seed", "-1", "expected an integer from 0 to 18446744073709551615"),
    ("--seed", "18446744073709551616", "expected an integer from 0 to 18446744073709551615"),
    ("--lr", "1e-400", "'1e-400' is too small: below the smallest normal double"),
    ("--lr", "1e400", "'1e400' is too large: above the largest double"),
    ("--lr", "0.01x", "expected a number"),
    ("--lr", "nan", "expected a number"),
    ("--momentum", "-1e-400", "is too small"),
    ("--clip", "1e999", "is too large"),
    ("--init-scale", "1e-310", "is too small"),
    ("--forget-bias", "1e999", "is too large"),
    # the ranges of an experiment file, named by the option
    ("--hidden", "20000", "must be between 1 and 16384"),
    ("--steps", "200000000", "must be between 1 and 100000000"),
    ("--lr", "-0.5", "must be > 0"),
    ("--delay", "1", "needs delay >= 2"),
    ("--eval-size", "1000001", "must be between 1 and 1000000"),
    # names: no silent cut, hidden characters shown
    ("--cell", "l" * 64, "longer than 63 characters"),
    ("--task", "a" * 32, "longer than 31 characters"),
    ("--cell", "lstm\u202e", "unknown cell"),
    ("--lr", "0.1\u00a0", "expected a number"),
]


@pytest.mark.parametrize("option,value,text", TRAIN_BAD, ids=[f"{o}={v!r}"[:40] for o, v, _ in TRAIN_BAD])
def test_train_bad_option_value(option, value, text, tmp_path):
    args = dict(TRAIN_OK, **{option: value})
    out = tmp_path / "out.h5"
    r = rnnbench("train", *[x for kv in args.items() for x in kv], "--quiet", "-o", str(out))
    line = one_line(r)
    assert r.returncode == 2, line
    assert line.startswith(f"rnnbench train: {option}: "), line
    assert shown(value) in line and text in line, line
    assert r.stdout == b""
    assert not out.exists() and not os.path.exists(str(out) + ".parts")


def test_train_good_options(tmp_path):
    out = tmp_path / "ok.h5"
    r = rnnbench("train", *[x for kv in TRAIN_OK.items() for x in kv], "--seed", "18446744073709551615",
                 "--eval-every", "2147483647", "--quiet", "-o", str(out))
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["experiment_seed"] == -1  # 2^64 - 1 as the int64 attribute holds it


@pytest.mark.parametrize("args,text", [
    (["train", "--bogus"], "rnnbench train: unknown option '--bogus'"),
    (["train", "--lr"], "rnnbench train: --lr needs a value"),
    (["train", "--cell", "rnn", "-o", "x.h5", "extra"], "rnnbench train: unexpected argument 'extra'"),
    (["train", "--cell", "rnn"], "rnnbench train: -o FILE.h5 is required"),
    (["frobnicate\u202e"], "rnnbench: unknown command 'frobnicate<U+202E>'"),
    (["list", "cel\u00a0ls"], "rnnbench list: unknown list 'cel<U+00A0>ls'"),
])
def test_bad_command_line_is_one_line(args, text, tmp_path):
    r = subprocess.run([BINS["float"], *args], capture_output=True, cwd=tmp_path, timeout=60)
    line = one_line(r)
    assert r.returncode == 2 and line.startswith(text), line
    assert os.listdir(tmp_path) == []
