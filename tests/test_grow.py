"""Issue 17, the harness side: the progress line's running count and rate,
the output's folder made when missing, studies that grow (kept, new and
dropped runs; the experiment text versioned), `run --set` and `rnnbench export`.
Nothing here depends on machine speed: counts of lines are bounded by the
grid's own wall time, and runs are compared by their data, not by timing.
Run: /usr/bin/python3 -m pytest -q tests/test_grow.py
"""
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from test_harness import ENDLESS, RNNBENCH, run, saved_runs, wait_for, write
from test_results_reliability import TINY

PROGRESS = re.compile(r"^rnnbench: (\d+)/(\d+) runs done, (\d+) running, elapsed")


def progress_lines(stderr):
    return [PROGRESS.match(l).groups() for l in stderr.splitlines() if PROGRESS.match(l)]


# --------------------------------------------------------------------------
# progress

@pytest.mark.parametrize("jobs", [1, 2])
def test_running_count_is_the_number_of_workers(tmp_path, jobs):
    """TINY has 4 runs: while they go, `jobs` of them are running; at the end none."""
    exp = write(tmp_path, TINY)
    r = run("run", exp, "-o", str(tmp_path / "t.h5"), "-j", str(jobs))
    lines = progress_lines(r.stderr)  # stderr is a pipe: plain lines
    assert lines, r.stderr
    assert lines[0] == ("0", "4", str(jobs)), r.stderr
    assert lines[-1] == ("4", "4", "0"), r.stderr
    for done, total, running in lines:
        assert int(running) == min(jobs, 4 - int(done)), r.stderr


def test_plain_progress_is_a_few_lines_not_one_per_run(tmp_path):
    """Twelve runs: the first line, the last, and one per 5 s of the grid's own time between."""
    exp = write(tmp_path, TINY.replace("seeds = 2", "seeds = 6"))
    t0 = time.monotonic()
    r = run("run", exp, "-o", str(tmp_path / "t.h5"), "-j", "1")
    wall = time.monotonic() - t0
    n = len(progress_lines(r.stderr))
    assert 2 <= n <= 2 + wall / 5 + 1, r.stderr
    assert "\r" not in r.stderr


# --------------------------------------------------------------------------
# the output's folder

