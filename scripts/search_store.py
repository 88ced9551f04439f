"""The search's own HDF5 file (docs/search.md "The file"): every architecture the search made,
evaluated or rejected, its equations, canonical form and hash, parent and mutations, and its scores
per task and learning rate.

Layout (each table a group of equal-length 1-D datasets, one per column, strings UTF-8):
    /                 attributes: format = "rnnbench-search", format_version, name, seed, reference,
                      tasks (comma list), config (the configuration file's text), generations_done
    /candidates       id, generation, status (evaluated, ill-formed, duplicate), reason, parent,
                      mutations, equations, canonical, hash, n_params, score
    /task_scores      id, task, best_lr, loss, ratio, test_loss: per evaluated candidate and task
    /runs             id, task, lr, seed_index, run_id, status, best_eval_loss, final_loss, test_loss,
                      baseline, steps_done, n_params: every run of every candidate
    /generations      generation, candidates, rejected, runs, wall_s, load: what a generation cost
                      (wall_s and load are the only values a rerun does not reproduce)

The file is rewritten whole after each generation as the results files are made durable: written
under a temporary name, fsync'ed, renamed into place, and its folder fsync'ed; a kill leaves the
previous generation's file whole.

Example:
    /usr/bin/python3 -c "import sys; sys.path.insert(0, 'scripts'); import search_store as s; \
print(s.read_search('results/search/search/search.h5')['candidates'].head())"
"""
import os

import h5py
import numpy as np

FORMAT = "rnnbench-search"
FORMAT_VERSION = 1

COLUMNS = {
    "candidates": {"id": str, "generation": int, "status": str, "reason": str, "parent": str,
                   "mutations": str, "equations": str, "canonical": str, "hash": str,
                   "n_params": int, "score": float},
    "task_scores": {"id": str, "task": str, "best_lr": float, "loss": float, "ratio": float,
                    "test_loss": float},
    "runs": {"id": str, "task": str, "lr": float, "seed_index": int, "run_id": str, "status": str,
             "best_eval_loss": float, "final_loss": float, "test_loss": float, "baseline": float,
             "steps_done": int, "n_params": int},
    "generations": {"generation": int, "candidates": int, "rejected": int, "runs": int,
                    "wall_s": float, "load": float},
}


class StoreError(Exception):
    """A search file that cannot be read or written: the message names it."""


def _column(kind, values):
    if kind is str:
        return np.array([str(v) for v in values], dtype=h5py.string_dtype("utf-8"))
    if kind is int:
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=np.float64)


def write_search(path, attrs, tables):
    """Writes the whole file durably: tmp name, fsync, rename, fsync of the folder."""
    tmp = path + ".tmp"
    folder = os.path.dirname(os.path.abspath(path))
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            for k, v in attrs.items():
                f.attrs[k] = v
            for table, columns in COLUMNS.items():
                g = f.create_group(table)
                rows = tables.get(table, [])
                for col, kind in columns.items():
                    g.create_dataset(col, data=_column(kind, [r[col] for r in rows]))
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise StoreError(f"{path}: cannot write: {e.strerror or e}") from None


def _value(kind, v):
    if kind is str:
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    return int(v) if kind is int else float(v)


def read_tables(path):
    """(attributes, {table: [row dict]}) of a search file."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise StoreError(f"{path}: not a search file (format attribute "
                                 f"'{f.attrs.get('format')}', expected '{FORMAT}')")
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            tables = {}
            for table, columns in COLUMNS.items():
                if table not in f:
                    raise StoreError(f"{path}: no /{table} table: damaged or not written by scripts/search.py")
                data = {c: f[table][c][:] for c in columns}
                n = len(next(iter(data.values()))) if data else 0
                tables[table] = [{c: _value(k, data[c][i]) for c, k in columns.items()} for i in range(n)]
            return attrs, tables
    except OSError as e:
        raise StoreError(f"{path}: cannot read as HDF5: {e}") from None


def read_search(path):
    """The file as pandas DataFrames: {"attrs": dict, "candidates", "task_scores", "runs",
    "generations"}."""
    import pandas as pd
    attrs, tables = read_tables(path)
    out = {"attrs": attrs}
    for table, columns in COLUMNS.items():
        out[table] = pd.DataFrame(tables[table], columns=list(columns))
    return out
