"""Stress and fault tests of the grid runner (the hardening issue).

- kill -9 at random moments of a grid, 20 times, resuming each time, while a
  reader polls the file with h5py: the reader never fails to open it, and the
  final file holds the same numbers as an uninterrupted run;
- numerics: a learning rate of 1e3 (every run diverges, the grid finishes),
  T = 10 000 (memory as predicted by the run's cache_bytes), hidden size 1 and
  batch 1, inputs with large magnitudes: no NaN in the summary of a run that
  is not marked diverged.
Run: /usr/bin/python3 -m pytest -q tests/test_stress.py
"""
import os
import random
import signal
import subprocess
import threading
import time

import h5py
import numpy as np
import pytest

from test_harness import RNNBENCH, assert_same_numbers, numbers, run, saved_runs, write

SOAK = """
[experiment]
name = soak
seed = 5

[grid]
task = adding, xor
delay = 8, 16
cell = rnn, lstm-peep, gru-ra
hidden = 8
batch = 8
steps = 1000
eval_every = 250
eval_size = 32
seeds = 4
"""


def test_kill_9_twenty_times_then_resume_equals_uninterrupted(tmp_path):
    exp = write(tmp_path, SOAK)
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "soak.h5")
    run("run", exp, "-o", ref, "-j", "2", "--quiet")
    rng = random.Random(1)
    stop = threading.Event()
    reader = {"opens": 0, "failures": []}

    def poll():
        while not stop.is_set():
            if os.path.exists(out):
                try:
                    with h5py.File(out, "r") as f:
                        len(f["summary"])
                        reader["opens"] += 1
                except Exception as e:  # the file must always open
                    reader["failures"].append(repr(e))
            time.sleep(0.005)

    th = threading.Thread(target=poll)
    th.start()
    kills, partial = 0, 0

    def finished_now():
        """runs saved: the parts while the grid runs (the index follows them
        within seconds), the file itself once it is complete"""
        if os.path.exists(out + ".parts"):
            return len(saved_runs(out))
        try:
            with h5py.File(out, "r") as f:
                return int(f.attrs["n_finished"])
        except (OSError, KeyError):
            return 0
    try:
        for _ in range(20):
            before = finished_now()
            p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # kill at a random moment after this attempt has saved something, so that
            # every kill lands mid-grid however fast or loaded the machine is
            deadline = time.time() + 60
            while p.poll() is None and finished_now() <= before and time.time() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.02))
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                kills += 1
            p.wait()
            n = finished_now()
            partial += 0 < n < 48
    finally:
        stop.set()
        th.join()
    run("run", exp, "-o", out, "-j", "2", "--quiet")
    print(f"{kills} kills, {partial} left a partly finished grid")
    assert kills >= 15, f"only {kills} kills landed while the grid ran"
    assert partial >= 15, f"only {partial} kills left a partly finished grid"
    assert reader["opens"] > 0 and not reader["failures"], reader["failures"][:3]
    assert_same_numbers(numbers(ref), numbers(out))


def summary(path):
    with h5py.File(path, "r") as f:
        return f["summary"][:]


def assert_no_unmarked_nan(rows):
    for row in rows:
        if row["status"] != b"diverged":
            for col in ("final_loss", "loss_over_baseline", "best_eval_loss", "final_accuracy"):
                assert np.isfinite(row[col]), (row["cell"], col, row[col])


def test_huge_learning_rate_diverges_everywhere_and_the_grid_finishes(tmp_path):
    exp = write(tmp_path, """
[grid]
task = adding, copy
delay = 10
cell = rnn, lstm, gru, lstm-noaf
optimizer = sgd
lr = 1e3
clip = 0
hidden = 8
batch = 8
steps = 200
eval_every = 50
eval_size = 32
""")
    out = str(tmp_path / "lr.h5")
    run("run", exp, "-o", out, "--quiet")
    rows = summary(out)
    assert len(rows) == 8
    assert set(rows["status"]) == {b"diverged"}, rows[["cell", "task", "status"]]
    assert_no_unmarked_nan(rows)


def test_long_sequences_use_the_predicted_memory(tmp_path):
    def peak(T):
        out = str(tmp_path / f"T{T}.h5")
        run("train", "--cell", "lstm", "--task", "adding", "--delay", str(T), "--hidden", "16",
            "--batch", "8", "--steps", "3", "--eval-every", "3", "--eval-size", "8", "-o", out,
            "--quiet")
        with h5py.File(out, "r") as f:
            g = next(iter(f["runs"].values()))
            assert g.attrs["status"] == "done" and g.attrs["sequence_length"] == T
            assert np.all(np.isfinite(g["eval/grad_flow_h"][:]))
            return int(g.attrs["peak_rss_bytes"]), int(g.attrs["cache_bytes"])
    rss_small, cache_small = peak(100)
    rss_big, cache_big = peak(10_000)
    grown, predicted = rss_big - rss_small, cache_big - cache_small
    # what grows with T is the activation cache; the data of one batch is small beside it
    assert 0.8 * predicted <= grown <= 1.25 * predicted, (grown, predicted)


def test_tiny_and_extreme_shapes(tmp_path):
    exp = write(tmp_path, """
[grid tiny]
task = adding, copy, recall
delay = 5
cell = rnn, irnn, lstm-peep, lstm+cifg+fgr, gru, gru-ra
hidden = 1
batch = 1
steps = 30
eval_every = 10
eval_size = 4

[grid loud]
task = adding
delay = 20
cell = rnn, lstm-noaf, lstm-peep+niaf+noaf, gru
input_noise = 1e4
hidden = 8
batch = 8
steps = 60
eval_every = 20
eval_size = 16
""")
    out = str(tmp_path / "tiny.h5")
    run("run", exp, "-o", out, "--quiet")
    rows = summary(out)
    assert len(rows) == 18 + 4
    assert set(rows["status"]) <= {b"done", b"diverged"}
    assert_no_unmarked_nan(rows)


def test_sigterm_while_threads_are_inside_gemm(tmp_path):
    """A signal used to land on a training thread inside oneDNN's JIT GEMM and corrupt its heap
    (about one try in two, -j 2): signals are now taken by a thread of their own."""
    exp = write(tmp_path, """
[grid]
task = adding
delay = 50
cell = lstm-peep, gru-ra, lstm
hidden = 17, 33, 65, 129
batch = 16
steps = 3000
eval_every = 1000
eval_size = 32
""")
    rng = random.Random(7)
    for attempt in range(6):
        out = str(tmp_path / f"t{attempt}.h5")
        env = dict(os.environ, MALLOC_CHECK_="3")
        p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(rng.uniform(0.3, 1.5))
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        assert p.returncode in (143, 0), (attempt, p.returncode, err[-300:])