def test_default_results_folder_is_made_in_another_directory(tmp_path):
    exp = write(tmp_path, TINY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("run", exp, "--quiet", cwd=str(elsewhere))
    assert "results: results/tiny.h5" in r.stdout
    with h5py.File(elsewhere / "results" / "tiny.h5", "r") as f:
        assert f.attrs["complete"] == 1


def test_only_the_last_folder_is_made(tmp_path):
    """a mistyped deeper path is an error naming the folder, not a new tree"""
    exp = write(tmp_path, TINY)
    out = tmp_path / "no" / "such" / "t.h5"
    r = run("run", exp, "-o", str(out), "--quiet", check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert f"cannot create the folder '{tmp_path}/no/such'" in r.stderr, r.stderr
    assert not (tmp_path / "no").exists()


# --------------------------------------------------------------------------
# growing studies

TWO = TINY.replace("delay = 4", "delay = 4, 6")
THREE = TINY.replace("delay = 4", "delay = 4, 6, 8")


def run_data(path, where="runs"):
    """Every attribute and dataset of every run under `where`, keyed (id, name): wall_s
    included, so that a run done again (a new wall time) differs from one kept."""
    out = {}
    with h5py.File(path, "r") as f:
        for rid, g in f[where].items():
            out.update({(rid, "@" + k): v for k, v in g.attrs.items()})
            g.visititems(lambda name, obj: out.__setitem__((rid, name), obj[()])
                         if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), k


def ids_of(path, table="summary"):
    with h5py.File(path, "r") as f:
        return {i.decode() for i in f[table]["id"]}


def test_study_grows_from_two_to_three_delays_without_rerunning(tmp_path):
    out = str(tmp_path / "study.h5")
    run("run", write(tmp_path, TWO, "two.ini"), "-o", out, "--quiet")
    before = run_data(out)
    first = ids_of(out)
    r = run("run", write(tmp_path, THREE, "three.ini"), "-o", out, "-j", "1")
    assert f"rnnbench: {out} holds another version of this experiment: kept 8, new 4, dropped 0\n" in r.stderr
    # the progress starts at 8 of 12: only the four new runs ran
    assert progress_lines(r.stderr)[0] == ("8", "12", "1"), r.stderr
    after = run_data(out)
    kept = {k: v for k, v in after.items() if k[0] in first}
    assert_bitwise_equal(before, kept)  # wall_s too: not run again
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 12 and "dropped" not in f
        assert sorted(set(f["summary"]["delay"])) == [4, 6, 8]
        assert f.attrs["experiment_versions"] == 2
        assert f.attrs["experiment_text_1"] == TWO and f.attrs["experiment_text_2"] == THREE
        assert f.attrs["experiment_text"] == THREE
    # run again unchanged: nothing to do, the file as it was
    r = run("run", write(tmp_path, THREE, "three.ini"), "-o", out, "--quiet")
    assert "another version" not in r.stderr
    assert_bitwise_equal(after, run_data(out))


def test_a_shrunk_grid_reports_and_keeps_its_dropped_runs(tmp_path):
    out = str(tmp_path / "study.h5")
    run("run", write(tmp_path, THREE, "three.ini"), "-o", out, "--quiet")
    full = run_data(out)
    with h5py.File(out, "r") as f:
        eight = {i.decode() for i, d in zip(f["summary"]["id"], f["summary"]["delay"]) if d == 8}
    r = run("run", write(tmp_path, TWO, "two.ini"), "-o", out, "--quiet")
    assert "kept 8, new 0, dropped 4 (the dropped runs stay in the file, under /dropped)" in r.stderr, r.stderr
    assert "tiny: 8 of 8 runs finished" in r.stdout
    with h5py.File(out, "r") as f:
        assert len(f["summary"]) == 8 and set(f["summary"]["delay"]) == {4, 6}
        assert len(f["dropped/summary"]) == 4 and set(f["dropped/summary"]["delay"]) == {8}
    assert ids_of(out, "dropped/summary") == eight
    # the dropped runs readable as they were, bit for bit
    assert_bitwise_equal({k: v for k, v in full.items() if k[0] in eight}, run_data(out, "dropped/runs"))
    # growing back takes them from /dropped: nothing runs, every run as it was
    r = run("run", write(tmp_path, THREE, "three.ini"), "-o", out, "--quiet")
    assert "kept 12, new 0, dropped 0" in r.stderr, r.stderr
    assert_bitwise_equal(full, run_data(out))
    with h5py.File(out, "r") as f:
        assert "dropped" not in f and f.attrs["experiment_versions"] == 3


def test_force_starts_a_grown_study_over(tmp_path):
    out = str(tmp_path / "study.h5")
    run("run", write(tmp_path, TWO, "two.ini"), "-o", out, "--quiet")
    before = run_data(out)
    r = run("run", write(tmp_path, TINY, "one.ini"), "-o", out, "--quiet", "--force")
    assert "another version" not in r.stderr
    after = run_data(out)
    with h5py.File(out, "r") as f:
        assert len(f["summary"]) == 4 and "dropped" not in f and f.attrs["experiment_versions"] == 1
    rid = next(iter(ids_of(out)))
    assert before[(rid, "@wall_s")] != after[(rid, "@wall_s")]  # run again


def test_an_interrupted_growth_resumes(tmp_path):
    """kill -9 while the grown grid runs; the same grid resumes (its index names it, its
    first version's runs are in the parts' base.h5); then a third version completes it
    with the first version's runs, the new ones saved, and the dropped ones, as they were."""
    out = str(tmp_path / "study.h5")
    run("run", write(tmp_path, TWO, "two.ini"), "-o", out, "--quiet")
    before = run_data(out)
    first = ids_of(out)
    gru = THREE.replace("cell = rnn, gru", "cell = gru")
    grown = write(tmp_path, gru + ENDLESS, "grown.ini")
    p = subprocess.Popen([RNNBENCH, "run", grown, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(saved_runs(out)) >= 1, p, "a new run saved")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p = subprocess.Popen([RNNBENCH, "run", grown, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # its signal handling is in place once it says what it resumes (the first process may
    # have saved both short runs already, and a SIGINT before that line ends it by default)
    said = []
    for line in p.stderr:
        said.append(line)
        if "resuming" in line:
            break
    wait_for(lambda: len(saved_runs(out)) >= 2, p, "both new short runs saved")
    p.send_signal(signal.SIGINT)
    _, rest = p.communicate(timeout=120)
    err = "".join(said) + rest
    assert p.returncode == 130 and "another version" not in err and "resuming" in err, err
    r = run("run", write(tmp_path, gru, "final.ini"), "-o", out, "--quiet")
    # the endless run never finished: it is neither kept nor dropped
    assert "kept 6, new 0, dropped 4" in r.stderr, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and len(f["summary"]) == 6
        assert set(f["dropped/summary"]["cell"]) == {b"rnn"}
        assert f.attrs["experiment_versions"] == 3
    after = run_data(out)
    assert_bitwise_equal({k: v for k, v in before.items() if k[0] in ids_of(out)},
                         {k: v for k, v in after.items() if k[0] in first})
    assert_bitwise_equal({k: v for k, v in before.items() if k[0] in ids_of(out, "dropped/summary")},
                         run_data(out, "dropped/runs"))


def test_another_precision_does_not_grow_a_study(tmp_path):
    """the build checks apply to a grown study as to a resume: both precisions named"""
    double = os.environ.get("RNNBENCH_DOUBLE_BIN", os.path.join(os.path.dirname(RNNBENCH), "rnnbench-double"))
    out = str(tmp_path / "study.h5")
    run("run", write(tmp_path, TWO, "two.ini"), "-o", out, "--quiet")
    before = open(out, "rb").read()
    r = subprocess.run([double, "run", write(tmp_path, THREE, "three.ini"), "-o", out, "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "precision float (this build: double)" in r.stderr and "--force" in r.stderr, r.stderr
    assert open(out, "rb").read() == before


# --------------------------------------------------------------------------
# run --set

TWO_SECTIONS = TINY + """
[grid wide]
task = adding
delay = 5
cell = lstm
hidden = 3
steps = 20
eval_every = 10
eval_size = 4
"""


def summary_of(path):
    with h5py.File(path, "r") as f:
        return f["summary"][:]


def test_set_is_as_if_written_in_every_grid_section(tmp_path):
    """--set hidden=6 and --set 'delay = 4, 6' give the runs (same ids, same numbers)
    of the file with those lines in each section"""
    written = TWO_SECTIONS.replace("hidden = 4", "hidden = 6").replace("hidden = 3", "hidden = 6")
    written = written.replace("delay = 4", "delay = 4, 6").replace("delay = 5", "delay = 4, 6")
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    run("run", write(tmp_path, written, "written.ini"), "-o", a, "--quiet")
    r = run("run", write(tmp_path, TWO_SECTIONS, "two.ini"), "-o", b, "--quiet",
            "--set", "hidden=6", "--set", "delay = 4, 6")
    sa, sb = summary_of(a), summary_of(b)
    assert set(sb["hidden"]) == {6} and set(sb["delay"]) == {4, 6} and len(sb) == 10
    assert sorted(sa["id"]) == sorted(sb["id"])
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for rid in fa["runs"]:
            assert fa["runs"][rid]["train/loss"][:].tobytes() == fb["runs"][rid]["train/loss"][:].tobytes()
        text = fb.attrs["experiment_text"]
    assert text.startswith(TWO_SECTIONS)
    assert "; rnnbench run --set hidden=6 (in every [grid] section)" in text


def test_set_plan_and_seeds(tmp_path):
    r = run("run", write(tmp_path, TWO_SECTIONS), "--plan", "--set", "seeds=3", "--set", "cell=gru")
    assert "6 runs" in r.stdout and " rnn " not in r.stdout and " lstm " not in r.stdout


@pytest.mark.parametrize("given,message", [
    ("hidden=abc", "--set hidden=abc: hidden: expected an integer, got 'abc'"),
    ("hiden=3", "--set hiden=3: hiden: unknown key (did you mean 'hidden'?)"),
    ("hidden", "--set hidden: expected KEY=VALUE (a [grid] key)"),
    ("=3", "--set =3: expected KEY=VALUE (a [grid] key)"),
    ("delay=4,,6", "--set delay=4,,6: delay: empty item in the list"),
    ("lr=loguniform(1e-3, 1)", "--set lr=loguniform(1e-3, 1): lr: a distribution needs `trials = N`"),
])
def test_set_errors_name_the_option_and_value(tmp_path, given, message):
    out = tmp_path / "x.h5"
    r = run("run", write(tmp_path, TINY), "-o", str(out), "--set", given, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert not out.exists()


# --------------------------------------------------------------------------
# rnnbench export

CURVES = ["train/loss", "train/grad_norm", "eval/loss", "eval/accuracy", "eval/loss_over_baseline"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """a finished file of two cells, shrunk from three delays to two (so it has a /dropped)"""
    tmp = tmp_path_factory.mktemp("export")
    out = str(tmp / "e.h5")
    run("run", write(tmp, THREE.replace("task = adding", "task = adding\ninput_noise = 0.5, 0"),
                     "three.ini"), "-o", out, "--quiet")
    run("run", write(tmp, TWO.replace("task = adding", "task = adding\ninput_noise = 0.5, 0"),
                     "two.ini"), "-o", out, "--quiet")
    return tmp, out


def test_export_summary_round_trip(exported):
    import pandas as pd
    tmp, out = exported
    csv = str(tmp / "summary.csv")
    r = run("export", out, "-o", csv)
    assert r.stdout == "" and r.stderr == ""
    assert run("export", out).stdout == open(csv).read()  # standard output: the same text
    with h5py.File(out, "r") as f:
        table = f["summary"][:]
    strings = [n for n in table.dtype.names if table.dtype[n].kind == "S"]
    df = pd.read_csv(csv, dtype={n: str for n in strings}, keep_default_na=False, na_values=["nan"],
                     float_precision="round_trip")
    assert list(df.columns) == list(table.dtype.names)  # header = the summary's columns
    assert len(df) == len(table) == 16
    for name in table.dtype.names:
        want = table[name]
        got = df[name].to_numpy()
        if name in strings:
            assert list(got) == [s.decode() for s in want], name  # decoded text
        else:
            got = got.astype(want.dtype)
            assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), name
    assert set(df["cell"]) == {"rnn", "gru"} and len(df[df.cell == "gru"]) == 8


def test_export_curves_round_trip(exported):
    import pandas as pd
    tmp, out = exported
    csv = str(tmp / "curves.csv")
    run("export", out, "--curves", "-o", csv)
    df = pd.read_csv(csv, dtype={"id": str, "curve": str}, float_precision="round_trip")
    assert list(df.columns) == ["id", "curve", "step", "value"]
    assert set(df["curve"]) == set(CURVES)
    n_points = 0
    with h5py.File(out, "r") as f:
        assert set(df["id"]) == set(f["runs"])  # the grid's runs, not the dropped ones
        for rid, g in f["runs"].items():
            for curve in CURVES:
                ds = g[curve]
                rows = df[(df.id == rid) & (df.curve == curve)]
                steps = g["train/step" if curve.startswith("train/") else "eval/step"][:]
                assert np.array_equal(rows["step"].to_numpy(), steps.astype(np.int64)), (rid, curve)
                values = rows["value"].to_numpy().astype(ds.dtype)
                assert values.tobytes() == ds[:].tobytes(), (rid, curve)  # bit for bit
                n_points += len(ds)
    assert n_points == len(df)


def test_export_errors_are_one_line(tmp_path, exported):
    _, out = exported
    cut = tmp_path / "cut.h5"
    cut.write_bytes(open(out, "rb").read()[:3000])
    for args, code, text in [((str(cut),), 2, f"rnnbench: {cut}: "),
                             ((str(tmp_path / "none.h5"),), 2, "No such file"),
                             ((out, "--bogus"), 2, "--bogus"),
                             ((out, "-o", str(tmp_path / "no" / "x.csv")), 1, "cannot write")]:
        r = run("export", *args, check=False)
        assert r.returncode == code and r.stderr.count("\n") == 1 and text in r.stderr, (args, r.stderr)
        assert r.stdout == ""


# --------------------------------------------------------------------------
# builds on another GEMM backend

def test_another_backend_builds_beside_the_default_binary():
    """`make BLAS=<not the default>` links bin/rnnbench-<blas>: it never replaces bin/rnnbench
    (read from make's plan, -n: nothing is built)"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    other = "openblas" if os.path.exists("/usr/include/oneapi/dnnl/dnnl.h") else "onednn"
    plan = subprocess.run(["make", "-n", f"BLAS={other}", "float", "double"], cwd=root,
                          capture_output=True, text=True, check=True).stdout
    assert f"bin/rnnbench-{other}.new" in plan and f"bin/rnnbench-double-{other}.new" in plan, plan
    assert not re.search(r"bin/rnnbench(-double)?(\.new)?( |$)", plan, re.M), plan
    default = subprocess.run(["make", "-n", "float"], cwd=root, capture_output=True, text=True,
                             check=True).stdout
    assert f"-{other}" not in default


def test_parts_of_an_earlier_version_are_kept_through_two_interruptions(tmp_path):
    """version A interrupted, grown into B (A's saved runs kept as parts), B interrupted and
    resumed: A's parts are still B's runs (a run is its id, whichever version wrote it)"""
    out = str(tmp_path / "study.h5")
    a = write(tmp_path, TINY + ENDLESS, "a.ini")
    p = subprocess.Popen([RNNBENCH, "run", a, "-o", out, "-j", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(saved_runs(out)) >= 4, p, "A's four short runs saved")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    first = saved_runs(out)
    b = write(tmp_path, TWO + ENDLESS, "b.ini")
    p = subprocess.Popen([RNNBENCH, "run", b, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    assert "kept 4, new 5, dropped 0" in line, line
    wait_for(lambda: len(saved_runs(out)) >= 8, p, "B's four new short runs saved")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    p = subprocess.Popen([RNNBENCH, "run", b, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    assert f"resuming {out}: 8 of 9 runs already finished" in line, line
    assert saved_runs(out) >= first
