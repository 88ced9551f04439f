"""The analysis scripts on damaged results files: one line and exit 2, never a traceback or a crash.

A small real results file is made with bin/rnnbench, then damaged in about 60 seeded, deterministic
ways: truncated at several offsets, single bits flipped and bytes overwritten at many positions,
and edited with h5py (a summary declaring 2 million rows, missing datasets, runs and attributes,
wrong dtypes and shapes, a run linked to a missing or truncated parts file). On each variant,
compare.py, plot.py all (into a fresh directory) and rnnbench_results.py describe must exit 0 or 2
(never by a signal, never 1 from a traceback), print no traceback, and on a failure print exactly
one line on stderr that names the file. A flip or overwrite that leaves every attribute and value
of the file as h5py reads it unchanged (one in unused bytes) gives plot.py the very data of the
good file, whose plots test_the_good_file_is_read draws: plot.py is not run on those again (its
four figures take seconds; the other variants take milliseconds).

The scripts run as forked copies of a helper interpreter that has already imported numpy, pandas,
scipy, matplotlib and h5py (`serve_forks`): each fork runs the script as `python3 SCRIPT ARGS`
would, with its own stdout, stderr and exit status, for a few milliseconds instead of the second a
fresh interpreter takes (the variants need about 200 runs). A few real interpreters check the
entry points themselves.

With checksums (format_version 2: every dataset chunked with Fletcher-32, HDF5 1.8 metadata with
checksums), a flipped bit in a dataset's stored bytes must be reported, never read as data; the
test runs on a copy rewritten that way with h5py, and on the C writer's own file once it writes
format_version 2 (skipped before).

Run: /usr/bin/python3 -m pytest -q tests/test_py_damaged.py
"""
import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback

import h5py
import numpy as np
import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
SCRIPTS = os.path.join(ROOT, "scripts")
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TOOL_TIMEOUT_S = 120  # a script that takes longer on a 100 KB file hangs

# one task and delay, two cells, two seeds: plot.py all draws four figures from it
GRID = """[experiment]
name = damaged
seed = 7

[grid]
task = adding
delay = 5
cell = lstm-peep, rnn
hidden = 4
batch = 4
steps = 20
eval_every = 10
eval_size = 8
seeds = 2
"""
HUGE_ROWS = 2_000_000  # 768 MB of summary rows declared in a file of about 60 KB
MAX_RSS_KIB = 400_000  # a script refusing that summary stays far below its 768 MB


# ------------------------------------------------------------------------------------------------
# running the scripts: forks of a warmed-up interpreter

