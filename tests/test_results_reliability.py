"""Reliability of results files, second pass: what an independent attack found.

Each test names the item of the reliability issue it guards (1: eval_every = 1
overflow; 2: one writer per file; 4: leftover parts; 5: provenance on resume;
6: checksums; 7: a damaged file is rebuilt, not replaced; 10: failed runs are
retried; 11: bounded reading; 12: the smaller items). Tests that need a grid
to be running use ENDLESS (test_harness.py) and wait for events, never for time.
Run: /usr/bin/python3 -m pytest -q tests/test_results_reliability.py
"""
import fcntl
import glob
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from test_harness import (ENDLESS, RNNBENCH, ROOT, SMALL, assert_same_numbers, numbers, run,
                          saved_runs, wait_for, write)

RNNBENCH_DOUBLE = os.environ.get("RNNBENCH_DOUBLE_BIN", os.path.join(ROOT, "bin", "rnnbench-double"))

TINY = """
[experiment]
name = tiny
seed = 4

[grid]
task = adding
delay = 4
cell = rnn, gru
hidden = 4
batch = 2
steps = 20
eval_every = 10
eval_size = 4
seeds = 2
"""


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def one_line_error(r):
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    return r.stderr


# --------------------------------------------------------------------------
# 1. an evaluation per step: the run writer sized a buffer for the steps only

EVERY_STEP = """
[grid]
task = adding
delay = 5
cell = rnn, lstm
hidden = 4
batch = 2
steps = 1, 3
eval_every = 1
eval_size = 4
"""


def test_eval_every_step_writes_every_evaluation_and_resumes(tmp_path):
    exp, out = write(tmp_path, EVERY_STEP), str(tmp_path / "e.h5")
    for _ in range(2):  # the second run is a resume of a finished file
        r = run("run", exp, "-o", out, "--quiet", check=False)
        assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 4
        for rid in f["runs"]:
            g = f["runs"][rid]
            steps = int(g.attrs["steps"])
            assert g["eval/step"][:].tolist() == list(range(steps + 1))
            assert g["train/step"][:].tolist() == list(range(1, steps + 1))


# --------------------------------------------------------------------------
# 2. one writer per results file

def test_second_writer_is_refused_and_names_the_first(tmp_path):
    exp, out = write(tmp_path, SMALL + ENDLESS), str(tmp_path / "busy.h5")
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(saved_runs(out)) >= 1, p, "a saved run")
        before = saved_runs(out)
        r = run("run", exp, "-o", out, "--force", "--quiet", check=False, timeout=300)
        err = one_line_error(r)
        assert r.returncode == 1 and f"pid {p.pid}" in err and "another rnnbench" in err
        assert saved_runs(out) >= before  # nothing of the first writer's was touched
        assert p.poll() is None
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=120)
    assert p.returncode == 130


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    with open(out + ".lock", "w") as f:  # what a process killed with -9 leaves: a file, no lock
        f.write("pid 999999 on elsewhere, since 2026-01-01T00:00:00Z\n")
    run("run", exp, "-o", out, "--quiet")
    assert not os.path.exists(out + ".lock")
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1


