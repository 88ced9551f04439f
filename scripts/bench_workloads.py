"""The benchmark workloads as `rnnbench bench --list-workloads` prints them.

harness/bench_workloads.c is the one place the shapes of the workloads (W1 to W4) are written;
scripts/bench_compare.py and scripts/bench_torch.py read them through this module, and
scripts/bench_onednn.c reads the same listing, so a workload is changed in one place.
"""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
COLUMNS = ["workload", "T", "X", "H", "B", "Y", "loss", "cells"]
LOSSES = {"mse-last": True, "xent-all": False, "bce-all": False}  # loss column -> last_step_only


def parse(text):
    """{name: dict(T, X, H, B, Y, loss, last_step_only, cells)} from the listing's text, in its
    order; loss is the listing's column (mse-last, xent-all or bce-all)."""
    lines = [l.split() for l in text.splitlines() if l.strip()]
    if not lines or lines[0] != COLUMNS:
        raise ValueError(f"workload listing does not start with the header {' '.join(COLUMNS)}")
    workloads = {}
    for cols in lines[1:]:
        if len(cols) != len(COLUMNS) or cols[6] not in LOSSES:
            raise ValueError(f"bad workload line: {' '.join(cols)}")
        T, X, H, B, Y = map(int, cols[1:6])
        workloads[cols[0]] = dict(T=T, X=X, H=H, B=B, Y=Y, loss=cols[6], last_step_only=LOSSES[cols[6]],
                                  cells=cols[7].split(","))
    return workloads


def load(rnnbench=DEFAULT_RNNBENCH):
    """The workloads of this rnnbench binary (see parse)."""
    r = subprocess.run([rnnbench, "bench", "--list-workloads"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{rnnbench} bench --list-workloads failed ({r.returncode}): "
                           f"{r.stderr.strip()[-300:]}")
    return parse(r.stdout)
