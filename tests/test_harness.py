"""End-to-end checks of the harness: `rnnbench run`, `train` and `show`, and
the HDF5 results they write (read back with h5py, pandas and h5dump).

Covers: grid runs and their summary table, bit-identical results for -j 1 and
-j 2, divergence, resume after a real `kill -9`, config errors (file:line
message, exit 2, no output file), refusing to overwrite another experiment.
Run: /usr/bin/python3 -m pytest -q tests/test_harness.py
"""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.environ.get("RNNBENCH_BIN", os.path.join(ROOT, "bin", "rnnbench"))

SMALL = """
[experiment]
name = small
seed = 11

[grid]
task = adding
delay = 5, 10
cell = rnn, lstm
hidden = 8
batch = 8
steps = 40
eval_every = 10
eval_size = 40
seeds = 2
"""


def write(tmp_path, text, name="exp.ini"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def run(*args, check=True, **kw):
    r = subprocess.run([RNNBENCH, *args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"rnnbench {' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return r


def numbers(path):
    """Every dataset and numeric attribute of every run, except wall time."""
    out = {}
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] == 1
        for rid, g in f["runs"].items():
            out.update(run_numbers(rid, g))
    return out


def run_numbers(rid, group, skip=("wall_s", "peak_rss_bytes")):
    """A run's numeric attributes (but the measurements in skip) and datasets, keyed (rid, name)."""
    out = {(rid, "@" + k): v for k, v in group.attrs.items() if k not in skip}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[(rid, name)] = obj[()]
    group.visititems(visit)
    return out


def assert_same_numbers(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, k
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), k
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y), k
        else:
            assert x == y, k


# A grid that cannot end while a test watches it, however fast the machine:
# one run of 10^7 steps on sequences of 2 000 (over a thousand times the rest
# of the grid) beside the short runs. Runs go longest first, so with -j 2 it
# holds one thread while the other works through the short runs; the tests
# wait for events (a run's file appearing, a line on stderr), never for time.
ENDLESS = """
[grid endless]
task = adding
delay = 2000
cell = rnn
hidden = 2
batch = 1
steps = 10000000
eval_every = 10000000
eval_size = 1
"""


def saved_runs(out):
    """The ids of the runs saved in OUT.parts: the durable record while a grid runs."""
    try:
        names = os.listdir(out + ".parts")
    except FileNotFoundError:
        return set()
    return {n[:-3] for n in names if len(n) == 19 and n.endswith(".h5")}


def wait_for(condition, proc, what, limit=300):
    """Poll condition() while proc runs; proc cannot end first by construction (ENDLESS).
    The limit only turns a hang into a failure; no outcome depends on it."""
    deadline = time.time() + limit
    while not condition():
        assert proc.poll() is None, f"rnnbench exited ({proc.returncode}) before {what}"
        assert time.time() < deadline, f"no {what} within {limit} s"
        time.sleep(0.01)


def part_numbers(out, ids):
    """numbers() of the runs ids, read from their files in OUT.parts."""
    result = {}
    for rid in ids:
        with h5py.File(f"{out}.parts/{rid}.h5", "r") as f:
            result.update(run_numbers(rid, f, ("wall_s", "peak_rss_bytes", "experiment_hash",
                                               "strings_fnv1a64")))
    return result


def numbers_of(path, ids):
    """numbers() of a complete file, limited to the runs ids (without the experiment hash)."""
    return {k: v for k, v in numbers(path).items()
            if k[0] in ids and k[1] not in ("@experiment_hash", "@strings_fnv1a64")}


def test_grid_writes_summary_and_runs(tmp_path):
    exp = write(tmp_path, SMALL)
    out = str(tmp_path / "small.h5")
    r = run("run", exp, "-o", out, "-j", "2", "--quiet")
    assert "adding" in r.stdout and "final_loss" in r.stdout
    with h5py.File(out, "r") as f:
        assert f.attrs["format"] == "rnnbench-results"
        assert f.attrs["n_runs"] == 8 and f.attrs["n_finished"] == 8
        assert "delay = 5, 10" in f.attrs["experiment_text"]
        assert len(f["runs"]) == 8
        df = pd.DataFrame(f["summary"][:])
        assert len(df) == 8
        assert set(df["status"]) == {b"done"}
        assert np.all(np.isclose(df["baseline"], 1 / 6))
        for rid in df["id"]:
            g = f["runs"][rid.decode()]
            assert g["train/loss"].shape == (40,)
            assert g["eval/step"][:].tolist() == [0, 10, 20, 30, 40]
            T = g.attrs["sequence_length"]
            assert g["eval/grad_flow_h"].shape == (5, T)
            cols = g["train/grad_norm_by_tensor"].attrs["columns"].split(",")
            assert "weight_hh" in cols and "readout.weight" in cols
            assert g["train/grad_norm_by_tensor"].shape == (40, len(cols))
            if g.attrs["cell"] == "lstm":
                assert g["eval/gate_mean"].attrs["columns"] == "i,f,z,o"
                assert g["eval/grad_flow_c"].shape == (5, T)
    assert not os.path.exists(out + ".parts")
    dump = subprocess.run(["h5dump", "-H", out], capture_output=True, text=True)
    assert dump.returncode == 0 and "summary" in dump.stdout
    show = run("show", out)
    assert show.stdout.splitlines()[0].startswith("small: 8 of 8 runs finished")


def test_bit_identical_across_thread_counts(tmp_path):
    exp = write(tmp_path, SMALL)
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    run("run", exp, "-o", a, "-j", "1", "--quiet")
    run("run", exp, "-o", b, "-j", "2", "--quiet")
    assert_same_numbers(numbers(a), numbers(b))


def test_divergence_is_recorded_and_grid_goes_on(tmp_path):
    exp = write(tmp_path, SMALL.replace("steps = 40", "steps = 40\noptimizer = sgd\nlr = 1e3, 0.01\nclip = 0"))
    out = str(tmp_path / "d.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        df = pd.DataFrame(f["summary"][:])
        assert len(df) == 16
        fast = df[df["lr"] == 1e3]
        assert (fast["status"] == b"diverged").all()
        assert (df[df["lr"] == 0.01]["status"] == b"done").all()
        for rid in fast["id"]:
            g = f["runs"][rid.decode()]
            assert g.attrs["diverged_step"] >= 1
            assert g["train/loss"].shape == (g.attrs["steps_done"],)


ERRORS = [
    ("[grid]\ntask = adding\nlr = fast\n", 3, "lr: expected a number or a distribution, got 'fast'"),
    ("[grid]\ntask = adding\ncelll = lstm\n", 3, "celll: unknown key"),
    ("[grid]\ncell = lstm-nxg\n", 2, "cell:"),
    ("[grid]\ntask = nosuchtask\n", 2, "task:"),
    ("[grid]\nhidden = -4\n", 2, "hidden:"),
    ("task = adding\n", 1, "task: key outside a section"),
]


@pytest.mark.parametrize("text,line,message", ERRORS)
def test_config_errors_name_file_and_line(tmp_path, text, line, message):
    exp = write(tmp_path, text, "bad.ini")
    out = tmp_path / "bad.h5"
    r = run("run", exp, "-o", str(out), check=False)
    assert r.returncode == 2
    first = r.stderr.strip().splitlines()
    assert len(first) == 1, r.stderr
    assert first[0].startswith(f"{exp}:{line}: "), r.stderr
    assert message in first[0], r.stderr
    assert not out.exists() and not os.path.exists(str(out) + ".parts")


def test_other_experiment_is_not_overwritten(tmp_path):
    out = str(tmp_path / "x.h5")
    run("run", write(tmp_path, SMALL), "-o", out, "--quiet")
    before = open(out, "rb").read()
    other = write(tmp_path, SMALL.replace("hidden = 8", "hidden = 9"), "other.ini")
    r = run("run", other, "-o", out, "--quiet", check=False)
    assert r.returncode == 2
    assert "different experiment" in r.stderr and "--force" in r.stderr
    assert open(out, "rb").read() == before
    run("run", other, "-o", out, "--quiet", "--force")
    with h5py.File(out, "r") as f:
        assert set(pd.DataFrame(f["summary"][:])["hidden"]) == {9}


def test_resume_after_kill_9(tmp_path):
    """kill -9 once three runs are saved; the resumed grid adds the rest, and every
    saved run equals the same run of an uninterrupted grid, bit for bit."""
    text = SMALL.replace("steps = 40", "steps = 400").replace("seeds = 2", "seeds = 3")
    ref_exp = write(tmp_path, text, "ref.ini")
    exp = write(tmp_path, text + ENDLESS)
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "killed.h5")
    run("run", ref_exp, "-o", ref, "-j", "2", "--quiet")
    with h5py.File(ref, "r") as f:
        short = {rid.decode() for rid in f["summary"]["id"]}
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(saved_runs(out)) >= 3, p, "three saved runs")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    saved = saved_runs(out)
    assert 3 <= len(saved) < 12 and saved <= short
    with h5py.File(out, "r") as f:  # the index: a whole file, listing no run that is not saved
        assert f.attrs["complete"] == 0
        listed = {rid.decode() for rid in f["summary"]["id"]}
        assert listed <= saved and len(f["summary"]) == f.attrs["n_finished"]
        for rid in listed:
            assert f["runs"][rid]["train/loss"].shape == (400,)
    assert "incomplete" in run("show", out).stdout
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: saved_runs(out) >= short, p, "every short run saved")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and f"resuming {out}: {len(saved)} of 13 runs already finished" in err, err
    assert_same_numbers(numbers_of(ref, short), part_numbers(out, short))