def test_lock_held_by_a_live_process_leaves_the_file_alone(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    before = digest(out)
    with open(out + ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write(f"pid {os.getpid()} on here, since now\n")
        holder.flush()
        r = run("run", exp, "-o", out, "--force", "--quiet", check=False)
    assert r.returncode == 1 and f"pid {os.getpid()}" in one_line_error(r)
    assert digest(out) == before


def test_two_writers_at_once_never_corrupt_the_file(tmp_path):
    """Fifty trials of two `run` processes started together on one output: one writes, the
    other is refused or (started after the first finished) finds the grid done; the file is
    always complete and identical, run for run, to a single writer's."""
    exp, ref = write(tmp_path, TINY), str(tmp_path / "ref.h5")
    run("run", exp, "-o", ref, "--quiet")
    want = numbers(ref)
    refused = 0
    for trial in range(50):
        out = str(tmp_path / f"two{trial}.h5")
        procs = [subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "1", "--quiet"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        for p in procs:
            p.stderr.close()
        for code, err in results:
            assert code == 0 or (code == 1 and "being written by another rnnbench" in err), err
        refused += sum(code == 1 for code, _ in results)
        assert any(code == 0 for code, _ in results)
        assert not os.path.exists(out + ".parts") and not os.path.exists(out + ".lock")
        assert_same_numbers(want, numbers(out))
    print(f"{refused} of 50 trials refused the second writer")


# --------------------------------------------------------------------------
# 4. a leftover OUT.parts never blocks a later run

def interrupted_grid(tmp_path, text, out, n_saved=2):
    """Runs text + ENDLESS into out and stops it with SIGINT once n_saved runs are saved."""
    exp = write(tmp_path, text + ENDLESS, "endless.ini")
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(saved_runs(out)) >= n_saved, p, f"{n_saved} saved runs")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    return exp


def test_parts_left_by_a_kill_during_the_final_copy_are_reconciled(tmp_path):
    """kill -9 between the rename of the combined file and the removal of the parts leaves
    a complete file beside parts of the same runs: the next run must not fail on them."""
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000)))
    assert r.returncode == 1 and "not enough room to combine" in r.stderr, r.stderr
    shutil.copytree(out + ".parts", str(tmp_path / "kept"))
    run("run", exp, "-o", out, "--quiet")  # combines them and removes the parts
    complete = numbers(out)
    shutil.copytree(str(tmp_path / "kept"), out + ".parts")  # ...as if the removal was cut short
    os.remove(sorted(glob.glob(out + ".parts/*.h5"))[0])
    r = run("run", exp, "-o", out, check=False)
    assert r.returncode == 0 and "4 of 4 runs finished" in r.stdout, r.stderr
    assert not os.path.exists(out + ".parts")
    assert_same_numbers(complete, numbers(out))


def test_delete_the_file_edit_the_experiment_and_rerun(tmp_path):
    """The everyday workflow: the parts of the old experiment are moved aside, with a message;
    none is deleted, and the new experiment runs."""
    out = str(tmp_path / "x.h5")
    interrupted_grid(tmp_path, TINY, out)
    old_parts = sorted(os.listdir(out + ".parts"))
    os.remove(out)
    exp2 = write(tmp_path, TINY.replace("delay = 4", "delay = 5"), "edited.ini")
    r = run("run", exp2, "-o", out, "--quiet", check=False)
    assert r.returncode == 0, r.stderr
    assert "do not belong to this experiment" in r.stderr
    (stale,) = glob.glob(out + ".parts.stale-*")
    assert sorted(os.listdir(stale)) == old_parts
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and set(f["summary"]["delay"]) == {5}
    assert run("run", exp2, "-o", out, "--quiet", check=False).returncode == 0


def test_resume_keeps_the_parts_of_the_same_experiment(tmp_path):
    """An index deleted by hand is rebuilt from the parts: no saved run is redone."""
    out = str(tmp_path / "x.h5")
    exp = interrupted_grid(tmp_path, TINY, out)
    saved = saved_runs(out)
    os.remove(out)
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    assert f"{len(saved)} of 5 runs already finished" in first, first
    assert saved_runs(out) >= saved


# --------------------------------------------------------------------------
# 5. provenance: another build never resumes a file

