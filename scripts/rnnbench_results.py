"""Read an rnnbench results file (results/README.md): the summary table and the curves of a run.

The one place the analysis scripts (compare.py, plot.py, report.sh) open HDF5. It checks that the
file is an rnnbench results file and turns every way it can fail to be one into ResultsError, with a
one-line message that names the file: missing, not HDF5, truncated or damaged, HDF5 of another
program, no summary table, a missing run or dataset, no finished runs. It also parses the `--where`
filters the scripts share ("task=copy,delay>=50,cell=lstm|gru").

It does not compute statistics or plot; it only reads.

Example:
    /usr/bin/python3 scripts/rnnbench_results.py describe results/quickstart.h5
    /usr/bin/python3 scripts/rnnbench_results.py count results/quickstart.h5 --where solved=1
    /usr/bin/python3 scripts/rnnbench_results.py values results/quickstart.h5 cell

    import rnnbench_results as rr
    with rr.open_results("results/quickstart.h5") as res:
        df = res.summary                       # pandas DataFrame, strings decoded
        run = res.run(df.id[0])
        print(run.attrs["cell"], run["eval/loss"], run.columns("eval/gate_mean"))
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np
import pandas as pd

FORMAT = "rnnbench-results"
FORMAT_VERSION = 2
# the summary columns the scripts rely on; a file without one of them is not one we can read
REQUIRED_COLUMNS = ("id", "task", "delay", "cell", "seed_index", "status", "baseline",
                    "final_loss", "loss_over_baseline", "best_eval_loss", "solved",
                    "steps_to_solve", "steps_done", "steps")


class ResultsError(Exception):
    """A results file that cannot be used, with a one-line message that names the file."""


class WhereError(ValueError):
    """A `--where` filter that does not parse or does not fit the summary's columns."""


def _text(value):
    """Return an HDF5 attribute as a Python value: bytes decoded, numpy scalars unwrapped."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _one_line(exc):
    """Return an exception's message on one line (HDF5 messages can span several)."""
    return " ".join(str(exc).split())


class Run:
    """One run group, runs/<id>: its attributes and its curves, read on demand."""

    def __init__(self, results, run_id, group):
        self.id = run_id
        self._results = results
        self._group = group
        try:
            self.attrs = {k: _text(v) for k, v in group.attrs.items()}
        except OSError as exc:
            raise results.error(f"run {run_id}: attributes unreadable ({_one_line(exc)})")

    def has(self, name):
        """True if the run has the dataset `name` (e.g. "eval/gate_mean"; absent for an RNN)."""
        try:
            return isinstance(self._group.get(name), h5py.Dataset)
        except (OSError, KeyError):
            return False

    def _dataset(self, name):
        try:
            obj = self._group.get(name)
        except (OSError, KeyError) as exc:
            raise self._results.error(f"run {self.id}: {name} unreadable ({_one_line(exc)})")
        if not isinstance(obj, h5py.Dataset):
            raise self._results.error(f"run {self.id} has no dataset {name}")
        return obj

    def __getitem__(self, name):
        """Return the dataset `name` (e.g. "train/loss") as a numpy array."""
        dataset = self._dataset(name)
        try:
            return dataset[()]
        except OSError as exc:
            raise self._results.error(f"run {self.id}: {name} is damaged ({_one_line(exc)})")

    def columns(self, name):
        """Return the names in a 2-D dataset's `columns` attribute ("i,f,z,o" -> [i, f, z, o])."""
        dataset = self._dataset(name)
        text = _text(dataset.attrs.get("columns", ""))
        names = [c.strip() for c in str(text).split(",") if c.strip()]
        if dataset.ndim == 2 and len(names) != dataset.shape[1]:
            names = [f"{name.rsplit('/', 1)[-1]}[{j}]" for j in range(dataset.shape[1])]
        return names