def test_train_single_run(tmp_path):
    out = str(tmp_path / "t.h5")
    run("train", "--cell", "gru", "--task", "adding", "--delay", "10", "--hidden", "8",
        "--steps", "30", "--eval-every", "10", "--batch", "4", "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        (rid,) = list(f["runs"])
        g = f["runs"][rid]
        assert g.attrs["cell"] == "gru" and g.attrs["steps_done"] == 30
        assert "rnnbench train" in f.attrs["experiment_text"]


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_finished_runs_and_says_how_to_resume(tmp_path, sig, status):
    exp = write(tmp_path, SMALL + ENDLESS)
    out = str(tmp_path / "int.h5")
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(saved_runs(out)) >= 2, p, "two saved runs")
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == status, err
    assert "run the same command again to resume" in err
    saved = saved_runs(out)
    with h5py.File(out, "r") as f:  # stopping writes the index of every saved run
        assert f.attrs["complete"] == 0 and f.attrs["n_finished"] == len(saved) >= 2
        assert {rid.decode() for rid in f["summary"]["id"]} == saved
    # the same command resumes from there (and is stopped the same way)
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()
    assert f"resuming {out}: {len(saved)} of 9 runs already finished" in first, first
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == status, err
    assert len(saved_runs(out)) >= len(saved)


