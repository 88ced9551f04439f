"""Read an rnnbench results file (results/README.md): the summary table and the curves of a run.

The one place the analysis scripts (compare.py, plot.py, report.sh) open HDF5. It checks that the
file is an rnnbench results file and turns every way it can fail to be one into ResultsError, with a
one-line message that names the file: missing, not HDF5, truncated or damaged (a checksum mismatch
names the dataset), HDF5 of another program, no summary table, a missing run or dataset, a table or
dataset of the wrong type or shape, no finished runs. It also parses the `--where` filters the
scripts share ("task=copy,delay>=50,cell=lstm|gru").

HDF5 is read in a child process that sends plain numpy arrays and dicts back through a pipe: a
damaged file can crash the HDF5 library itself (a segmentation fault on some flipped bits), and
then only the child dies and the script says so in one line. Every size the file declares (rows,
values, attribute bytes) is checked against the size of the file and MAX_READ_BYTES before
anything is allocated for it.

It does not compute statistics or plot; it only reads.

Example:
    /usr/bin/python3 scripts/rnnbench_results.py describe results/quickstart.h5
    /usr/bin/python3 scripts/rnnbench_results.py count results/quickstart.h5 --where solved=1
    /usr/bin/python3 scripts/rnnbench_results.py values results/quickstart.h5 cell

    import rnnbench_results as rr
    with rr.open_results("results/quickstart.h5") as res:
        df = res.summary                       # pandas DataFrame, strings decoded
        run = res.run(df.id[0])
        print(run.attrs["cell"], run["eval/loss"], run.columns("eval/gate_mean"), run.datasets)
"""
import argparse
import contextlib
import math
import multiprocessing
import os
import re
import signal
import sys
import warnings

import h5py
import numpy as np
import pandas as pd

FORMAT = "rnnbench-results"
# 2: every dataset chunked with a Fletcher-32 checksum, HDF5 1.10 metadata (checksummed too),
#    string attributes sealed (strings_fnv1a64), the build recorded in every run
FORMAT_VERSIONS = (1, 2)
# the summary columns the scripts rely on and what they hold; a file without them is not ours
REQUIRED_COLUMNS = {"id": "text", "task": "text", "delay": "integer", "cell": "text",
                    "seed_index": "integer", "status": "text", "baseline": "number",
                    "final_loss": "number", "loss_over_baseline": "number",
                    "best_eval_loss": "number", "solved": "integer",
                    "steps_to_solve": "integer", "steps_done": "integer", "steps": "integer"}
COLUMN_KINDS = {"text": "SUO", "integer": "iub", "number": "iubf"}  # numpy dtype kinds
KIND_WORDS = {"text": "text", "integer": "integers", "number": "numbers"}
# the statuses whose numbers are results; a "failed" or "cancelled" run has none (NaN)
RESULT_STATUSES = ("done", "diverged")
# a run's datasets and their dimensions: train/* have a row per step of train/step, eval/* a row
# per evaluation of eval/step; the gradient flow of a stack of layers has three,
# (evaluations, layers, t), bottom layer first
RUN_DATASETS = {"train/step": 1, "train/loss": 1, "train/grad_norm": 1,
                "train/grad_norm_by_tensor": 2, "eval/step": 1, "eval/loss": 1,
                "eval/accuracy": 1, "eval/loss_over_baseline": 1, "eval/grad_flow_h": (2, 3),
                "eval/grad_flow_c": (2, 3), "eval/gate_mean": 2}
MAX_READ_BYTES = 2 << 30  # one dataset; 10^6 runs of summary, or 10^6 steps x 500 tensors
MAX_ATTRIBUTE_BYTES = 64 << 20  # experiment_text, the largest, is at most 16 MiB
MAX_COMPRESSION_RATIO = 1100  # deflate cannot shrink data more than about 1032 times
READ_TIMEOUT_S = 300  # for one answer of the reading process; reading MAX_READ_BYTES takes seconds
RUN_ID = re.compile(r"^[0-9A-Za-z_-]+$")  # 16 hex digits in practice; never a path


class ResultsError(Exception):
    """A results file that cannot be used, with a one-line message that names the file."""


class WhereError(ValueError):
    """A `--where` filter that does not parse or does not fit the summary's columns."""