def serve_forks():
    """Helper interpreter: for each JSON line [script, args, stdout path, stderr path] on stdin,
    fork, run the script as `python3 script args` would, and answer a JSON line
    [status, max RSS in KiB]: status is the exit code, -N for signal N, None after a timeout."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (imported once here, inherited by every fork)
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401
    sys.path.insert(0, SCRIPTS)
    for line in sys.stdin:
        script, args, out_path, err_path = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            run_as_main(script, args, out_path, err_path)
        print(json.dumps(wait_with_timeout(pid, TOOL_TIMEOUT_S)), flush=True)


def run_as_main(script, args, out_path, err_path):
    """In a fork: run `script` as __main__ with stdout and stderr into files; never returns."""
    code = 1
    try:
        for fd, path in ((1, out_path), (2, err_path)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(script)
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def exit_code(exc):
    """The exit status the interpreter gives a SystemExit."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def wait_with_timeout(pid, timeout):
    """Return [status, max RSS in KiB] of the child pid; kill it after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return [os.waitstatus_to_exitcode(status), usage.ru_maxrss]
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            return [None, 0]
        time.sleep(0.002)


class Outcome:
    """What one script run left: exit status, stdout, stderr and peak memory."""

    def __init__(self, status, stdout, stderr, max_rss_kib):
        self.status, self.stdout, self.stderr = status, stdout, stderr
        self.max_rss_kib = max_rss_kib


class Tools:
    """Runs scripts through the helper interpreter of serve_forks."""

    def __init__(self, workdir):
        self.workdir = workdir
        boot = (f"import sys; sys.path.insert(0, {TESTS!r}); "
                f"import test_py_damaged; test_py_damaged.serve_forks()")
        self.proc = subprocess.Popen([PYTHON, "-c", boot], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=workdir)

    def run(self, script, *args):
        """Run scripts/<script> (or a script by path) with args; return an Outcome."""
        path = script if os.path.isabs(script) else os.path.join(SCRIPTS, script)
        out, err = os.path.join(self.workdir, "stdout"), os.path.join(self.workdir, "stderr")
        self.proc.stdin.write(json.dumps([path, [str(a) for a in args], out, err]) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the helper interpreter died"
        status, max_rss = json.loads(reply)
        with open(out, errors="replace") as f_out, open(err, errors="replace") as f_err:
            return Outcome(status, f_out.read(), f_err.read(), max_rss)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    runner = Tools(str(tmp_path_factory.mktemp("tools")))
    yield runner
    runner.close()


def check_clean_outcome(outcome, prog, path, what):
    """Exit 0, or exit 2 with exactly one line on stderr naming the file; never a traceback."""
    where = f"{prog} on {what}"
    assert outcome.status is not None, f"{where}: still running after {TOOL_TIMEOUT_S} s"
    assert outcome.status >= 0, f"{where}: killed by signal {-outcome.status}"
    assert "Traceback" not in outcome.stderr, f"{where}:\n{outcome.stderr[-3000:]}"
    assert outcome.status in (0, 2), f"{where}: exit {outcome.status}: {outcome.stderr!r}"
    if outcome.status == 2:
        assert outcome.stderr.count("\n") == 1 and outcome.stderr.endswith("\n"), \
            f"{where}: not one line on stderr: {outcome.stderr!r}"
        assert outcome.stderr.startswith(f"{prog}: {path}: "), f"{where}: {outcome.stderr!r}"


def run_every_tool(tools, path, outdir, what, plot=True):
    """compare.py, plot.py all (unless not plot) and rnnbench_results.py describe on path; each
    must be clean."""
    runs = [("compare.py", [path]), ("rnnbench_results.py", ["describe", path])]
    if plot:
        runs.append(("plot.py", [path, "all", "-o", outdir]))
    for prog, args in runs:
        check_clean_outcome(tools.run(prog, *args), prog, path, what)


# every attribute and value of a file as h5py reads it, hashed (run in a fork: it may crash)
CONTENT_SCRIPT = """import hashlib, sys
import h5py, numpy as np

def encoded(value):
    a = np.asarray(value)
    if a.dtype.kind == "O":
        return repr(a.tolist()).encode()
    return a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()

def add(name, obj):
    digest.update(name.encode())
    for key in sorted(obj.attrs):
        digest.update(key.encode() + encoded(obj.attrs[key]))
    if isinstance(obj, h5py.Dataset):
        if obj.size * obj.dtype.itemsize > 10 ** 7:
            sys.exit("too big to compare")
        digest.update(encoded(obj[()]))

digest = hashlib.sha256()
with h5py.File(sys.argv[1], "r") as f:
    add("/", f)
    f.visititems(add)