def test_unwritable_output_is_a_clear_error(tmp_path):
    exp = write(tmp_path, SMALL)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = run("run", exp, "-o", str(blocker / "x.h5"), "--quiet", check=False)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "cannot create" in r.stderr and "Not a directory" in r.stderr


def limited_run(exp, out, fsize):
    """rnnbench run under a file-size limit (RLIMIT_FSIZE), a stand-in for a full disk."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([RNNBENCH, "run", exp, "-o", out, "-j", "1", "--quiet"],
                          capture_output=True, text=True, preexec_fn=limit)


LONGER = SMALL.replace("steps = 40", "steps = 400").replace("seeds = 2", "seeds = 6")


def test_no_room_for_a_run_is_a_clear_error_and_resumes(tmp_path):
    exp, out = write(tmp_path, LONGER), str(tmp_path / "full.h5")
    r = limited_run(exp, out, 20_000)  # the index fits, a run's part file (~34 kB) does not
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert "disk full or not writable" in lines[0] and "stopping the grid" in lines[0]
    assert "run the same command again" in lines[-1] and len(lines) == 2
    with h5py.File(out, "r") as f:
        assert f.attrs["n_finished"] == 0 and f.attrs["complete"] == 0
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 24


def test_no_room_to_combine_keeps_every_run(tmp_path):
    exp, out = write(tmp_path, LONGER), str(tmp_path / "full.h5")
    r = limited_run(exp, out, 60_000)  # every part fits, the combined file (~0.8 MB) does not
    assert r.returncode == 1, r.stderr
    assert "not enough room to combine" in r.stderr and r.stderr.count("\n") == 1
    with h5py.File(out, "r") as f:  # the index holds all 24 runs through its links
        assert f.attrs["n_finished"] == 24 and f.attrs["complete"] == 0
        assert all(f["runs"][rid.decode()]["train/loss"].shape == (400,) for rid in f["summary"]["id"])
    r = run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 24
    assert not os.path.exists(out + ".parts")


def test_disk_that_fills_mid_grid(tmp_path):
    """A real small filesystem (tmpfs), where the machine lets us mount one."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the RLIMIT_FSIZE tests cover the error path)")
    try:
        exp, out = write(tmp_path, LONGER), str(mnt / "full.h5")
        r = run("run", exp, "-o", out, "-j", "2", "--quiet", check=False)
        assert r.returncode == 1, r.stderr
        assert "disk full or not writable" in r.stderr
        saved = saved_runs(out)  # the index may lag behind them: there was no room to rewrite it
        assert 0 < len(saved) < 24
        with h5py.File(out, "r") as f:
            assert {rid.decode() for rid in f["summary"]["id"]} <= saved
            for rid in f["summary"]["id"]:
                assert f["runs"][rid.decode()]["train/loss"].shape == (400,)
        for rid in saved:
            with h5py.File(f"{out}.parts/{rid}.h5", "r") as f:
                assert f["train/loss"].shape == (400,)
    finally:
        subprocess.run(["umount", str(mnt)])
