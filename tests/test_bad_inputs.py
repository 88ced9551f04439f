"""Bad inputs are refused with one clear line, never a crash and never a lost file.

Experiment files: every tests/bad_experiments/*.ini starts with `; expect: LINE: TEXT`. For each,
and for the inputs that cannot be committed as text (empty, binary, non-UTF-8, a 1 MB line, more
than 16 MiB: written into tmp_path here), `rnnbench run FILE -o OUT` must exit 2, print exactly
one line `FILE:LINE: ...` on stderr containing TEXT (invisible and control characters written as
<U+XXXX>, never raw), create neither OUT nor OUT.parts, and leave an OUT that already exists (a
real results file) byte for byte as it was.
Results files: `rnnbench show` on a truncated file, a text file, another program's HDF5 file or
a results file without its summary table must print one line on stderr and exit non-zero, never
by a signal; `rnnbench run -o` onto such a file must refuse to touch it.
Known crashes are marked xfail(strict=True): when the C fix lands they pass, and the marker must go.
tests/fuzz/run.sh copies fuzzer crash inputs here as fuzz-crash-*.ini, without an expect line:
those are only required not to crash until someone gives them one.

Run: /usr/bin/python3 -m pytest -q tests/test_bad_inputs.py
"""
import glob
import os
import random
import re
import subprocess

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
CORPUS = os.path.join(ROOT, "tests", "bad_experiments")
EXPECT = re.compile(rb"^; expect: (\d+): (.+?)\r?$")

# one run of a few milliseconds: the results file that bad inputs must not touch
TINY = """[experiment]
name = tiny
seed = 3

[grid]
task = adding
delay = 5
cell = rnn
hidden = 4
batch = 4
steps = 5
eval_every = 5
eval_size = 8
"""

# corpus files that crash today instead of being refused; the reason says where
# fixed: steps-overflow.ini (steps had no upper bound; the curve buffers' sizes wrapped around)
KNOWN_CRASHES = {}

# inputs that cannot be text: (name, bytes, line, text)
GENERATED = [
    ("empty", b"", 1, "no [grid] section"),
    ("elf-header", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, 1,
     "contains a NUL byte (not a text file)"),
    ("utf16", "[grid]\nhidden = 8\n".encode("utf-16"), 1, "contains a NUL byte"),
    ("nul-in-value", b"[grid]\nhidden = 8\x00junk\n", 2, "contains a NUL byte"),
    ("latin1-value", b"[grid]\ncell = lstm-caf\xe9\n", 2, "not valid UTF-8 text"),
    ("latin1-comment", b"; r\xe9sum\xe9 of the study\n[grid]\n", 1, "not valid UTF-8 text"),
    ("overlong-slash", b"[experiment]\nname = a\xc0\xafb\n[grid]\n", 2, "not valid UTF-8 text"),
    ("utf16-surrogate", b"[grid]\ntask = \xed\xa0\x80\n", 2, "not valid UTF-8 text"),
    ("cut-multibyte", b"[grid]\ntask = adding\xe2\x82", 2, "not valid UTF-8 text"),
    ("mb-line", b"[grid]\nhidden = " + b"1," * 500000 + b"1\n", 2, "line longer than 65536 bytes"),
    ("mb-comment", b"[grid]\n; " + b"x" * (1 << 20) + b"\n", 2, "line longer than 65536 bytes"),
    # a line longer than inih's 200-byte buffer is read whole: the fault is the next line's
    ("long-comment", b"[grid]\n; " + b"x" * 5000 + b"\nhidden = -1\n", 3, "hidden: must be between"),
    # not bad, but the BOM must not shift or hide the line of the real fault
    ("bom-then-bad", b"\xef\xbb\xbf[grid]\nhidden = -1\n", 2, "hidden: must be between"),
]


def random_bytes():
    """4 KiB of seeded noise with no NUL and no newline: one long line of invalid UTF-8."""
    rng = random.Random(1)
    alphabet = [b for b in range(1, 256) if b != ord("\n")]
    return bytes(rng.choice(alphabet) for _ in range(4096))


GENERATED.append(("noise", random_bytes(), 1, "not valid UTF-8 text"))

# control characters inside a value: refused, but echoed raw into the message today
CONTROL_BUG = ("grid.c echoes values verbatim: a CR or an escape sequence in a value reaches the "
               "terminal and garbles the one-line message")
GENERATED_CONTROL = [
    ("cr-in-value", b"[grid]\nhidden = 3\r2\n", 2, "control character 0x0D"),
    ("escape-in-value", b"[grid]\ncell = \x1b[2Jlstm\n", 2, "control character 0x1B"),
]


def rnnbench(*args, timeout=60):
    """Runs bin/rnnbench; stdout and stderr as bytes (a damaged file may print anything)."""
    return subprocess.run([RNNBENCH, *args], capture_output=True, timeout=timeout)


