"""Command-line checks of rnnbench's foundation: `list cells` and `trace`, and bad command lines:
every numeric option of `train` and `trace` is range-checked exactly (one line naming the option
and the value, exit 2, no file written), and `trace -o` replaces only a trace rnnbench wrote.

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
        hidden = "8" if cell.startswith("cwrnn") else "5"  # cwrnn's 4 modules divide it
        layers = "2" if cell == "dglstm" else "1"  # a stack by definition
        subprocess.run([BINS[precision], "trace", "--cell", cell, "--hidden", hidden, "--layers", layers,
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
            suffix = "_l1" if layers == "2" else ""  # the top layer's
            assert np.abs(f[f"grads/weight_hh{suffix}"][:]).max() > 0


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
    ("--hidden", "20000", "must be between 1 and 1024"),
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
    assert out.exists()


TRACE_BAD = [
    ("--hidden", "4294967297", "expected an integer from 1 to 1048576"),
    ("--input", "3x", "expected an integer from 1 to 1048576"),
    ("--output", "0", "expected an integer from 1 to 1048576"),
    ("--steps", "99999999999", "expected an integer from 1 to 16777216"),
    ("--batch", " 4", "expected an integer from 1 to 1048576"),
    # the seed is recorded as a signed 64-bit attribute
    ("--seed", "9223372036854775808", "expected an integer from 0 to 9223372036854775807"),
    ("--seed", " -1", "expected an integer >= 0"),
    ("--forget-bias", "1e-400", "'1e-400' is too small"),
    ("--forget-bias", "-1e400", "'-1e400' is too large"),
    ("--loss", "mse\u200b", "expected mse, xent or bce"),
]


@pytest.mark.parametrize("option,value,text", TRACE_BAD, ids=[f"{o}={v!r}" for o, v, _ in TRACE_BAD])
def test_trace_bad_option_value(option, value, text, tmp_path):
    out = tmp_path / "t.h5"
    r = rnnbench("trace", "--cell", "lstm", option, value, "-o", str(out))
    line = one_line(r)
    assert r.returncode == 2, line
    assert line.startswith(f"rnnbench trace: {option}: "), line
    assert shown(value) in line and text in line, line
    assert not out.exists()


def test_trace_too_large_is_refused_before_allocating(tmp_path):
    out = tmp_path / "t.h5"
    r = rnnbench("trace", "--cell", "lstm", "--steps", "16777216", "--batch", "1048576", "--hidden",
                 "1048576", "-o", str(out), timeout=20)
    line = one_line(r)
    assert r.returncode == 2, line
    assert "--steps 16777216" in line and "--batch 1048576" in line and "too large" in line, line
    assert not out.exists()


@pytest.mark.parametrize("args,text", [
    (["train", "--bogus"], "rnnbench train: unknown option '--bogus'"),
    (["train", "--lr"], "rnnbench train: --lr needs a value"),
    (["train", "--cell", "rnn", "-o", "x.h5", "extra"], "rnnbench train: unexpected argument 'extra'"),
    (["train", "--cell", "rnn"], "rnnbench train: -o FILE.h5 is required"),
    (["trace", "--nope"], "rnnbench trace: unknown option '--nope'"),
    (["trace", "-x"], "rnnbench trace: unknown option '-x'"),
    (["trace", "--cell", "lstm", "-o"], "rnnbench trace: -o needs a value"),
    (["trace", "--cell", "lstm"], "rnnbench trace: --cell and -o are required"),
    (["trace", "--cell", "lstm", "-o", "t.h5", "extra"], "rnnbench trace: unexpected argument 'extra'"),
    (["frobnicate\u202e"], "rnnbench: unknown command 'frobnicate<U+202E>'"),
    (["list", "cel\u00a0ls"], "rnnbench list: unknown list 'cel<U+00A0>ls'"),
])
def test_bad_command_line_is_one_line(args, text, tmp_path):
    r = subprocess.run([BINS["float"], *args], capture_output=True, cwd=tmp_path, timeout=60)
    line = one_line(r)
    assert r.returncode == 2 and line.startswith(text), line
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# trace -o: replaces only a trace rnnbench wrote

def write_trace(path, seed="1"):
    return rnnbench("trace", "--cell", "lstm", "--seed", seed, "-o", str(path))


def make_results_file(path):
    r = rnnbench("train", *[x for kv in TRAIN_OK.items() for x in kv], "--quiet", "-o", str(path))
    assert r.returncode == 0, r.stderr


def make_existing(kind, path):
    """Puts something that is not an rnnbench trace at path."""
    if kind == "experiment":
        shutil.copy(os.path.join(ROOT, "experiments", "quickstart.ini"), path)
    elif kind == "results":
        make_results_file(path)
    elif kind == "text":
        path.write_text("notes\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign-hdf5":
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(10)
    elif kind == "trace-with-other-format":
        assert write_trace(path).returncode == 0
        with h5py.File(path, "a") as f:
            f.attrs["format"] = "rnnbench-results"
    elif kind == "cut-trace":
        assert write_trace(path).returncode == 0
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    else:
        raise ValueError(kind)


@pytest.mark.parametrize("kind", ["experiment", "results", "text", "empty", "foreign-hdf5",
                                  "trace-with-other-format", "cut-trace"])
def test_trace_does_not_replace_other_files(kind, tmp_path):
    path = tmp_path / "target"
    make_existing(kind, path)
    before = path.read_bytes()
    r = write_trace(path)
    line = one_line(r)
    assert r.returncode == 2, line
    assert line.startswith(f"rnnbench trace: -o {path}: ") and "not replacing it" in line, line
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["target"], "no temporary file left behind"


def test_trace_does_not_follow_a_link_to_another_file(tmp_path):
    target = tmp_path / "results.h5"
    make_results_file(target)
    before = target.read_bytes()
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    r = write_trace(link)
    assert r.returncode == 2 and "not replacing it" in one_line(r)
    assert target.read_bytes() == before and link.is_symlink()


@pytest.mark.parametrize("name", ["adir", "adir/"])
def test_trace_into_a_directory(name, tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    (d / "keep").write_text("x")
    r = write_trace(str(tmp_path / name))
    line = one_line(r)
    assert r.returncode == 2 and "is a directory" in line, line
    assert os.listdir(d) == ["keep"] and sorted(os.listdir(tmp_path)) == ["adir"]


def test_trace_replaces_a_trace(tmp_path):
    path = tmp_path / "t.h5"
    assert write_trace(path, "1").returncode == 0
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "rnnbench-trace"
        first = f["x"][:]
    r = write_trace(path, "2")
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 2 and not np.array_equal(f["x"][:], first)
    assert os.listdir(tmp_path) == ["t.h5"]


def test_trace_replaces_a_trace_of_an_earlier_version(tmp_path):
    """Traces written before the format attribute existed are recognised by their attributes."""
    path = tmp_path / "t.h5"
    assert write_trace(path, "1").returncode == 0
    with h5py.File(path, "a") as f:
        del f.attrs["format"]
        del f.attrs["format_version"]
    assert write_trace(path, "2").returncode == 0


def test_trace_leaves_a_file_named_like_its_temporary_alone(tmp_path):
    keep = tmp_path / "t.h5.tmp"
    keep.write_text("mine\n")
    assert write_trace(tmp_path / "t.h5").returncode == 0
    assert keep.read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path)) == ["t.h5", "t.h5.tmp"]


def test_trace_into_a_missing_directory(tmp_path):
    r = write_trace(tmp_path / "nodir" / "t.h5")
    line = one_line(r)
    assert r.returncode == 2 and "no directory" in line, line
    assert os.listdir(tmp_path) == []