print(digest.hexdigest())
"""


@pytest.fixture(scope="module")
def content_of(tools, tmp_path_factory):
    """Return a function: path -> hash of its whole content, or None if h5py cannot read it."""
    script = tmp_path_factory.mktemp("content") / "content.py"
    script.write_text(CONTENT_SCRIPT)

    def content(path):
        outcome = tools.run(str(script), path)
        return outcome.stdout if outcome.status == 0 else None
    return content


@pytest.fixture(scope="module")
def good_content(good_file, content_of):
    return content_of(good_file)


# ------------------------------------------------------------------------------------------------
# the good file and its damaged variants

@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    """Path of a real results file of a 4-run grid (and its bytes are never changed)."""
    if not os.access(RNNBENCH, os.X_OK):
        pytest.skip("bin/rnnbench not built (make)")
    d = tmp_path_factory.mktemp("good")
    (d / "grid.ini").write_text(GRID)
    path = d / "good.h5"
    subprocess.run([RNNBENCH, "run", str(d / "grid.ini"), "-o", str(path), "--quiet"],
                   check=True, capture_output=True)
    return str(path)


def first_run(f):
    """The group of the first run in the summary."""
    return f["runs"][f["summary"]["id"][0].decode()]


def replace(group, name, data):
    """Replace group[name] by a new dataset holding data."""
    del group[name]
    group[name] = data


def summary_with_field(f, name, new_type, convert):
    """Rewrite the summary with column `name` of type new_type (values convert(old values))."""
    table = f["summary"][()]
    fields = [(n, new_type if n == name else table.dtype[n]) for n in table.dtype.names]
    rewritten = np.zeros(table.shape, dtype=fields)
    for n in table.dtype.names:
        rewritten[n] = convert(table[n]) if n == name else table[n]
    replace(f, "summary", rewritten)


def huge_summary(f):
    """A summary declaring HUGE_ROWS rows, none of them stored (chunks never written)."""
    dtype = f["summary"].dtype
    del f["summary"]
    f.create_dataset("summary", shape=(HUGE_ROWS,), dtype=dtype, chunks=(1024,))


def huge_curve(f):
    run = first_run(f)
    del run["train/loss"]
    run.create_dataset("train/loss", shape=(10 ** 9,), dtype="f4", chunks=(4096,))


def link_to_missing_part(f):
    run_id = f["summary"]["id"][0].decode()
    del f["runs"][run_id]
    f["runs"][run_id] = h5py.ExternalLink("nowhere.h5.parts/gone.h5", "/")


def link_to_truncated_part(f):
    """runs/<id> an external link into a copy of the file cut in half (a damaged parts file)."""
    run_id = f["summary"]["id"][0].decode()
    part = f.filename + ".part.h5"
    with open(f.filename, "rb") as src:
        data = src.read()
    with open(part, "wb") as dst:
        dst.write(data[:len(data) // 2])
    del f["runs"][run_id]
    f["runs"][run_id] = h5py.ExternalLink(os.path.basename(part), f"/runs/{run_id}")


EDITS = {
    "no-summary": lambda f: f.__delitem__("summary"),
    "summary-of-ints": lambda f: replace(f, "summary", np.arange(5)),
    "summary-is-group": lambda f: (f.__delitem__("summary"), f.create_group("summary")),
    "summary-2d": lambda f: replace(f, "summary", f["summary"][()].reshape(2, -1)),
    "summary-scalar": lambda f: replace(f, "summary", f["summary"][()][0]),
    "summary-huge": huge_summary,
    "final-loss-as-text": lambda f: summary_with_field(f, "final_loss", "S8",
                                                       lambda v: v.astype("S8")),
    "status-as-float": lambda f: summary_with_field(f, "status", "<f8",
                                                    lambda v: np.zeros(len(v))),
    "delay-as-subarray": lambda f: summary_with_field(f, "delay", ("<i4", (2,)),
                                                      lambda v: np.stack([v, v], axis=1)),
    "no-format": lambda f: f.attrs.__delitem__("format"),
    "format-version-text": lambda f: f.attrs.__setitem__("format_version", "1"),
    "format-version-3": lambda f: f.attrs.__setitem__("format_version", 3),
    "format-array": lambda f: f.attrs.__setitem__("format", ["rnnbench-results"] * 4000),
    "experiment-name-array": lambda f: f.attrs.__setitem__("experiment_name", np.arange(8000)),
    "no-runs": lambda f: f.__delitem__("runs"),
    "runs-is-dataset": lambda f: replace(f, "runs", np.arange(3)),
    "run-missing": lambda f: f["runs"].__delitem__(f["summary"]["id"][0].decode()),
    "run-is-dataset": lambda f: replace(f["runs"], f["summary"]["id"][0].decode(), np.arange(3)),
    "train-loss-missing": lambda f: first_run(f).__delitem__("train/loss"),
    "train-loss-as-text": lambda f: replace(first_run(f), "train/loss", np.array([b"x"] * 20)),
    "train-step-2d": lambda f: replace(first_run(f), "train/step", np.ones((20, 3))),
    "train-loss-huge": huge_curve,
    "eval-step-longer": lambda f: replace(first_run(f), "eval/step", np.arange(50)),
    "gate-mean-1d": lambda f: replace(first_run(f), "eval/gate_mean", np.ones(3, "f4")),
    "gate-columns-array": lambda f: first_run(f)["eval/gate_mean"].attrs.__setitem__(
        "columns", np.arange(5000)),
    "run-cell-array": lambda f: first_run(f).attrs.__setitem__("cell", np.arange(6000)),
    "run-linked-to-missing-part": link_to_missing_part,
    "run-linked-to-truncated-part": link_to_truncated_part,
}

# positions as fractions of the file size, so that the list is known before the file is made
CUTS = [8, 512, 0.25, 0.5, 0.75, -1]  # bytes kept (below 1: a fraction of the size; -1: all but 1)
FLIPS = [(float(x), int(b)) for x, b in zip(np.random.default_rng(1).random(16),
                                            np.random.default_rng(2).integers(0, 8, 16))]
OVERWRITES = [(float(x), int(n)) for x, n in zip(np.random.default_rng(3).random(10),
                                                 np.random.default_rng(4).integers(1, 64, 10))]

VARIANTS = ([f"cut-{c}" for c in CUTS] + [f"flip-{i}" for i in range(len(FLIPS))]
            + [f"overwrite-{i}" for i in range(len(OVERWRITES))] + sorted(EDITS))


def bytes_kept(cut, size):
    """The length of a file of `size` bytes cut as CUTS says."""
    if cut == -1:
        return size - 1
    return int(cut * size) if cut < 1 else int(cut)


def damaged_bytes(name, good):
    """The bytes of the variant `name` made by cutting, flipping or overwriting `good`."""
    data = bytearray(good)
    kind, _, arg = name.partition("-")
    if kind == "cut":
        return bytes(data[:bytes_kept(float(arg), len(data))])
    if kind == "flip":
        fraction, bit = FLIPS[int(arg)]
        data[int(fraction * len(data))] ^= 1 << bit
        return bytes(data)
    fraction, count = OVERWRITES[int(arg)]
    start = int(fraction * len(data))
    noise = np.random.default_rng(100 + int(arg)).integers(0, 256, count, dtype=np.uint8)
    data[start:start + count] = noise.tobytes()[:len(data) - start]
    return bytes(data)


def make_variant(name, good_path, path):
    """Write the damaged variant `name` of the good file to path."""
    with open(good_path, "rb") as f:
        good = f.read()
    if name in EDITS:
        with open(path, "wb") as f:
            f.write(good)
        with h5py.File(path, "a") as f:
            EDITS[name](f)
    else:
        with open(path, "wb") as f:
            f.write(damaged_bytes(name, good))


@pytest.mark.parametrize("name", VARIANTS)
def test_damaged_file(name, good_file, good_content, tools, content_of, tmp_path):
    path = str(tmp_path / f"{name}.h5")
    make_variant(name, good_file, path)
    same_as_good = name not in EDITS and content_of(path) == good_content
    run_every_tool(tools, path, str(tmp_path / "plots"), name, plot=not same_as_good)


def test_the_good_file_is_read(good_file, tools, tmp_path):
    """The undamaged file: every script exits 0 (so the variants test damage, not the setup)."""
    for prog, args in (("compare.py", [good_file]),
                       ("plot.py", [good_file, "all", "-o", tmp_path / "plots"]),
                       ("rnnbench_results.py", ["describe", good_file])):
        outcome = tools.run(prog, *args)
        assert outcome.status == 0 and outcome.stderr == "", (prog, outcome.stderr)
    # every kind `all` draws for this grid (no run solved, so no `solved` figure)
    assert sorted(os.listdir(tmp_path / "plots")) == [
        "accuracy-adding.png", "box-adding.png", "curves-adding.png", "flow-adding.png",
        "gates-adding-5.png", "gradflow-adding-5.png"]


def test_huge_summary_is_refused_without_allocating_it(good_file, tools, tmp_path):
    path = str(tmp_path / "huge.h5")
    make_variant("summary-huge", good_file, path)
    for prog, args in (("compare.py", [path]), ("rnnbench_results.py", ["describe", path])):
        outcome = tools.run(prog, *args)
        check_clean_outcome(outcome, prog, path, "summary-huge")
        assert outcome.status == 2 and "summary" in outcome.stderr, outcome.stderr
        assert f"{HUGE_ROWS} rows" in outcome.stderr, outcome.stderr
        assert outcome.max_rss_kib < MAX_RSS_KIB, f"{prog} peaked at {outcome.max_rss_kib} KiB"


def test_crashing_reader_becomes_one_line(good_file, tools, tmp_path):
    """Whatever kills the HDF5 reader by a signal is one line (the library crashed), exit 2."""
    script = tmp_path / "crash_reader.py"
    script.write_text(f"import os, signal, sys\nsys.path.insert(0, {SCRIPTS!r})\n"
                      f"import rnnbench_results as rr\n"
                      f"rr._open_hdf5 = lambda path: os.kill(os.getpid(), signal.SIGSEGV)\n"
                      f"try:\n    rr.open_results({str(good_file)!r})\n"
                      f"except rr.ResultsError as exc:\n    print(exc, file=sys.stderr)\n"
                      f"    sys.exit(2)\n")
    outcome = tools.run(str(script))
    assert outcome.status == 2, (outcome.status, outcome.stderr)
    assert outcome.stderr == (f"{good_file}: damaged HDF5 file (the HDF5 library crashed "
                              f"reading it)\n")


def test_hanging_reader_is_stopped(good_file, tools, tmp_path):
    """A reader that stops answering (HDF5 looping on a damaged file) is ended after
    READ_TIMEOUT_S, with one line."""
    script = tmp_path / "hang_reader.py"
    script.write_text(f"import sys, time\nsys.path.insert(0, {SCRIPTS!r})\n"
                      f"import rnnbench_results as rr\n"
                      f"rr.READ_TIMEOUT_S = 0.5\n"
                      f"rr._open_hdf5 = lambda path: time.sleep(60)\n"
                      f"try:\n    rr.open_results({str(good_file)!r})\n"
                      f"except rr.ResultsError as exc:\n    print(exc, file=sys.stderr)\n"
                      f"    sys.exit(2)\n")
    started = time.monotonic()
    outcome = tools.run(str(script))
    assert time.monotonic() - started < 30
    assert outcome.status == 2, (outcome.status, outcome.stderr)
    assert outcome.stderr == (f"{good_file}: no answer from the HDF5 library after 0.5 s "
                              f"reading it (is the file damaged?)\n")


def test_real_interpreters(good_file, tmp_path):
    """The entry points themselves, in fresh interpreters, on a truncated file: exit 2 and one
    line."""
    path = str(tmp_path / "cut.h5")
    make_variant("cut-0.5", good_file, path)
    for prog, args in (("compare.py", [path]), ("rnnbench_results.py", ["describe", path]),
                       ("plot.py", [path, "curves", "-o", tmp_path / "x.png"])):
        done = subprocess.run([PYTHON, os.path.join(SCRIPTS, prog), *map(str, args)],
                              capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
        assert done.returncode == 2, (prog, done.stderr)
        assert done.stderr.startswith(f"{prog}: {path}: ") and done.stderr.count("\n") == 1


# ------------------------------------------------------------------------------------------------
# checksums: a flipped data bit is reported, never read

DIGEST_SCRIPT = """import hashlib, sys
sys.path.insert(0, {scripts!r})
import numpy as np
import rnnbench_results as rr

