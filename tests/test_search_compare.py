"""The comparison of a search's best cells against the LSTM (scripts/repro/search_compare.py,
docs/search.md "Comparing the best cells"), on a search of experiments/search-tiny.ini (seconds):

- the study's experiment file (and so the results file, which records it) holds the equations
  `search.py --export` gives for the best cells, the search's seeds left out, and every grid
  runs them beside lstm, gru and mut1-3;
- the verdict lines: the study's, one per found cell, one per declared check (3 tasks a cell),
  and the plain answer;
- every (task, cell) of the study ran at the lr its own tuning search picked;
- --analyse-only takes the cells from the results file, not from the search, and a task without
  runs (an unfinished grid) keeps its checks in the family, INCONCLUSIVE;
- a search folder without a search file, or with a file that is not one, is a one-line error
  naming it, exit 1.

Example:
    /usr/bin/python3 -m pytest -q tests/test_search_compare.py
"""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "repro"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import common  # noqa: E402
import rnnbench_results as rr  # noqa: E402
import search_compare  # noqa: E402
import search_store  # noqa: E402
import tuning  # noqa: E402

PY = sys.executable
SEARCH = os.path.join(ROOT, "scripts", "search.py")
DRIVER = os.path.join(ROOT, "scripts", "repro", "search_compare.py")
TINY = os.path.join(ROOT, "experiments", "search-tiny.ini")
TOP = 2
TASKS = ("temporal-order", "multiplication", "jsb")


