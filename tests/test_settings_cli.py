"""The run settings on the command line and in the results file (harness/settings.h): `train`
takes every key of a [grid] section as an option and records the same run, with the same id, as an
experiment file; a mistyped option names the closest one; the attributes of a run group keep their
names and types.

Run: /usr/bin/python3 -m pytest -q tests/test_settings_cli.py
"""
import os
import subprocess

import h5py
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")

# every key of a [grid] section but seeds and trials (experiments/README.md)
GRID_KEYS = ["task", "delay", "n_classes", "form", "n_symbols", "alphabet", "cell", "hidden", "batch",
             "steps", "optimizer", "lr", "momentum", "nesterov", "beta1", "beta2", "adam_eps", "clip",
             "init_scale", "forget_bias", "input_noise", "eval_every", "eval_size", "stop_when_solved",
             "diverge_factor"]

# the attributes of a run group that record its settings, and their kinds (numpy dtype.kind;
# "O" for text); forget_bias is text only for chrono
SETTING_ATTRS = {
    "task": "O", "delay": "i", "n_classes": "i", "form": "i", "n_symbols": "i", "alphabet": "i",
    "cell": "O", "cell_requested": "O", "hidden": "i", "batch": "i", "steps": "i", "optimizer": "O",
    "lr": "f", "momentum": "f", "nesterov": "i", "beta1": "f", "beta2": "f", "adam_eps": "f",
    "clip": "f", "init_scale": "f", "forget_bias": "f", "input_noise": "f", "eval_every": "i",
    "eval_size": "i", "stop_when_solved": "i", "diverge_factor": "f", "experiment_seed": "u",
    "seed_index": "i", "trial": "i", "seed": "O", "id": "O", "section": "O",
}

# a run of a few milliseconds with every setting away from its default
VALUES = {"task": "adding", "delay": "5", "n_classes": "3", "form": "1997", "n_symbols": "4",
          "alphabet": "5", "cell": "lstm+cifg", "hidden": "4", "batch": "3", "steps": "2",
          "optimizer": "sgd", "lr": "0.05", "momentum": "0.5", "nesterov": "1", "beta1": "0.8",
          "beta2": "0.99", "adam_eps": "1e-07", "clip": "0.5", "init_scale": "0.3",
          "forget_bias": "2", "input_noise": "0.01", "eval_every": "2", "eval_size": "8",
          "stop_when_solved": "1", "diverge_factor": "20"}


def rnnbench(*args, cwd=None):
    return subprocess.run([RNNBENCH, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def option(key):
    return "--" + key.replace("_", "-")


def kind(value):
    return "O" if isinstance(value, str) else value.dtype.kind


def only_run(path):
    with h5py.File(path, "r") as f:
        (rid,) = f["runs"].keys()
        return dict(f["runs"][rid].attrs)


def test_help_lists_an_option_for_every_grid_key():
    r = rnnbench("train", "--help")
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.splitlines() if line.startswith("  --")}
    assert {option(k) for k in GRID_KEYS} <= listed


def test_train_records_the_same_run_as_an_experiment_file(tmp_path):
    args = []
    for key, value in VALUES.items():
        if key in ("nesterov", "stop_when_solved"):
            args.append(option(key))  # a flag
        else:
            args += [option(key), value]
    r = rnnbench("train", *args, "--seed", "7", "--quiet", "-o", str(tmp_path / "train.h5"))
    assert r.returncode == 0, r.stderr
    ini = "[experiment]\nseed = 7\n[grid]\n" + "".join(f"{k} = {v}\n" for k, v in VALUES.items())
    (tmp_path / "same.ini").write_text(ini)
    r = rnnbench("run", str(tmp_path / "same.ini"), "-o", str(tmp_path / "run.h5"), "--quiet")
    assert r.returncode == 0, r.stderr
    trained, ran = only_run(tmp_path / "train.h5"), only_run(tmp_path / "run.h5")
    assert trained["id"] == ran["id"] and trained["seed"] == ran["seed"]
    for key in GRID_KEYS:
        assert trained[key] == ran[key], key
    assert trained["form"] == 1997 and trained["beta1"] == 0.8 and trained["diverge_factor"] == 20
    assert trained["input_noise"] == 0.01 and trained["n_classes"] == 3 and trained["nesterov"] == 1


def test_setting_attributes_keep_their_names_and_types(tmp_path):
    r = rnnbench("train", "--cell", "rnn", "--task", "adding", "--delay", "5", "--hidden", "4",
                 "--batch", "4", "--steps", "2", "--eval-every", "2", "--eval-size", "8", "--quiet",
                 "-o", str(tmp_path / "t.h5"))
    assert r.returncode == 0, r.stderr
    attrs = only_run(tmp_path / "t.h5")
    assert {name: kind(attrs[name]) for name in SETTING_ATTRS} == SETTING_ATTRS
    r = rnnbench("train", "--cell", "lstm", "--task", "adding", "--delay", "5", "--hidden", "4",
                 "--batch", "4", "--steps", "2", "--eval-every", "2", "--eval-size", "8",
                 "--forget-bias", "chrono", "--quiet", "-o", str(tmp_path / "c.h5"))
    assert r.returncode == 0, r.stderr
    assert only_run(tmp_path / "c.h5")["forget_bias"] == "chrono"


@pytest.mark.parametrize("args,text", [
    (["--hiden", "8"], "rnnbench train: unknown option '--hiden' (did you mean '--hidden'?)"),
    (["--eval-evry=3"], "rnnbench train: unknown option '--eval-evry=3' (did you mean '--eval-every'?)"),
    (["--sede", "3"], "rnnbench train: unknown option '--sede' (did you mean '--seed'?)"),
    (["--bogus"], "rnnbench train: unknown option '--bogus' (rnnbench train --help lists them)"),
    (["--form", "6a", "--task", "adding", "-o", "x.h5"],
     "rnnbench train: --form: '6a' is a form of the temporal-order task, not of adding"),
    (["--beta2", "1", "-o", "x.h5"], "rnnbench train: --beta2: must be in [0, 1), got 1"),
])
def test_bad_option_is_one_line(args, text, tmp_path):
    r = rnnbench("train", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == text + "\n"
    assert os.listdir(tmp_path) == []