def _text(value):
    """Return an HDF5 value as a Python value: numpy scalars unwrapped, bytes decoded."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


SEAL_ATTRIBUTE = "strings_fnv1a64"


def strings_seal(texts):
    """The seal rnnbench writes over an object's variable-length text attributes (results/README.md,
    Integrity): FNV-1a 64 over name, NUL, value, NUL of each, in byte order of the names."""
    h = 0xCBF29CE484222325
    for name in sorted(texts, key=lambda k: k.encode()):
        if name == SEAL_ATTRIBUTE:
            continue
        for byte in name.encode() + b"\0" + texts[name].encode() + b"\0":
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _plain(value):
    """Return an attribute as plain, picklable Python: text decoded, numbers unwrapped, an array
    of one value as that value, other arrays as lists, anything else as its text."""
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        return _plain(flat[0]) if flat.size == 1 else [_plain(v) for v in flat]
    value = _text(value)
    if isinstance(value, (str, int, float, complex, type(None))):
        return value
    return str(value)


def _one_line(exc):
    """Return an exception's message on one line (HDF5 messages can span several)."""
    return " ".join(str(exc).split())


def _shown(value, width=40):
    """Return repr(value), cut to about `width` characters (an attribute can be an array)."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _size_text(n_bytes):
    """Return a byte count for people: 512 bytes, 60.2 KB, 768.0 MB."""
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n_bytes /= 1000
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.1f} {unit}"


def _problem(exc):
    """Return what an error raised while reading says about the file, on one line."""
    text = _one_line(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
    if "checksum" in text.lower():
        what = "metadata checksum" if "metadata" in text.lower() else "checksum"
        return f"{what} mismatch (the file is damaged)"
    return f"cannot be read ({text or type(exc).__name__}; is the file damaged?)"


def has_result(df):
    """Return a boolean mask of the summary rows whose numbers are results: runs that finished
    ("done") or diverged; a failed or cancelled run's numbers are NaN and are no data."""
    return df["status"].isin(RESULT_STATUSES)


# ------------------------------------------------------------------------------------------------
# the reading process: everything that touches HDF5 runs here