def test_another_precision_does_not_resume_a_file(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    before = digest(out)
    r = subprocess.run([RNNBENCH_DOUBLE, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True)
    err = one_line_error(r)
    assert r.returncode == 2 and "precision float (this build: double)" in err and "--force" in err
    assert digest(out) == before
    r = subprocess.run([RNNBENCH_DOUBLE, "run", exp, "-o", out, "--quiet", "--force"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["precision"] == "double"
        assert {f["runs"][rid].attrs["precision"] for rid in f["runs"]} == {"double"}


def test_another_build_does_not_resume_a_running_grid(tmp_path):
    out = str(tmp_path / "x.h5")
    exp = interrupted_grid(tmp_path, TINY, out)
    saved = saved_runs(out)
    r = subprocess.run([RNNBENCH_DOUBLE, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True,
                       timeout=300)  # an endless grid: a build that resumed it would never end
    assert r.returncode == 2 and "precision float (this build: double)" in one_line_error(r)
    assert saved_runs(out) == saved


def seal(obj):
    """The seal rnnbench keeps of an object's variable-length string attributes (h5io.h):
    FNV-1a 64 over name, NUL, value, NUL of each, in name order."""
    h = 0xCBF29CE484222325
    for name in sorted(obj.attrs.keys(), key=lambda k: k.encode()):
        value = obj.attrs[name]
        if name == "strings_fnv1a64" or not isinstance(value, str):
            continue
        for byte in name.encode() + b"\0" + value.encode() + b"\0":
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_seal_matches_the_string_attributes(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        assert int(f.attrs["strings_fnv1a64"]) == seal(f)
        for rid in f["runs"]:
            assert int(f["runs"][rid].attrs["strings_fnv1a64"]) == seal(f["runs"][rid])


def test_changed_string_attribute_is_an_error_in_show(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r+") as f:
        f.attrs["experiment_name"] = "tinY"
    r = run("show", out, check=False)
    assert r.returncode == 2 and "do not match their checksum" in one_line_error(r)


def test_parts_of_another_build_are_refused_then_replaced_with_force(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000)))
    assert r.returncode == 1 and len(saved_runs(out)) == 4, r.stderr  # every run saved, not combined
    os.remove(out)  # the parts alone remain
    r = subprocess.run([RNNBENCH_DOUBLE, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True)
    assert r.returncode == 2 and "precision float (this build: double)" in one_line_error(r)
    assert len(saved_runs(out)) == 4
    r = subprocess.run([RNNBENCH_DOUBLE, "run", exp, "-o", out, "--quiet", "--force"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 4
        assert {f["runs"][rid].attrs["precision"] for rid in f["runs"]} == {"double"}


@pytest.mark.parametrize("attr,value", [("git_commit", "0123456789ab"), ("gemm_backend", "elsewhere"),
                                        ("format_version", 1)])
def test_another_commit_backend_or_format_is_refused(tmp_path, attr, value):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r+") as f:
        ours = f.attrs[attr]
        f.attrs[attr] = value
        f.attrs["strings_fnv1a64"] = np.uint64(seal(f))  # as another build would have sealed it
    r = run("run", exp, "-o", out, "--quiet", check=False)
    err = one_line_error(r)
    assert r.returncode == 2 and f"{attr} {value} (this build: {ours})" in err


# --------------------------------------------------------------------------
# 6. checksums: a flipped bit is an error, never a number

def flip_bit(path, offset, bit=0):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ (1 << bit)]))


def chunk_offset(path, name):
    with h5py.File(path, "r") as f:
        return f[name].id.get_chunk_info(0).byte_offset


def test_every_dataset_is_checksummed(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        assert f["summary"].fletcher32
        seen = []
        f.visititems(lambda name, obj: seen.append((name, obj.fletcher32))
                     if isinstance(obj, h5py.Dataset) and obj.size > 0 else None)
        assert len(seen) > 10 and all(ok for _, ok in seen), [n for n, ok in seen if not ok]


def test_flipped_bit_in_a_curve_is_a_read_error(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        rid = list(f["runs"])[0]
    flip_bit(out, chunk_offset(out, f"runs/{rid}/eval/loss") + 3, 5)
    with h5py.File(out, "r") as f:
        with pytest.raises(OSError):
            f[f"runs/{rid}/eval/loss"][:]


def test_flipped_bit_in_the_summary_is_an_error_in_show(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    flip_bit(out, chunk_offset(out, "summary") + 200, 2)
    r = run("show", out, check=False)
    assert r.returncode == 2 and "summary table is missing or unreadable" in one_line_error(r)


@pytest.mark.serial  # seeded flips: their targets move with the tmp path's length
def test_random_bit_flips_never_change_what_show_prints(tmp_path, monkeypatch):
    """Flip one bit at 300 seeded random places of a finished file's first 8 KB (its metadata:
    superblock, object headers, the summary), where libhdf5 itself can crash: `show` prints
    exactly what it printed before, or fails with one line; never other numbers, never a crash."""
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    want = run("show", out).stdout
    # a flip where libhdf5 loops ends as a timed-out read: 20 s, not show's 120
    monkeypatch.setenv("RNNBENCH_READ_TIMEOUT_S", "20")
    span = min(os.path.getsize(out), 8192)
    rng = np.random.default_rng(13)
    errors = 0
    for k in range(300):
        bad = str(tmp_path / "bad.h5")
        shutil.copy(out, bad)
        offset = int(rng.integers(0, span))
        flip_bit(bad, offset, int(rng.integers(0, 8)))
        r = run("show", bad, check=False, timeout=600)
        assert r.returncode >= 0, f"show died by signal {-r.returncode} on a bit flipped at byte {offset}"
        if r.returncode == 0:
            assert r.stdout == want, f"a bit flipped at byte {offset} changed the table"
        else:
            one_line_error(r)
            errors += 1
    assert errors > 0


@pytest.mark.serial  # seeded flips: their targets move with the tmp path's length
def test_random_bit_flips_never_crash_a_resume(tmp_path, monkeypatch):
    """`run` on a finished file with one bit flipped: it finishes (the file holds its runs,
    rebuilt where needed) or refuses with one line and leaves the file as it was."""
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    monkeypatch.setenv("RNNBENCH_READ_TIMEOUT_S", "20")
    span = min(os.path.getsize(out), 8192)
    rng = np.random.default_rng(29)
    for k in range(40):
        bad = str(tmp_path / f"bad{k}.h5")
        shutil.copy(out, bad)
        flip_bit(bad, int(rng.integers(0, span)), int(rng.integers(0, 8)))
        before = digest(bad)
        r = run("run", exp, "-o", bad, "--quiet", check=False, timeout=600)
        assert r.returncode in (0, 2), (k, r.returncode, r.stderr)
        if r.returncode == 2:
            one_line_error(r)
            assert digest(bad) == before


# --------------------------------------------------------------------------
# 7. a damaged file is rebuilt from what it still holds, never replaced

def test_missing_summary_is_rebuilt_from_the_runs(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    want = numbers(out)
    with h5py.File(out, "r+") as f:
        del f["summary"]
    r = run("run", exp, "-o", out, check=False)
    assert r.returncode == 0, r.stderr
    assert "rebuilt it from the 4 runs" in r.stderr and "resuming" not in r.stderr
    assert_same_numbers(want, numbers(out))
    with h5py.File(out, "r") as f:
        assert len(f["summary"]) == 4


def test_damaged_summary_is_rebuilt_and_no_run_is_redone(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    want = numbers(out)  # wall_s aside: unchanged, so nothing ran again
    with h5py.File(out, "r") as f:
        walls = {rid: f["runs"][rid].attrs["wall_s"] for rid in f["runs"]}
    flip_bit(out, chunk_offset(out, "summary") + 100, 1)
    r = run("run", exp, "-o", out, "--quiet", check=False)
    assert r.returncode == 0 and "rebuilt it from the 4 runs" in r.stderr, r.stderr
    assert_same_numbers(want, numbers(out))
    with h5py.File(out, "r") as f:
        assert {rid: f["runs"][rid].attrs["wall_s"] for rid in f["runs"]} == walls


def test_unreadable_index_is_moved_aside_and_rebuilt_from_the_parts(tmp_path):
    out = str(tmp_path / "x.h5")
    exp = interrupted_grid(tmp_path, TINY, out)
    saved = saved_runs(out)
    with open(out, "r+b") as f:  # truncated: no HDF5 library opens it
        f.truncate(100)
    p = subprocess.Popen([RNNBENCH, "run", exp, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first, second = p.stderr.readline(), p.stderr.readline()
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    assert "could not be read (" in first and "moved it to" in first, first
    assert f"{len(saved)} of 5 runs already finished" in second, second
    assert len(glob.glob(out + ".damaged-*")) == 1


def test_unreadable_file_without_parts_is_not_overwritten(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with open(out, "r+b") as f:
        f.truncate(3000)
    before = digest(out)
    r = run("run", exp, "-o", out, "--quiet", check=False)
    assert r.returncode == 2 and "not overwriting it" in one_line_error(r)
    assert digest(out) == before


# --------------------------------------------------------------------------
# 10. a failed run is recorded as failed and retried

FAILS_UNDER_A_LIMIT = """
[grid]
task = xor
delay = 2
cell = lstm
hidden = 8
batch = 16
; the second run's curves are sized for 10^8 steps (2.8 GB of address space), though it
; stops when solved, a few hundred steps in: under a 1.5 GB limit it cannot start
steps = 300, 100000000
eval_every = 50
eval_size = 64
stop_when_solved = 1
optimizer = adam
lr = 0.01
"""


def test_failed_run_is_counted_as_failed_and_retried(tmp_path):
    exp, out = write(tmp_path, FAILS_UNDER_A_LIMIT), str(tmp_path / "f.h5")
    limit = 1_500_000_000
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert r.returncode == 1 and "out of memory" in r.stderr, r.stderr
    show = run("show", out).stdout
    assert "1 of 2 runs finished" in show and "1 run failed" in show
    r = run("run", exp, "-o", out, check=False)
    assert r.returncode == 0 and "retrying the ones that failed" in r.stderr, r.stderr
    with h5py.File(out, "r") as f:
        assert sorted(f["summary"]["status"]) == [b"done", b"done"]
        assert f.attrs["n_failed"] == 0 and f.attrs["n_finished"] == 2


# --------------------------------------------------------------------------
# 11. reading is bounded by the file, not by what it claims

def test_sparse_summary_of_millions_of_rows_is_refused_in_bounded_memory(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r+") as f:
        dtype = f["summary"].dtype
        del f["summary"]
        f.create_dataset("summary", shape=(2_000_000,), dtype=dtype, chunks=(1024,))  # never written: sparse
    assert os.path.getsize(out) < 1_000_000
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.stderr.write(r.stderr)")
    probe = subprocess.run(["/usr/bin/python3", "-c", code, RNNBENCH, "show", out],
                           capture_output=True, text=True)
    status, peak_kb = map(int, probe.stdout.split())
    assert status == 2 and "summary table" in probe.stderr and probe.stderr.count("\n") == 1
    assert peak_kb < 200_000, f"show used {peak_kb} kB"


# --------------------------------------------------------------------------
# 12. the smaller items

def test_output_path_too_long_is_refused(tmp_path):
    exp = write(tmp_path, TINY)
    out = str(tmp_path / ("d" * 200) / ("d" * 200) / ("d" * 200) / ("d" * 200) / ("x" * 200)) + ".h5"
    r = run("run", exp, "-o", out, "--quiet", check=False)
    assert r.returncode == 2 and "too long" in one_line_error(r)


def test_force_never_overwrites_the_experiment_file(tmp_path):
    exp = write(tmp_path, TINY)
    before = digest(exp)
    r = run("run", exp, "-o", exp, "--force", "--quiet", check=False)
    assert r.returncode == 2 and "experiment file itself" in one_line_error(r)
    other = write(tmp_path, "notes, not results\n", "notes.txt")
    r = run("run", exp, "-o", other, "--force", "--quiet", check=False)
    assert r.returncode == 2 and "not an HDF5 file" in one_line_error(r)
    assert digest(exp) == before and open(other).read() == "notes, not results\n"


def test_small_grid_needs_only_room_for_itself(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    limit = 300_000  # the whole grid's files are far below; 1 MiB was required before
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "--quiet"], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(out) < limit


def test_largest_seed_is_recorded_exactly(tmp_path):
    exp = write(tmp_path, TINY.replace("seed = 4", "seed = 18446744073709551615"))
    out = str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        assert int(f.attrs["experiment_seed"]) == 2**64 - 1
        assert {int(f["runs"][rid].attrs["experiment_seed"]) for rid in f["runs"]} == {2**64 - 1}


def test_thread_count_out_of_range_says_the_range(tmp_path):
    exp = write(tmp_path, TINY)
    r = run("run", exp, "-j", "100000", check=False)
    assert r.returncode == 2 and "from 1 to 4096" in one_line_error(r) and "-j" in r.stderr


def test_show_into_a_full_device_fails(tmp_path):
    exp, out = write(tmp_path, TINY), str(tmp_path / "t.h5")
    run("run", exp, "-o", out, "--quiet")
    with open("/dev/full", "w") as full:
        r = subprocess.run([RNNBENCH, "show", out], stdout=full, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "cannot write to standard output" in r.stderr


def test_many_threads_under_a_memory_limit_say_so(tmp_path):
    exp = write(tmp_path, TINY.replace("seeds = 2", "seeds = 200"))
    out = str(tmp_path / "t.h5")
    limit = 1_000_000_000  # 200 threads' stacks (8 MiB each) do not fit

    def limits():
        resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, 8 << 20))  # the thread stack size
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "-j", "200", "--quiet"], capture_output=True,
                       text=True, preexec_fn=limits)
    assert r.returncode == 0, r.stderr
    assert "could start only" in r.stderr and "running with" in r.stderr


def test_write_errors_with_two_threads_are_one_line_each(tmp_path):
    """A file-size limit hit by two writing threads: the clear message, no HDF5-DIAG dump."""
    exp = write(tmp_path, SMALL.replace("steps = 40", "steps = 400").replace("seeds = 2", "seeds = 6"))
    out = str(tmp_path / "full.h5")
    r = subprocess.run([RNNBENCH, "run", exp, "-o", out, "-j", "2", "--quiet"], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, 120_000)))
    assert r.returncode == 1 and "disk full or not writable" in r.stderr, r.stderr
    assert "HDF5-DIAG" not in r.stderr and len(r.stderr.splitlines()) <= 3, r.stderr
