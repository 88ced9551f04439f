"""`rnnbench run` under mpirun (bin/rnnbench-mpi, built by `make MPI=1 float`): the grid spread
over 3 ranks on this one machine (--oversubscribe: it may have fewer cores) gives the file a
one-process run gives, dataset for dataset and bit for bit; a worker rank that dies mid-grid is
reported and its run re-queued (mpirun --enable-recovery), or, when mpirun ends the job, the
same command resumes it to the same file.

What legitimately differs between two runs of one grid, and is left out of the comparison:
  wall_s          (run attribute and /summary column) the seconds a run took
  peak_rss_bytes  (run attribute) the memory high-water mark of the process that ran it
  start_time      (file attribute) when the grid started
  strings_fnv1a64 (file attribute) the seal over the file's string attributes, start_time among them
Everything else, every other attribute and every dataset's bytes, must be equal.

The worker's death is made by RNNBENCH_MPI_TEST_DIE=RANK:N (the rank kills itself with SIGKILL
when handed its Nth run; rank 0 hands that rank its first N runs before any other): the tests
wait on that event and on rank 0's report, never on a sleep.
Run: /usr/bin/python3 -m pytest -q tests/test_mpi.py
"""
import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
RNNBENCH_MPI = os.path.join(ROOT, "bin", "rnnbench-mpi")
MPIRUN = shutil.which("mpirun")

if not MPIRUN or not os.path.exists(RNNBENCH_MPI):
    pytest.skip("MPI tests skipped: " + ("mpirun is not installed (scripts/install-deps.sh installs openmpi)"
                                         if not MPIRUN else "bin/rnnbench-mpi is missing (make MPI=1 float)"),
                allow_module_level=True)

# 12 runs of two cells and two tasks, a few hundred ms in all
GRID = """
[experiment]
name = mpi-grid
seed = 19

[grid]
task = adding, copy
delay = 5
cell = rnn, lstm, gru
hidden = 6
batch = 4
steps = 30
eval_every = 10
eval_size = 8
seeds = 2
"""
N_RUNS = 12

DIFFERS_ATTRS = {"wall_s", "peak_rss_bytes", "start_time", "strings_fnv1a64"}
DIFFERS_COLUMNS = {"wall_s"}


def mpirun(n, out, ini, env=None, recovery=False, threads=1):
    """`mpirun -np n bin/rnnbench-mpi run ini -o out` with `threads` training threads per rank."""
    cmd = [MPIRUN, "--oversubscribe", "-np", str(n), "-x", f"OMP_NUM_THREADS={threads}",
           # shared memory without cross-process reads (containers often forbid them)
           "--mca", "btl_vader_single_copy_mechanism", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    if recovery:
        cmd.append("--enable-recovery")
    for key in env or {}:
        cmd += ["-x", key]
    cmd += [RNNBENCH_MPI, "run", ini, "-o", out]
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300)