def _open_hdf5(path):
    """Open `path` read-only with h5py, or raise ResultsError saying why it cannot be."""
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read ({_one_line(exc)})")
    if not is_hdf5:
        raise ResultsError(f"{path}: not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        found = re.search(r"eof = (\d+).*stored_eof = (\d+)", str(exc))
        if found:
            raise ResultsError(f"{path}: truncated HDF5 file ({found.group(1)} of "
                               f"{found.group(2)} bytes)")
        problem = _problem(exc)
        if problem.startswith("cannot be read"):
            problem = f"damaged HDF5 file ({_one_line(exc)})"
        raise ResultsError(f"{path}: {problem}")


def _format_problem(attrs):
    """Return why file attributes `attrs` are not those of a results file we read, or None."""
    fmt = attrs.get("format")
    if fmt != FORMAT:
        found = "no 'format' attribute" if fmt is None else f"format = {_shown(fmt)}"
        return f"HDF5 but not an rnnbench results file ({found}, expected {FORMAT!r})"
    version = attrs.get("format_version")
    if type(version) is not int or version not in FORMAT_VERSIONS:
        readable = " or ".join(str(v) for v in FORMAT_VERSIONS)
        return f"format_version {_shown(version)} is not one this script reads ({readable})"
    return None


def _table_problem(dtype, shape):
    """Return what is wrong with a summary table of this dtype and shape, or None."""
    if dtype.names is None:
        return "is not a compound table"
    if len(shape) != 1:
        return f"is not a table of rows (its shape is {shape})"
    for name in dtype.names:
        field = dtype[name]
        if field.shape != ():
            return f"column {name} holds an array of shape {field.shape} per row, not one value"
        if field.kind == "V":
            return f"column {name} holds a compound per row, not one value"
    missing = [c for c in REQUIRED_COLUMNS if c not in dtype.names]
    if missing:
        return f"lacks column(s) {', '.join(missing)}"
    for name, kind in REQUIRED_COLUMNS.items():
        if dtype[name].kind not in COLUMN_KINDS[kind]:
            return f"column {name} holds {dtype[name]} values, not {KIND_WORDS[kind]}"
    return None


def _is_compressed(dataset):
    """True if a filter of the dataset can shrink it (any filter but shuffle and Fletcher-32)."""
    plist = dataset.id.get_create_plist()
    harmless = (h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_FLETCHER32)
    return any(plist.get_filter(i)[0] not in harmless for i in range(plist.get_nfilters()))


class _FileReader:
    """In the reading process: the open file and one method per request of the parent."""

    def __init__(self, path):
        self.path = path
        self.file = None
        self._file_sizes = {}

    def error(self, message):
        return ResultsError(f"{self.path}: {message}")

    @contextlib.contextmanager
    def reading(self, where):
        """Turn any error of h5py or HDF5 while reading `where` into a one-line ResultsError."""
        try:
            yield
        except ResultsError:
            raise
        except Exception as exc:  # h5py raises most kinds (OSError, KeyError, TypeError, ...)
            raise self.error(f"{where}: {_problem(exc)}") from None

    def answer(self, request):
        """Return ("ok", value) or ("error", one-line message) for a request (kind, *args)."""
        kind, *args = request
        handlers = {"header": self.header, "run": self.run_datasets, "run_attrs": self.run_attrs,
                    "dataset": self.dataset, "columns": self.columns}
        try:
            return "ok", handlers[kind](*args)
        except ResultsError as exc:
            return "error", str(exc)
        except Exception as exc:  # whatever else went wrong, it went wrong reading this file
            return "error", f"{self.path}: {_problem(exc)}"

    def member(self, group, name):
        """Return group[name], or None if the group has no link `name`. A link that exists but
        does not open is damage (h5py's get() would call it missing), except a link into another
        file, which says which file it wanted."""
        link = group.get(name, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.ExternalLink):
            return group[name]
        try:
            return group[name]
        except Exception:  # a missing or damaged parts file
            target = os.path.join(os.path.dirname(group.file.filename), link.filename)
            state = ("is missing" if not os.path.exists(target)
                     else "cannot be opened (truncated or damaged?)")
            raise self.error(f"{group.name.rstrip('/')}/{name}: links to {link.filename}, "
                             f"which {state}") from None

    def file_size(self, obj):
        """Size in bytes of the file that holds obj (a run may live in a parts file)."""
        name = obj.file.filename
        if name not in self._file_sizes:
            self._file_sizes[name] = os.path.getsize(name)
        return self._file_sizes[name]

    def attributes(self, obj, where):
        """Return obj's attributes as plain Python, each checked for size before it is read."""
        limit = min(MAX_ATTRIBUTE_BYTES, self.file_size(obj))
        values, texts = {}, {}
        with self.reading(where):
            for name in obj.attrs:
                info = obj.attrs.get_id(name)
                n_bytes = math.prod(info.shape or ()) * info.dtype.itemsize
                if n_bytes > limit:
                    raise self.error(f"{where}: attribute {name} declares {_size_text(n_bytes)} "
                                     f"in a {_size_text(self.file_size(obj))} file "
                                     f"(the file is damaged)")
                raw = obj.attrs[name]
                if isinstance(raw, str):  # variable-length text: outside HDF5's checksums
                    texts[name] = raw
                values[name] = _plain(raw)
        seal = values.get(SEAL_ATTRIBUTE)
        if seal is not None and int(seal) != strings_seal(texts):
            raise self.error(f"{where}: its text attributes do not match their checksum "
                             f"({SEAL_ATTRIBUTE}; the file is damaged)")
        return values

    def read(self, dataset, where):
        """Return the values of a dataset, once the size it declares fits what the file stores."""
        declared = math.prod(dataset.shape or ()) * dataset.dtype.itemsize
        stored = dataset.id.get_storage_size()
        file_bytes = self.file_size(dataset)
        if dataset.dtype.names is not None and dataset.ndim == 1:
            count = f"{dataset.shape[0]} rows"
        else:
            count = f"{math.prod(dataset.shape or ())} values"
        if declared > MAX_READ_BYTES:
            raise self.error(f"{where}: declares {count} ({_size_text(declared)}), more than "
                             f"any results file holds (the file is damaged)")
        if stored > file_bytes:
            raise self.error(f"{where}: claims {_size_text(stored)} of storage in a "
                             f"{_size_text(file_bytes)} file (the file is damaged)")
        ratio = MAX_COMPRESSION_RATIO if _is_compressed(dataset) else 1
        if declared > stored * ratio:
            raise self.error(f"{where}: declares {count} ({_size_text(declared)}) but stores "
                             f"{_size_text(stored)} in a {_size_text(file_bytes)} file "
                             f"(the file is damaged)")
        return dataset[()]

    def header(self):
        """Open the file; return its attributes and summary table (a numpy record array)."""
        self.file = _open_hdf5(self.path)
        attrs = self.attributes(self.file, "/")
        problem = _format_problem(attrs)
        if problem:
            raise self.error(problem)
        with self.reading("/summary"):
            table = self.member(self.file, "summary")
            if table is None:
                raise self.error("no summary table (is the grid still starting?)")
            if not isinstance(table, h5py.Dataset):
                raise self.error("summary is not a table (it is a group)")
            problem = _table_problem(table.dtype, table.shape)
            if problem:
                raise self.error(f"summary {problem}")
            return {"attrs": attrs, "summary": self.read(table, "/summary")}

    def run_group(self, run_id):
        """Return the group runs/<run_id>, or raise ResultsError saying why there is none."""
        runs = self.member(self.file, "runs")
        if not isinstance(runs, h5py.Group):
            raise self.error("no runs/ group (only the summary is left)")
        group = self.member(runs, run_id)
        if group is None:
            raise self.error(f"run {run_id} is in the summary but runs/{run_id} is missing "
                             f"(a broken link into {os.path.basename(self.path)}.parts/?)")
        if not isinstance(group, h5py.Group):
            raise self.error(f"runs/{run_id} is not a group")
        return group

    def run_datasets(self, run_id):
        """Return {dataset name: (shape, dtype kind)} of a run."""
        datasets = {}

        def note(name, obj):
            if isinstance(obj, h5py.Dataset):
                datasets[name] = (tuple(obj.shape or ()), obj.dtype.kind)

        with self.reading(f"/runs/{run_id}"):
            self.run_group(run_id).visititems(note)
        return datasets

    def run_attrs(self, run_id):
        """Return the attributes of a run."""
        where = f"/runs/{run_id}"
        with self.reading(where):
            return self.attributes(self.run_group(run_id), where)

    def run_dataset(self, run_id, name):
        """Return the h5py dataset `name` of a run (ResultsError if it is not one)."""
        dataset = self.member(self.run_group(run_id), name)
        if not isinstance(dataset, h5py.Dataset):
            raise self.error(f"run {run_id} has no dataset {name}")
        return dataset

    def dataset(self, run_id, name):
        """Return the values of a run's dataset."""
        where = f"/runs/{run_id}/{name}"
        with self.reading(where):
            return self.read(self.run_dataset(run_id, name), where)

    def columns(self, run_id, name):
        """Return the `columns` attribute of a run's dataset ("" if it has none)."""
        where = f"/runs/{run_id}/{name}"
        with self.reading(where):
            return self.attributes(self.run_dataset(run_id, name), where).get("columns", "")


def _serve(conn, path):
    """The reading process: answer the header, then each request, until the pipe closes.

    Its stdout and stderr go to /dev/null (HDF5 and the C library print diagnostics there; the
    parent reports in one line) and it ignores Ctrl-C (the parent handles it and ends this
    process). It never returns."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        reader = _FileReader(path)
        conn.send(reader.answer(("header",)))
        while True:
            try:
                request = conn.recv()
            except EOFError:
                break
            conn.send(reader.answer(request))
    except BaseException:  # the pipe broke: the parent is gone
        code = 1
    finally:
        os._exit(code)


class _ReaderProcess:
    """The parent's side of the reading process: ask() sends a request and waits for the answer."""

    def __init__(self, path):
        self.path = path
        self.ended = None  # once the process is gone: the message saying why
        parent_end, child_end = multiprocessing.Pipe()
        try:
            with warnings.catch_warnings():  # Python 3.12+ warns on fork with threads (BLAS's)
                warnings.simplefilter("ignore", DeprecationWarning)
                self.pid = os.fork()
        except OSError as exc:
            parent_end.close()
            child_end.close()
            raise ResultsError(f"{path}: cannot start a process to read it ({exc.strerror})")
        if self.pid == 0:
            parent_end.close()
            _serve(child_end, path)
        child_end.close()
        self.conn = parent_end

    def ask(self, *request):
        """Send a request (none: wait for the header) and return the value answered."""
        if self.ended:
            raise ResultsError(self.ended)
        try:
            if request:
                self.conn.send(request)
            if not self.conn.poll(READ_TIMEOUT_S):
                self.close()
                self.ended = (f"{self.path}: no answer from the HDF5 library after "
                              f"{READ_TIMEOUT_S} s reading it (is the file damaged?)")
                raise ResultsError(self.ended)
            status, value = self.conn.recv()
        except (EOFError, OSError):
            self.ended = self._why_it_ended()
            raise ResultsError(self.ended) from None
        if status == "error":
            raise ResultsError(value)
        return value

    def _why_it_ended(self):
        """Reap the reading process that closed its pipe; return a message saying how it ended."""
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.WIFSIGNALED(status):
            return f"{self.path}: damaged HDF5 file (the HDF5 library crashed reading it)"
        return (f"{self.path}: the process reading it ended unexpectedly "
                f"(exit status {os.waitstatus_to_exitcode(status)})")

    def close(self):
        """End the reading process (it holds nothing to save) and reap it."""
        self.conn.close()
        self.ended = self.ended or f"{self.path}: read after the file was closed"
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None


# ------------------------------------------------------------------------------------------------
# the parent's view: plain numpy and pandas objects

def _layout_problem(datasets):
    """Return what is wrong with a run's {dataset name: (shape, kind)}, or None: a known dataset
    that is not numbers, has the wrong number of dimensions or rows its step dataset has not."""
    for name, ndim in RUN_DATASETS.items():
        if name not in datasets:
            continue
        shape, kind = datasets[name]
        if kind not in COLUMN_KINDS["number"]:
            return f"{name} does not hold numbers"
        allowed = ndim if isinstance(ndim, tuple) else (ndim,)
        if len(shape) not in allowed:
            return f"{name} has {len(shape)} dimension(s), not {' or '.join(map(str, allowed))}"
        step_name = name.split("/")[0] + "/step"
        step_shape = datasets.get(step_name, ((),))[0]
        if len(step_shape) == 1 and shape[0] != step_shape[0]:
            return f"{name} has {shape[0]} rows but {step_name} has {step_shape[0]}"
    return None


def label_stacks(df):
    """Return df with the cell of every stacked run written NAME*L (`lstm*2`), as `bench` names
    stacks: a 2-layer lstm is another model than an lstm, and a table or figure grouped by cell
    must not pool them. Runs of one layer keep their name."""
    if "layers" not in df.columns or not (df["layers"] > 1).any():
        return df
    df = df.copy()
    stacked = df["layers"] > 1
    df.loc[stacked, "cell"] = df.loc[stacked, "cell"] + "*" + df.loc[stacked, "layers"].astype(str)
    return df


def _summary_frame(table):
    """Return the summary record array as a DataFrame: native byte order, strings decoded,
    rows in run_index order."""
    df = pd.DataFrame(table.astype(table.dtype.newbyteorder("=")))
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(_text)
    if "run_index" in df.columns:
        df = df.sort_values("run_index", kind="stable")
    # stacked layers: a file from before stacks has no column, or 0 in rows it kept; one layer
    df["layers"] = df["layers"].where(df["layers"] > 0, 1) if "layers" in df.columns else 1
    return df.reset_index(drop=True)


class Run:
    """One run group, runs/<id>: the names of its datasets; its attributes and the datasets'
    values are read on demand."""

    def __init__(self, results, run_id, datasets):
        self.id = run_id
        self._results = results
        self._attrs = None
        self._shapes = {name: shape for name, (shape, _) in datasets.items()}
        self.datasets = tuple(sorted(self._shapes))
        problem = _layout_problem(datasets)
        if problem:
            raise results.error(f"runs/{run_id}/{problem}")

    @property
    def attrs(self):
        """The run's attributes as a dict (read once, when first asked for)."""
        if self._attrs is None:
            self._attrs = self._results._ask("run_attrs", self.id)
        return self._attrs

    def has(self, name):
        """True if the run has the dataset `name` (e.g. "eval/gate_mean"; absent for an RNN)."""
        return name in self._shapes

    def __getitem__(self, name):
        """Return the dataset `name` (e.g. "train/loss") as a numpy array."""
        if not self.has(name):
            raise self._results.error(f"run {self.id} has no dataset {name}")
        return self._results._ask("dataset", self.id, name)

    def columns(self, name):
        """Return the names in a 2-D dataset's `columns` attribute ("i,f,z,o" -> [i, f, z, o])."""
        if not self.has(name):
            raise self._results.error(f"run {self.id} has no dataset {name}")
        text = self._results._ask("columns", self.id, name)
        names = [c.strip() for c in text.split(",") if c.strip()] if isinstance(text, str) else []
        shape = self._shapes[name]
        if len(shape) == 2 and len(names) != shape[1]:
            names = [f"{name.rsplit('/', 1)[-1]}[{j}]" for j in range(shape[1])]
        return names


class Results:
    """An open rnnbench results file; use open_results() and a `with` block."""

    def __init__(self, path, require_runs=True):
        self.path = path
        _check_path(path)
        self._reader = _ReaderProcess(path)
        self._runs = {}
        try:
            header = self._reader.ask()
            self.attrs = header["attrs"]
            self.summary = _summary_frame(header["summary"])
            if require_runs and len(self.summary) == 0:
                raise self.error("no finished runs (the summary table is empty)")
        except BaseException:
            self._reader.close()
            raise

    def error(self, message):
        """Return a ResultsError whose message names this file."""
        return ResultsError(f"{self.path}: {message}")

    @property
    def paths(self):
        """The files read: this one."""
        return [self.path]

    @property
    def names(self):
        """The base name of the file, for titles and headers."""
        return os.path.basename(self.path)

    def attr_text(self, name, default="?"):
        """Return a file attribute as text for a title or a line: `default` if it is absent, an
        array (a damaged or foreign file) cut short."""
        value = self.attrs.get(name)
        if value is None:
            return default
        return _shown(value) if isinstance(value, list) else str(value)

    def _ask(self, *request):
        return self._reader.ask(*request)

    @property
    def complete(self):
        """True once the grid finished (attribute complete = 1)."""
        value = self.attrs.get("complete", 0)
        return isinstance(value, (int, float)) and bool(value)

    def run(self, run_id):
        """Return the Run runs/<run_id>; ResultsError if it is missing or cannot be read."""
        if run_id not in self._runs:
            if not isinstance(run_id, str) or not RUN_ID.match(run_id):
                raise self.error(f"the summary names a run {_shown(run_id)}, not a run id "
                                 f"(the file is damaged)")
            self._runs[run_id] = Run(self, run_id, self._ask("run", run_id))
        return self._runs[run_id]

    def close(self):
        """End the process that reads the file."""
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _check_path(path):
    """Raise ResultsError if `path` is not a non-empty regular file (checked without HDF5)."""
    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a directory, not a results file")
    if not os.path.isfile(path):
        raise ResultsError(f"{path}: not a regular file")
    if os.path.getsize(path) == 0:
        raise ResultsError(f"{path}: empty file (0 bytes)")


class ResultSet:
    """Several results files read as one: their summaries one table (with a `file` column), a
    run found in the file that holds it. The same interface as Results; use open_results()."""

    def __init__(self, paths, require_runs=True, allow_mixed=False):
        self.parts = []
        try:
            for path in paths:
                self.parts.append(Results(path, require_runs=require_runs))
            self._check_builds(allow_mixed)
            self._join()
        except BaseException:
            self.close()
            raise

    def _check_builds(self, allow_mixed):
        """Refuse files whose builds differ in precision or GEMM backend (unless allow_mixed):
        their last bits differ, and one table would hide it."""
        for name in BUILD_ATTRIBUTES:
            seen = {}
            for part in self.parts:
                seen.setdefault(part.attr_text(name), part.path)
            if len(seen) > 1 and not allow_mixed:
                both = ", ".join(f"{name} {value} in {path}" for value, path in seen.items())
                raise ResultsError(f"files of different builds ({both}): one table would mix "
                                   f"their numbers; pass --allow-mixed to read them together")

    def _join(self):
        """Build the joined summary, the file of each run, and the attributes the files share;
        a run id already read from an earlier file is left out of the later ones (noted)."""
        frames, self._owner, self.notes = [], {}, []
        for part in self.parts:
            df = part.summary
            repeated = df.id.isin(self._owner)
            if repeated.any():
                first = self._owner[df.id[repeated].iloc[0]].path
                self.notes.append(f"{part.path}: {int(repeated.sum())} run(s) also in {first} "
                                  f"(same id, same parameters): read once, from the first file")
            df = df[~repeated]
            for run_id in df.id:
                self._owner[run_id] = part
            frames.append(df.assign(file=part.path))
        self.summary = pd.concat(frames, ignore_index=True)
        shared = {}
        for key in set.intersection(*(set(p.attrs) for p in self.parts)):
            values = [p.attrs[key] for p in self.parts]
            if all(v == values[0] for v in values):
                shared[key] = values[0]
        self.attrs = shared

    @property
    def path(self):
        """The files read, comma-separated (for messages)."""
        return ", ".join(self.paths)

    @property
    def paths(self):
        return [part.path for part in self.parts]

    @property
    def names(self):
        """The base names of the files, comma-separated, for titles and headers."""
        return ", ".join(os.path.basename(p) for p in self.paths)

    def error(self, message):
        return ResultsError(f"{self.path}: {message}")

    def attr_text(self, name, default="?"):
        """Return a file attribute as text: the files' distinct values joined by " + "."""
        values = list(dict.fromkeys(part.attr_text(name, default) for part in self.parts))
        return " + ".join(values)

    @property
    def complete(self):
        """True if every file's grid finished."""
        return all(part.complete for part in self.parts)

    def run(self, run_id):
        """Return the Run runs/<run_id> from the file that holds it."""
        part = self._owner.get(run_id)
        if part is None:
            raise self.error(f"no run {_shown(run_id)} in any of the files")
        return part.run(run_id)

    def close(self):
        for part in self.parts:
            part.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


BUILD_ATTRIBUTES = ("precision", "gemm_backend")  # files that differ in these are not mixed
GLOB_CHARACTERS = set("*?[")


def expand_paths(paths):
    """Return the files named by `paths` (a path or a list of them), in order, each once: a name
    that exists is a file, one with * ? [ that does not is a glob pattern (sorted matches).
    Raise ResultsError for a pattern that matches nothing."""
    import glob
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path) and GLOB_CHARACTERS & set(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise ResultsError(f"{path}: no file matches this pattern")
            files += matches
        else:
            files.append(path)
    unique = list(dict.fromkeys(os.path.normpath(f) for f in files))
    if not unique:
        raise ResultsError("no results file given")
    return unique if len(unique) > 1 else [files[0]]


def open_results(paths, require_runs=True, allow_mixed=False):
    """Open one results file (a path) or several (a list of paths and glob patterns) for
    reading, several as one table (ResultSet); raise ResultsError if one is not usable, or if
    their builds differ in precision or GEMM backend and allow_mixed is false."""
    files = expand_paths(paths)
    if len(files) == 1:
        return Results(files[0], require_runs=require_runs)
    return ResultSet(files, require_runs=require_runs, allow_mixed=allow_mixed)


def read_summary(paths, require_runs=True, allow_mixed=False):
    """Return the summary table of one or several results files as a pandas DataFrame, strings
    decoded (str, so `df[df.cell == "gru"]` works), rows in run order; with several files, a
    column `file` names each row's file."""
    with open_results(paths, require_runs=require_runs, allow_mixed=allow_mixed) as res:
        return res.summary


# ------------------------------------------------------------------------------------------------
# --where filters

_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$")


def parse_where(texts):
    """Parse filters like "task=copy,delay>=50" (a list of such strings: all must hold).

    Returns a list of (column, operator, values); `=` and `!=` take alternatives separated by `|`
    ("cell=lstm|gru"). Raises WhereError on a malformed condition.
    """
    conditions = []
    for text in texts or []:
        for part in text.split(","):
            if not part.strip():
                continue
            found = _CONDITION.match(part)
            if not found or not found.group(3):
                raise WhereError(f"bad --where condition {part.strip()!r} "
                                 f"(expected COLUMN=VALUE, !=, <, <=, >, >=)")
            column, op, value = found.groups()
            op = "=" if op == "==" else op
            values = [v.strip() for v in value.split("|")] if op in ("=", "!=") else [value]
            conditions.append((column, op, values))
    return conditions


def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series.dtype)


