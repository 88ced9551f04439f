"""scripts/zoo.py on experiments/zoo.ini, in its --tiny form (20 steps, one seed, delay 5).

Checked: the experiment holds every cell `rnnbench list cells` shows (dglstm as a stack of two,
beside the 2-layer lstm that is its base) on adding and copy at three delays each, at one
parameter budget; the driver's table has a row per cell with its hidden size and parameter count
within a few percent of the budget, and it writes the delay plot and the per-layer flow figure.

Example:
    make float double && /usr/bin/python3 -m pytest -q tests/test_zoo.py
"""
import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin" / "rnnbench"
ZOO = ROOT / "experiments" / "zoo.ini"


def listed_cells():
    out = subprocess.run([str(BIN), "list", "cells"], capture_output=True, text=True,
                         check=True).stdout
    cells = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        cells.append(line.split()[0])
    return cells


def test_the_zoo_holds_every_listed_cell_at_one_budget():
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ini.read(ZOO)
    sections = [s for s in ini.sections() if s.startswith("grid")]
    one_layer = {c.strip() for s in sections if "layers" not in ini[s]
                 for c in ini[s]["cell"].split(",")}
    stacked = {c.strip() for s in sections if ini[s].get("layers") == "2"
               for c in ini[s]["cell"].split(",")}
    assert set(listed_cells()) == one_layer | {"dglstm"}
    assert stacked == {"lstm", "dglstm"}  # dglstm beside its base, a 2-layer lstm
    assert {ini[s]["params"] for s in sections} == {"2000"}
    for task in ("adding", "copy"):
        delays = {d.strip() for s in sections if ini[s]["task"] == task
                  for d in ini[s]["delay"].split(",")}
        assert len(delays) >= 3, task
    assert all(ini[s]["seeds"] == "3" for s in sections)


def test_tiny_zoo_writes_its_table_and_figures(tmp_path):
    out, report = tmp_path / "zoo.h5", tmp_path / "report"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo.py"), "--tiny", "-o",
                           str(out), "--report", str(report), "-j", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = {m.group(1): m for m in re.finditer(
        r"^\| (\S+) \| ([\d,]+) \| ([\d,]+) \| (.*) \| (\d+)/(\d+) \|$", proc.stdout, re.M)}
    want = {"lstm+nfg" if c == "lstm-1997" else c for c in listed_cells() if c != "dglstm"}
    assert set(rows) == want | {"lstm*2", "dglstm*2"}
    for cell, m in rows.items():
        counts = [int(n) for n in m.group(3).split(",")]
        assert all(abs(n - 2000) <= 0.1 * 2000 for n in counts), (cell, counts)
        assert m.group(6) == "2"  # adding and copy, one seed, one delay
    for name in ("zoo.md", "zoo-delay-lstm.png", "zoo-delay-others.png", "zoo-flow.png"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "zoo.md").read_text().startswith("# The zoo")