# characters that do not show as themselves: a message writes them as <U+XXXX>
HIDDEN = re.compile("[\x00-\x1f\x7f-\xa0\xad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def one_line(r):
    """The single line on stderr, after checking the run ended by exit() with a clean message."""
    assert r.returncode >= 0, f"killed by signal {-r.returncode}: {r.stderr[-2000:]!r}"
    err = r.stderr.decode("utf-8")  # a message is UTF-8 text, not echoed raw bytes
    assert "Traceback" not in err and "AddressSanitizer" not in err, err
    lines = err.split("\n")
    assert len(lines) == 2 and lines[1] == "", f"expected one line on stderr, got {err!r}"
    assert not HIDDEN.search(lines[0]), f"invisible or control characters in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="module")
def good_results(tmp_path_factory):
    """The bytes of a real results file of a one-run grid."""
    d = tmp_path_factory.mktemp("good")
    (d / "tiny.ini").write_text(TINY)
    out = d / "tiny.h5"
    r = rnnbench("run", str(d / "tiny.ini"), "-o", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


def check_refused(path, tmp_path, good_results, prefix, text):
    """`run path -o OUT`: exit 2, one line starting with prefix and containing text, OUT
    neither created nor changed, no OUT.parts."""
    out = tmp_path / "out.h5"
    for existing in (False, True):
        if existing:
            out.write_bytes(good_results)
        r = rnnbench("run", path, "-o", str(out), "--quiet", timeout=20)
        line = one_line(r)
        assert r.returncode == 2, (r.returncode, line)
        assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
        assert text in line, f"{text!r} not in {line!r}"
        assert r.stdout == b""
        assert not os.path.exists(str(out) + ".parts")
        if existing:
            assert out.read_bytes() == good_results, "an existing results file was changed"
        else:
            assert not out.exists()


def corpus_params():
    params = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.ini"))):
        name = os.path.basename(path)
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_CRASHES[name])] if name in KNOWN_CRASHES else []
        params.append(pytest.param(path, id=name, marks=marks))
    return params


# ------------------------------------------------------------------------------------------------
# experiment files


def test_corpus_is_there():
    assert len(glob.glob(os.path.join(CORPUS, "*.ini"))) >= 40


@pytest.mark.parametrize("path", corpus_params())
def test_bad_experiment_file(path, tmp_path, good_results):
    with open(path, "rb") as f:
        first = f.readline().rstrip(b"\n")
    m = EXPECT.match(first)
    if not m:
        # a fuzzer's crash input: it must not crash; a clean refusal is the usual fix
        assert os.path.basename(path).startswith("fuzz-crash-"), f"{path}: no '; expect: LINE: TEXT'"
        r = rnnbench("run", path, "-o", str(tmp_path / "out.h5"), "--quiet", timeout=60)
        assert r.returncode >= 0, f"killed by signal {-r.returncode}"
        if r.returncode == 2:
            assert one_line(r).startswith(f"{path}:")
        return
    line, text = int(m.group(1)), m.group(2).decode("utf-8")
    check_refused(path, tmp_path, good_results, f"{path}:{line}: ", text)


@pytest.mark.parametrize("name,data,line,text", GENERATED + [
    pytest.param(*g, id=g[0]) for g in GENERATED_CONTROL], ids=[g[0] for g in GENERATED] + [g[0] for g in GENERATED_CONTROL])
def test_generated_bad_experiment_file(name, data, line, text, tmp_path, good_results):
    path = tmp_path / f"{name}.ini"
    path.write_bytes(data)
    check_refused(str(path), tmp_path, good_results, f"{path}:{line}: ", text)


def test_more_than_16_mib(tmp_path, good_results):
    path = tmp_path / "huge.ini"
    with open(path, "wb") as f:
        f.truncate(17 << 20)  # sparse: no 17 MiB written to disk
    check_refused(str(path), tmp_path, good_results, f"{path}: ", "larger than 16 MiB")


@pytest.mark.parametrize("name,shown", [(".hidden.ini", ".hidden"), ("..ini", "."),
                                        ("a\u00a0b.ini", "a<U+00A0>b")])
def test_name_from_the_file_name(name, shown, tmp_path, good_results):
    """Without `name =`, the file's name names the experiment, and is held to the same rules."""
    path = tmp_path / name
    path.write_text(TINY.replace("name = tiny\n", ""))
    check_refused(str(path), tmp_path, good_results, f"{tmp_path}/",
                  f"the experiment name '{shown}' (from the file name)")


def test_missing_file(tmp_path, good_results):
    path = tmp_path / "nosuch.ini"
    check_refused(str(path), tmp_path, good_results, f"{path}: ", "cannot open: No such file")


def test_directory(tmp_path, good_results):
    path = tmp_path / "adir.ini"
    path.mkdir()
    check_refused(str(path), tmp_path, good_results, f"{path}: ", "cannot read: Is a directory")