def column_matches(series, value):
    """Return a boolean mask: where `series` equals the text `value` (numbers compared as numbers;
    "nan" and "chrono" match NaN, which is how the summary stores forget_bias = chrono)."""
    if not _is_numeric(series):
        return series.astype(str) == value
    if value.lower() in ("nan", "chrono"):
        return series.isna()
    try:
        number = float(value)
    except ValueError:
        raise WhereError(f"column {series.name} is numeric, {value!r} is not a number")
    return pd.Series(np.isclose(series.astype(float), number, rtol=1e-9, atol=0.0),
                     index=series.index)


def apply_where(df, conditions):
    """Return the rows of `df` that satisfy every condition from parse_where()."""
    keep = pd.Series(True, index=df.index)
    for column, op, values in conditions:
        if column not in df.columns:
            raise WhereError(f"--where: no summary column {column!r} "
                             f"(columns: {', '.join(df.columns)})")
        series = df[column]
        if op in ("=", "!="):
            hit = pd.Series(False, index=df.index)
            for value in values:
                hit |= column_matches(series, value)
            keep &= hit if op == "=" else ~hit
            continue
        if not _is_numeric(series):
            raise WhereError(f"--where: {column} is text; use = or != with it")
        try:
            number = float(values[0])
        except ValueError:
            raise WhereError(f"--where: {values[0]!r} is not a number")
        compare = {"<": series.lt, "<=": series.le, ">": series.gt, ">=": series.ge}[op]
        keep &= compare(number)
    return df[keep]