def run(*args, timeout=600):
    return subprocess.run([PY, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny search, then the driver's --tiny study of its best TOP cells."""
    base = tmp_path_factory.mktemp("search-compare")
    searched = run(SEARCH, TINY, "-o", str(base / "search"), "-j", "2", "--quiet")
    assert searched.returncode == 0, searched.stderr
    out = base / "study"
    r = run(DRIVER, "--search", TINY, "--search-dir", str(base / "search"), "--top", str(TOP),
            "--tiny", "-j", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return base, out, r.stdout.splitlines()


def exported(base):
    """search.py --export's cells of the tiny search that are not its seeds, best first."""
    r = run(SEARCH, TINY, "-o", str(base / "search"), "--export", "20")
    assert r.returncode == 0, r.stderr
    _, tables = search_store.read_tables(str(base / "search" / "search.h5"))
    seeds = {c["id"] for c in tables["candidates"] if c["generation"] == 0}
    cells = [c for c in search_compare.parse_cells(r.stdout) if c.name not in seeds]
    assert len(cells) >= TOP, "the tiny search found fewer cells than the test compares"
    return cells[:TOP]


def test_experiment_file_holds_the_exported_cells(study):
    base, out, _ = study
    cells = exported(base)
    text = (out / "search-compare.ini").read_text()
    with rr.open_results(str(out / "search-compare.h5")) as res:
        recorded = res.attr_text("experiment_text")
        cells_run = set(res.summary["cell"])
    report = (out / "report.md").read_text()
    for cell in cells:
        for where in (text, recorded, report):
            assert cell.equations.strip() in where, f"{cell.name}'s equations missing"
        assert f"[cell {cell.name}]" in text and cell.comment in text  # the rank line too
    assert cells_run == {c.name for c in cells} | {"lstm", "gru", "mut1", "mut2", "mut3"}
    assert "[cell eq-" not in text, "a seed of the search was carried as a found cell"
    # every cell on every task, at the tuned grid's one section per arm
    with rr.open_results(str(out / "search-compare.h5")) as res:
        df = res.summary
    for task in TASKS:
        assert set(df.loc[df["task"] == task, "cell"]) == cells_run


def test_verdict_lines(study):
    _, out, lines = study
    n_checks = TOP * len(TASKS)
    assert re.match(r"^(REPRODUCED|CONTRADICTED|MIXED|INCONCLUSIVE) \(\d+ HOLDS, \d+ FAILS, "
                    rf"\d+ INCONCLUSIVE\): search-compare: {n_checks} checks, Holm over all, "
                    r"alpha 0\.05$", lines[0]), lines[0]
    checks = [ln for ln in lines if ln.startswith("  check: ")]
    assert len(checks) == n_checks
    for task in TASKS:
        assert sum(f" {task}" in ln for ln in checks) == TOP
    assert sum(" solves sooner than lstm" in ln and "log-rank" in ln for ln in checks) == 2 * TOP
    assert sum("lower test NLL than lstm" in ln and "Mann-Whitney U" in ln
               for ln in checks) == TOP
    assert any(ln.startswith("  design: ") and "seeds = 11" in ln for ln in lines)
    groups = [ln for ln in lines if re.match(r"^  c-[0-9a-f]{12}: ", ln)]
    assert len(groups) == TOP
    assert re.match(r"^  answer: (yes|no): ", lines[-1]), lines[-1]
    report = (out / "report.md").read_text()
    assert f"**Verdict.** `{lines[0]}`" in report and "## Did anything beat the LSTM?" in report
    assert (out / "km.png").exists()


def test_each_arm_runs_at_its_tuned_lr(study):
    _, out, _ = study
    prereg = common.load_prereg("search-compare")
    tune = common.load_summary(str(out / "search-compare-tune.h5"))
    text = (out / "search-compare.ini").read_text()
    picks, table = tuning.pick(tune, text, prereg.tuning)
    cells = set(tune["cell"])
    assert len(picks) == len(TASKS) * len(cells)
    # every arm ran every candidate, its seeds each, under the tuning's own experiment seed
    assert len(tune) == len(picks) * len(prereg.tuning.lrs) * prereg.tuning.seeds
    with rr.open_results(str(out / "search-compare-tune.h5")) as res:
        assert res.attr_text("experiment_seed") == str(prereg.tuning.seed)
    df = common.load_summary(str(out / "search-compare.h5"))
    for (task, cell), rows in df.groupby(["task", "cell"]):
        lrs = set(rows["lr"].astype(float))
        assert lrs == {float(picks[tuning.arm_key(task, {"cell": cell})])}, (task, cell, lrs)
    report = (out / "report.md").read_text()
    assert "## Learning rates, tuned per arm" in report
    assert report.count("**picked**") == len(picks)


def test_analyse_only_reads_the_cells_from_the_results(study, tmp_path):
    base, out, lines = study
    # the search named does not exist: --analyse-only must not need it
    r = run(DRIVER, "--search", TINY, "--search-dir", str(tmp_path / "gone"), "--tiny",
            "--out", str(out), "--analyse-only")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == lines


@pytest.mark.parametrize("damage", ["missing", "not-a-search"])
def test_bad_search_folder(tmp_path, damage):
    folder = tmp_path / "search"
    if damage == "not-a-search":
        folder.mkdir()
        (folder / "search.h5").write_text("not HDF5\n")
    r = run(DRIVER, "--search", TINY, "--search-dir", str(folder), "--tiny",
            "--out", str(tmp_path / "out"))
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and str(folder / "search.h5") in err[0], r.stderr
    assert not (tmp_path / "out" / "search-compare.h5").exists()


def test_experiment_text_puts_cells_before_the_grids():
    template = ("[experiment]\nname = x\npreregistration = x.prereg\n\n[grid a]\ntask = adding\n"
                "cell = lstm, gru\nseeds = 3\n\n[grid b]\ntask = jsb\ncell = lstm\n")
    found = [search_compare.FoundCell("c-1", "; rank 1", "state = h\nh' = tanh(W x + R h + b)\n")]
    text = search_compare.experiment_text(template, found, {"seeds": 2}, "-tiny", "made here",
                                          "/p/x.prereg")
    assert text.index("[cell c-1]") < text.index("[grid a]")
    assert "; rank 1\n[cell c-1]\nstate = h\nh' = tanh(W x + R h + b)\n" in text
    assert text.count("cell = lstm, c-1, gru") == 1 and text.count("cell = lstm, c-1\n") == 1
    assert "preregistration = /p/x.prereg" in text and "name = x-tiny" in text
    assert text.count("seeds = 2") == 2
    assert [c.name for c in search_compare.parse_cells(text)] == ["c-1"]


def test_a_task_without_runs_gives_inconclusive_checks_in_the_same_family(study):
    """--analyse-only on an unfinished grid: the family stays the declared one."""
    base, out, _ = study
    df, _ = search_compare.load(str(out / "search-compare.h5"))
    cells = exported(base)
    partial = df[df["task"] != "jsb"].reset_index(drop=True)
    specs = search_compare.declare(partial, cells, list(TASKS))
    assert len(specs) == TOP * len(TASKS)
    checks = common.evaluate(specs, partial)
    for spec, check in zip(specs, checks):
        if spec.variant["task"] == "jsb":
            assert check.outcome == "INCONCLUSIVE" and "no runs" in check.gate