def one_process(tmp_path, ini):
    out = str(tmp_path / "one.h5")
    r = subprocess.run([RNNBENCH, "run", ini, "-o", out, "-j", "1", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def assert_same_file(a_path, b_path):
    """Every group, attribute and dataset of a equals b's, bit for bit, but DIFFERS_*; returns
    the number of datasets compared."""
    counted = [0]

    def same(a, b, path):
        assert sorted(a.attrs) == sorted(b.attrs), f"{path}: attributes differ"
        for key in a.attrs:
            if key in DIFFERS_ATTRS:
                continue
            va, vb = np.asarray(a.attrs[key]), np.asarray(b.attrs[key])
            assert va.dtype == vb.dtype and va.tobytes() == vb.tobytes() if va.dtype != object \
                else np.array_equal(va, vb), f"{path}: attribute {key}: {va!r} != {vb!r}"
        if isinstance(a, h5py.Dataset):
            assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: type or shape differs"
            da, db = a[()], b[()]
            if a.dtype.names:
                for col in a.dtype.names:
                    if col not in DIFFERS_COLUMNS:
                        assert da[col].tobytes() == db[col].tobytes(), f"{path}: column {col} differs"
            else:
                assert np.asarray(da).tobytes() == np.asarray(db).tobytes(), f"{path}: data differs"
            counted[0] += 1
            return
        assert sorted(a) == sorted(b), f"{path}: members differ"
        for key in a:
            same(a[key], b[key], f"{path}/{key}")

    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        assert a.attrs["complete"] == 1 and b.attrs["complete"] == 1
        assert len(a["runs"]) == N_RUNS
        same(a, b, "")
    return counted[0]


@pytest.fixture
def grid(tmp_path):
    ini = tmp_path / "grid.ini"
    ini.write_text(GRID)
    return str(ini)


def runs_received(stderr, ranks=3):
    """The runs rank 0 received from the other ranks (its closing line)."""
    m = re.search(rf"mpi: {ranks} ranks, .*?(\d+) runs from other ranks", stderr)
    assert m, stderr
    return int(m.group(1))


def test_three_ranks_give_the_one_process_file(tmp_path, grid):
    one = one_process(tmp_path, grid)
    out = str(tmp_path / "three.h5")
    r = mpirun(3, out, grid)
    assert r.returncode == 0, r.stdout + r.stderr
    assert runs_received(r.stderr) >= 1  # the other ranks trained, rank 0 wrote their runs
    assert assert_same_file(one, out) > 10 * N_RUNS
    assert not os.path.exists(out + ".parts")


def test_ranks_of_several_threads_give_the_same_file(tmp_path, grid):
    """2 ranks of 3 training threads each (-j 3): several runs in flight per rank, each its own
    request to rank 0."""
    one = one_process(tmp_path, grid)
    out = str(tmp_path / "threads.h5")
    r = mpirun(2, out, grid, threads=3)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"mpi: 2 ranks, 6 training threads", r.stderr), r.stderr
    assert runs_received(r.stderr, ranks=2) >= 1
    assert assert_same_file(one, out) > 10 * N_RUNS


def test_a_worker_that_dies_is_reported_and_its_run_requeued(tmp_path, grid):
    one = one_process(tmp_path, grid)
    out = str(tmp_path / "died.h5")
    # rank 1 finishes its first run, then dies with its second; rank 0 hears nothing from it for 2 s
    env = {"RNNBENCH_MPI_TEST_DIE": "1:2", "RNNBENCH_MPI_TIMEOUT_S": "2"}
    r = mpirun(3, out, grid, env=env, recovery=True)
    assert r.returncode == 0, r.stdout + r.stderr
    died = re.search(r"rank 1: RNNBENCH_MPI_TEST_DIE: killing this rank with run ([0-9a-f]{16}) in flight", r.stderr)
    assert died, r.stderr
    lost = re.search(r"rank 1 \(.*?\) lost: nothing heard from it .*?its runs ([0-9a-f, ]+) go back in the queue", r.stderr)
    assert lost, r.stderr
    assert lost.group(1).strip() == died.group(1)  # the run in flight, and only it: the finished one was kept
    assert f"{N_RUNS}/{N_RUNS} runs done" in r.stderr
    assert assert_same_file(one, out) > 10 * N_RUNS


def test_a_job_ended_by_a_dead_worker_resumes(tmp_path, grid):
    one = one_process(tmp_path, grid)
    out = str(tmp_path / "ended.h5")
    r = mpirun(3, out, grid, env={"RNNBENCH_MPI_TEST_DIE": "1:2"})
    # without --enable-recovery mpirun ends the whole job when a rank dies
    assert r.returncode != 0, r.stdout + r.stderr
    assert "killing this rank" in r.stderr
    # what was written before the job ended (how much depends on when mpirun killed rank 0)
    parts = os.listdir(out + ".parts")
    kept = sum(1 for p in parts if re.fullmatch(r"[0-9a-f]{16}\.h5", p))
    r = mpirun(3, out, grid)
    assert r.returncode == 0, r.stdout + r.stderr
    if kept:  # every run on disk is kept, none is run again
        assert f"resuming {out}: {kept} of {N_RUNS} runs already finished" in r.stderr
    assert runs_received(r.stderr) <= N_RUNS - kept
    assert assert_same_file(one, out) > 10 * N_RUNS


def test_the_sbatch_example_runs_a_grid(tmp_path, grid):
    """scripts/slurm/rnnbench.sbatch, run by bash as sbatch would run it (SLURM_SUBMIT_DIR the
    checkout), on 3 ranks of this machine; and its usage errors."""
    script = os.path.join(ROOT, "scripts", "slurm", "rnnbench.sbatch")
    one = one_process(tmp_path, grid)
    out = str(tmp_path / "sbatch.h5")
    extra = "-np 3 --oversubscribe --mca btl_vader_single_copy_mechanism none"
    if os.geteuid() == 0:
        extra += " --allow-run-as-root"
    env = dict(os.environ, SLURM_SUBMIT_DIR=ROOT, RNNBENCH_MPIRUN_ARGS=extra)
    r = subprocess.run(["bash", script, grid, out], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert assert_same_file(one, out) > 10 * N_RUNS
    r = subprocess.run(["bash", script, grid], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "usage: sbatch" in r.stderr
    r = subprocess.run(["bash", script, str(tmp_path / "none.ini"), out], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "cannot read the experiment file" in r.stderr


def test_a_bad_timeout_is_one_line_and_no_file(tmp_path, grid):
    out = str(tmp_path / "bad.h5")
    r = mpirun(3, out, grid, env={"RNNBENCH_MPI_TIMEOUT_S": "soon"})
    assert r.returncode != 0
    assert r.stderr.count("RNNBENCH_MPI_TIMEOUT_S=soon: expected seconds") == 1, r.stderr
    assert not os.path.exists(out)