def where_text(conditions):
    """Return the conditions written back as one --where string (for titles and messages)."""
    return ",".join(f"{c}{op}{'|'.join(v)}" for c, op, v in conditions)


# ------------------------------------------------------------------------------------------------
# command line: the checks report.sh needs

def describe_markdown(res):
    """Return Markdown lines describing a results file (or each file of a set, then the runs they
    hold together): experiment, provenance and run counts."""
    if isinstance(res, ResultSet):
        lines = [f"- {len(res.parts)} files read as one table:"]
        for part in res.parts:
            lines += ["  " + line for line in describe_markdown(part)]
        df = res.summary
        lines.append(f"- together: {len(df)} runs; tasks: {', '.join(pd.unique(df.task))}; "
                     f"cells: {', '.join(pd.unique(df.cell))}")
        lines += [f"- note: {note}" for note in res.notes]
        return lines
    a = res.attr_text
    df = res.summary
    lines = [f"- file: `{res.path}`",
             f"- experiment: `{a('experiment_name')}` "
             f"(`{a('experiment_path')}`, seed {a('experiment_seed')})",
             f"- rnnbench {a('rnnbench_version')}, commit `{a('git_commit')}`, "
             f"{a('precision')} precision, GEMM {a('gemm_backend')}, "
             f"host {a('host')}, started {a('start_time')}",
             f"- runs: {a('n_finished', len(df))} finished of {a('n_runs')} planned"
             + ("" if res.complete else " (**incomplete**: the grid had not finished)"),
             f"- tasks: {', '.join(pd.unique(df.task))}; cells: {', '.join(pd.unique(df.cell))}"]
    n_div = int((df.status == "diverged").sum())
    n_failed = int((df.status == "failed").sum())
    if n_div or n_failed:
        lines.append(f"- {n_div} diverged, {n_failed} failed runs")
    return lines