def add(h, value):
    if isinstance(value, np.ndarray):
        h.update(f"{{value.dtype.str}}{{value.shape}}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())

try:
    h = hashlib.sha256()
    with rr.open_results(sys.argv[1]) as res:
        add(h, sorted(res.attrs.items()))
        add(h, res.summary.to_csv())
        for run_id in res.summary.id:
            run = res.run(run_id)
            add(h, sorted(run.attrs.items()))
            for name in run.datasets:
                add(h, name)
                add(h, run[name])
    print(h.hexdigest())
except rr.ResultsError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


def fixed_length(attrs):
    """The attributes with text as fixed-length strings: stored in the object header, which HDF5
    1.8 checksums (variable-length strings live in a global heap, which has no checksum)."""
    return {k: np.bytes_(v.encode()) if isinstance(v, str) else v for k, v in attrs.items()}


def rewrite_with_checksums(src, dst):
    """Copy the results file src to dst as format_version 2: HDF5 1.8 metadata (checksummed),
    every dataset chunked with Fletcher-32 (and gzip, as the C writer compresses curves), text
    attributes of fixed length."""
    def unsealed(attrs):
        # fixed-length text sits in the checksummed object header: no seal over it (and the C
        # writer's seal covers variable-length text only)
        return {k: v for k, v in fixed_length(attrs).items() if k != "strings_fnv1a64"}

    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            out.require_group(name).attrs.update(unsealed(obj.attrs))
            return
        data = obj[()]
        dataset = out.create_dataset(name, data=data, chunks=True, fletcher32=True,
                                     maxshape=(None,) * data.ndim,
                                     compression=None if name == "summary" else "gzip")
        dataset.attrs.update(unsealed(obj.attrs))

    with h5py.File(src, "r") as f, h5py.File(dst, "w", libver="v108") as out:
        out.attrs.update(unsealed(f.attrs))
        out.attrs["format_version"] = 2
        f.visititems(copy)


def in_global_heap(data, position):
    """True if byte `position` lies in a global heap collection ("GCOL", its size at +8), where
    HDF5 keeps variable-length strings without a checksum."""
    start = data.find(b"GCOL")
    while start != -1:
        size = int.from_bytes(data[start + 8:start + 16], "little")
        if start <= position < start + size:
            return True
        start = data.find(b"GCOL", start + 1)
    return False


def stored_extents(path):
    """[(dataset path, byte offset, size)] of every stored chunk of every dataset in the file."""
    extents = []

    def collect(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.chunks is None:
            offset = obj.id.get_offset()
            if offset is not None:
                extents.append((f"/{name}", offset, obj.id.get_storage_size()))
            return
        for i in range(obj.id.get_num_chunks()):
            info = obj.id.get_chunk_info(i)
            extents.append((f"/{name}", info.byte_offset, info.size))

    with h5py.File(path, "r") as f:
        f.visititems(collect)
    return extents


def format_version(path):
    with h5py.File(path, "r") as f:
        return int(f.attrs.get("format_version", 0))


@pytest.fixture(params=["rnnbench", "h5py-copy"])
def checksummed_file(request, good_file, tmp_path):
    """The C writer's file (skipped until it writes checksums) or an h5py copy with them."""
    if request.param == "rnnbench":
        if format_version(good_file) < 2:
            pytest.skip("bin/rnnbench writes format_version 1 (no checksums): a flipped data "
                        "bit cannot be told from data until it writes format_version 2")
        return good_file
    path = str(tmp_path / "checksummed.h5")
    rewrite_with_checksums(good_file, path)
    return path


def test_flipped_data_bit_is_never_read_as_data(checksummed_file, tools, tmp_path):
    script = tmp_path / "digest.py"
    script.write_text(DIGEST_SCRIPT.format(scripts=SCRIPTS))
    clean = tools.run(str(script), checksummed_file)
    assert clean.status == 0, clean.stderr
    with open(checksummed_file, "rb") as f:
        good = f.read()
    path = str(tmp_path / "flipped.h5")
    extents = stored_extents(checksummed_file)
    assert len(extents) > 20, extents
    for dataset, offset, size in extents[::max(1, len(extents) // 20)]:
        data = bytearray(good)
        data[offset + size // 2] ^= 0x10
        with open(path, "wb") as f:
            f.write(data)
        outcome = tools.run(str(script), path)
        assert outcome.status == 2, f"flip in {dataset} read as data: {outcome.stderr!r}"
        line = outcome.stderr
        assert line.startswith(f"{path}: {dataset}: ") and "checksum" in line, line
        assert line.count("\n") == 1, line
    # anywhere else: reported, or the data read is exactly the original
    rng = np.random.default_rng(5)
    for position, bit in zip(rng.integers(0, len(good), 20), rng.integers(0, 8, 20)):
        data = bytearray(good)
        data[position] ^= 1 << bit
        with open(path, "wb") as f:
            f.write(data)
        outcome = tools.run(str(script), path)
        assert outcome.status in (0, 2), (position, outcome.status, outcome.stderr)
        if outcome.status == 0:
            where = (" in a global heap: write text attributes as fixed-length strings"
                     if in_global_heap(good, position) else "")
            assert outcome.stdout == clean.stdout, f"flip at {position} changed the data{where}"
        else:
            assert outcome.stderr.count("\n") == 1, outcome.stderr


def test_format_versions_1_and_2_are_read(good_file, tools, tmp_path):
    path = str(tmp_path / "v2.h5")
    rewrite_with_checksums(good_file, path)
    for candidate in (good_file, path):
        outcome = tools.run("rnnbench_results.py", "describe", candidate)
        assert outcome.status == 0, outcome.stderr