# ------------------------------------------------------------------------------------------------
# results files


def edit_results(good_results, path, edit):
    """Writes a copy of the good results file to path and applies edit(h5py.File)."""
    path.write_bytes(good_results)
    with h5py.File(path, "a") as f:
        edit(f)


def drop_summary(f):
    del f["summary"]


def summary_of_ints(f):
    del f["summary"]
    f["summary"] = np.arange(5)


def summary_as_group(f):
    del f["summary"]
    f.create_group("summary")


def make_bad_results(kind, path, good_results):
    """Writes a damaged or foreign results file of the given kind to path."""
    if kind.startswith("cut-"):
        n = {"cut-8": 8, "cut-512": 512, "cut-half": len(good_results) // 2,
             "cut-last-byte": len(good_results) - 1}[kind]
        path.write_bytes(good_results[:n])
    elif kind == "text":
        path.write_text("task,delay,cell\nadding,5,rnn\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        with h5py.File(path, "w") as f:
            f["data"] = np.random.default_rng(0).random((10, 3))
    elif kind == "no-summary":
        edit_results(good_results, path, drop_summary)
    elif kind == "summary-of-ints":
        edit_results(good_results, path, summary_of_ints)
    elif kind == "summary-is-group":
        edit_results(good_results, path, summary_as_group)
    elif kind == "directory":
        path.mkdir()
    elif kind != "missing":
        raise ValueError(kind)


SHOW_CASES = [
    ("cut-8", "truncated or damaged"),  # the 8-byte signature alone passes H5Fis_hdf5
    ("cut-512", "truncated or damaged"),
    ("cut-half", "truncated or damaged"),
    ("cut-last-byte", "truncated or damaged"),
    ("text", "not an HDF5 file"),
    ("empty", "not an HDF5 file"),
    ("foreign", "not an rnnbench results file"),
    ("no-summary", "summary table is missing or unreadable"),
    ("summary-of-ints", "summary table is missing or unreadable"),
    ("summary-is-group", "summary table is missing or unreadable"),
    ("missing", "No such file or directory"),
    ("directory", "not an HDF5 file"),
]


@pytest.mark.parametrize("kind,text", SHOW_CASES, ids=[c[0] for c in SHOW_CASES])
def test_show_bad_results_file(kind, text, tmp_path, good_results):
    path = tmp_path / "bad.h5"
    make_bad_results(kind, path, good_results)
    r = rnnbench("show", str(path))
    line = one_line(r)
    assert r.returncode > 0
    assert line.startswith(f"rnnbench: {path}: ") and text in line, line
    assert r.stdout == b""


@pytest.mark.parametrize("kind", ["cut-half", "text", "foreign"])
def test_run_does_not_overwrite_a_bad_results_file(kind, tmp_path, good_results):
    exp = tmp_path / "tiny.ini"
    exp.write_text(TINY)
    out = tmp_path / "bad.h5"
    make_bad_results(kind, out, good_results)
    before = out.read_bytes()
    r = rnnbench("run", str(exp), "-o", str(out), "--quiet")
    line = one_line(r)
    assert r.returncode == 2 and "not overwriting" in line and "--force" in line, line
    assert out.read_bytes() == before
    assert not os.path.exists(str(out) + ".parts")


# attributes of any shape: results.c reads each into room for one value
ARRAY_ATTRS = {
    "format-fixed-array": ("format", np.array([b"rnnbench-results"] * 4000, dtype="S16")),
    "format-vlen-array": ("format", ["rnnbench-results"] * 4000),
    "n_runs-array": ("n_runs", np.arange(8000)),
    "experiment_name-array": ("experiment_name", ["tiny"] * 8000),
}
ARRAY_ATTR_BUG = ("results.c read_attr_str/read_attr_long call H5Aread on an attribute of any "
                  "shape into a buffer for one value: heap/stack overflow, SIGSEGV")


@pytest.mark.parametrize("case", sorted(ARRAY_ATTRS))
def test_show_array_attribute(case, tmp_path, good_results):
    name, value = ARRAY_ATTRS[case]
    path = tmp_path / "bad.h5"
    edit_results(good_results, path, lambda f: f.attrs.__setitem__(name, value))
    r = rnnbench("show", str(path))
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    if r.returncode != 0:
        assert one_line(r).startswith(f"rnnbench: {path}: ")


def test_run_onto_file_with_array_attribute(tmp_path, good_results):
    exp = tmp_path / "tiny.ini"
    exp.write_text(TINY)
    out = tmp_path / "bad.h5"
    edit_results(good_results, out, lambda f: f.attrs.__setitem__("experiment_hash", ["x"] * 8000))
    before = out.read_bytes()
    r = rnnbench("run", str(exp), "-o", str(out), "--quiet")
    assert r.returncode == 2 and "not overwriting" in one_line(r)
    assert out.read_bytes() == before