def main(argv=None):
    """Check a results file from the shell: `describe` prints Markdown, `count` a number,
    `values COLUMN` the distinct values of a summary column, one a line in file order."""
    parser = argparse.ArgumentParser(
        description="Check and describe rnnbench results files, several read as one table (exit "
                    "2 if one is not usable, their builds differ without --allow-mixed, or a "
                    "--where filter is bad, with one line on stderr).",
        usage="%(prog)s {describe,count} RESULTS... | values RESULTS... COLUMN")
    parser.add_argument("command", choices=("describe", "count", "values"),
                        help="describe: Markdown lines about the file(s); count: runs matching "
                             "--where; values: distinct values of COLUMN (the last argument)")
    parser.add_argument("operands", nargs="+", metavar="RESULTS",
                        help="results files (.h5) or glob patterns; for values, then COLUMN")
    parser.add_argument("--where", action="append", metavar="COND",
                        help="filter on summary columns, e.g. task=copy,delay>=50 (count only)")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="read files of different builds (precision, GEMM backend) together")
    args = parser.parse_args(argv)
    prog = "rnnbench_results.py"
    args.results, args.column = args.operands, None
    if args.command == "values":
        if len(args.operands) < 2:
            parser.error("values needs RESULTS... and a COLUMN")
        args.results, args.column = args.operands[:-1], args.operands[-1]
    try:
        conditions = parse_where(args.where)
        with open_results(args.results, require_runs=args.command == "describe",
                          allow_mixed=args.allow_mixed) as res:
            if args.command == "describe":
                print("\n".join(describe_markdown(res)))
            elif args.command == "count":
                print(len(apply_where(res.summary, conditions)))
            else:
                selected = apply_where(res.summary, conditions)
                if args.column not in selected.columns:
                    raise WhereError(f"no summary column {args.column!r}")
                for value in pd.unique(selected[args.column]):
                    print(value)
    except (ResultsError, WhereError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