class Results:
    """An open rnnbench results file; use open_results() and a `with` block."""

    def __init__(self, path, require_runs=True):
        self.path = path
        self._file = _open_hdf5(path)
        try:
            self.attrs = {k: _text(v) for k, v in self._file.attrs.items()}
            fmt = self.attrs.get("format")
            if fmt != FORMAT:
                found = "no 'format' attribute" if fmt is None else f"format = {fmt!r}"
                raise self.error(f"HDF5 but not an rnnbench results file ({found}, "
                                 f"expected {FORMAT!r})")
            version = self.attrs.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise self.error(f"format_version {version!r} is not one this script reads "
                                 f"(up to {FORMAT_VERSION})")
            self.summary = self._read_summary()
            if require_runs and len(self.summary) == 0:
                raise self.error("no finished runs (the summary table is empty)")
        except BaseException:
            self._file.close()
            raise

    def error(self, message):
        """Return a ResultsError whose message names this file."""
        return ResultsError(f"{self.path}: {message}")

    def _read_summary(self):
        if "summary" not in self._file:
            raise self.error("no summary table (is the grid still starting?)")
        try:
            table = self._file["summary"][()]
        except OSError as exc:
            raise self.error(f"summary table is damaged ({_one_line(exc)})")
        if table.dtype.names is None:
            raise self.error("summary is not a compound table")
        df = pd.DataFrame(table)
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise self.error(f"summary lacks column(s) {', '.join(missing)}")
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].map(_text)
        if "run_index" in df.columns:
            df = df.sort_values("run_index", kind="stable")
        return df.reset_index(drop=True)

    @property
    def complete(self):
        """True once the grid finished (attribute complete = 1)."""
        return bool(self.attrs.get("complete", 0))

    def run(self, run_id):
        """Return the Run runs/<run_id>; ResultsError if it is missing or cannot be opened."""
        try:
            group = self._file["runs"][run_id]
        except KeyError:
            raise self.error(f"run {run_id} is in the summary but runs/{run_id} is missing "
                             f"(a broken link into {os.path.basename(self.path)}.parts/?)")
        except OSError as exc:
            raise self.error(f"run {run_id} is unreadable ({_one_line(exc)})")
        if not isinstance(group, h5py.Group):
            raise self.error(f"runs/{run_id} is not a group")
        return Run(self, run_id, group)

    def close(self):
        """Close the HDF5 file."""
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _open_hdf5(path):
    """Open `path` read-only with h5py, or raise ResultsError saying why it cannot be."""
    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a directory, not a results file")
    size = os.path.getsize(path)
    if size == 0:
        raise ResultsError(f"{path}: empty file (0 bytes)")
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
        raise ResultsError(f"{path}: damaged HDF5 file ({_one_line(exc)})")


def open_results(path, require_runs=True):
    """Open a results file for reading; raise ResultsError if it is not a usable one."""
    return Results(path, require_runs=require_runs)


def read_summary(path, require_runs=True):
    """Return the summary table of a results file as a DataFrame with decoded strings."""
    with open_results(path, require_runs=require_runs) as res:
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
    """Return Markdown lines describing a results file: experiment, provenance and run counts."""
    a = res.attrs
    df = res.summary
    lines = [f"- file: `{res.path}`",
             f"- experiment: `{a.get('experiment_name', '?')}` "
             f"(`{a.get('experiment_path', '?')}`, seed {a.get('experiment_seed', '?')})",
             f"- rnnbench {a.get('rnnbench_version', '?')}, commit `{a.get('git_commit', '?')}`, "
             f"{a.get('precision', '?')} precision, GEMM {a.get('gemm_backend', '?')}, "
             f"host {a.get('host', '?')}, started {a.get('start_time', '?')}",
             f"- runs: {a.get('n_finished', len(df))} finished of {a.get('n_runs', '?')} planned"
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
        description="Check and describe an rnnbench results file (exit 1 if it is not usable).")
    parser.add_argument("command", choices=("describe", "count", "values"),
                        help="describe: Markdown lines about the file; count: runs matching "
                             "--where; values: distinct values of COLUMN")
    parser.add_argument("results", help="results file (.h5)")
    parser.add_argument("column", nargs="?", help="summary column (values only)")
    parser.add_argument("--where", action="append", metavar="COND",
                        help="filter on summary columns, e.g. task=copy,delay>=50 (count only)")
    args = parser.parse_args(argv)
    prog = "rnnbench_results.py"
    if (args.command == "values") != (args.column is not None):
        parser.error("values needs a COLUMN, and only values takes one")
    try:
        conditions = parse_where(args.where)
        with open_results(args.results, require_runs=args.command == "describe") as res:
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
    except ResultsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except WhereError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
