"""Tests of the greff-jsb study (scripts/repro/greff_jsb.py) and its importance analysis
(scripts/rnnbench_importance.py).

- the --tiny driver end to end: exit 0, one verdict line, INCONCLUSIVE because nothing is learned
  in 50 chorales (the positive control fails), report.md with the verdict, the published-numbers
  table and the four figures;
- the analysis on synthetic trials where V learned and NFG is far worse: the control passes, the
  NFG check HOLDS, the verdict comes from rnnbench_stats.study_verdict;
- the fANOVA routine on synthetic data where only one hyperparameter matters: its share dominates
  and exceeds its permutation null, the others' do not;
- --full writes its experiment file (2 400 runs, checked with `rnnbench run --plan`) and the
  command, and runs nothing.
Needs bin/rnnbench (`make float`) for the driver tests; about 30 s on 2 cores.

Example:
    /usr/bin/python3 -m pytest -q tests/test_greff_jsb.py
"""
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "scripts", "repro", "greff_jsb.py")
BIN = os.path.join(ROOT, "bin", "rnnbench")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "repro"))

import common  # noqa: E402
import greff_jsb  # noqa: E402
import rnnbench_importance as ri  # noqa: E402

needs_binary = pytest.mark.skipif(not os.access(BIN, os.X_OK),
                                  reason="bin/rnnbench not built (make float)")


def run_driver(*args):
    return subprocess.run([sys.executable, DRIVER, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    if not os.access(BIN, os.X_OK):
        pytest.skip("bin/rnnbench not built (make float)")
    out = tmp_path_factory.mktemp("greff_jsb_tiny")
    return run_driver("--tiny", "-j", "2", "--out", str(out)), out


def test_tiny_is_inconclusive_and_writes_its_report(tiny):
    proc, out = tiny
    assert proc.returncode == 0, proc.stderr[-800:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 2, proc.stdout  # the verdict, then the design (not post hoc)
    assert lines[0].startswith("INCONCLUSIVE (positive control failed"), lines[0]
    assert lines[1].startswith("  design: ") and "trials_full = 198" in lines[1], lines[1]
    report = (out / "report.md").read_text()
    assert lines[0] in report
    assert "--tiny" in report
    assert (out / "greff-jsb.h5").exists()
    for name in ("box_all", "box_best10", "marginal_lr", "marginal_hidden"):
        png = out / f"{name}.png"
        assert png.exists() and png.stat().st_size > 5000, f"{name}.png missing or empty"
        assert f"({name}.png)" in report


def test_tiny_report_has_every_section_and_the_published_table(tiny):
    _, out = tiny
    report = (out / "report.md").read_text()
    for heading in ("## Positive control", "## Test NLL per variant", "## Checks",
                    "## The best 10 %", "## Ours vs published", "## Hyperparameter importance",
                    "## Figures", "## Set-up differences"):
        assert heading in report, heading
    published = report.split("## Ours vs published")[1].split("\n## ")[0]
    assert "| GRU | " in published and "8.54" in published  # Chung et al.'s GRU
    assert "not verified" in published                       # what could not be checked
    assert "paperswithcode" in published                      # every number has a source
    # the 8 checks, each INCONCLUSIVE under the failed control
    checks = report.split("## Checks")[1].split("\n## ")[0]
    assert checks.count("INCONCLUSIVE (control failed)") == 8


def test_published_constants_carry_sources():
    chung = greff_jsb.PUBLISHED["chung"]
    assert chung["gru"][0] == 8.54
    for value, source in chung.values():
        assert source and ("not verified" in source or value is not None)
    assert set(greff_jsb.PUBLISHED["greff_findings"]) == set(greff_jsb.GREFF) - {"lstm-peep"}


def synthetic_trials(n=10, seed=3):
    """n trials per LSTM variant: V and every variant learn to ~8.6 at a good lr, except NFG,
    which stays near the marginal model; the lr alone decides how far a trial gets."""
    rng = np.random.default_rng(seed)
    rows = []
    for cell in greff_jsb.GREFF:
        lr = 10 ** rng.uniform(-4, -0.3, n)
        reached = 8.6 + 3.0 * np.clip((-1 - np.log10(lr)) / 3, 0, 1)   # lr large: 8.6
        if cell == "lstm-nfg":
            reached = np.full(n, 11.5)
        test = reached * np.exp(rng.normal(0, 0.01, n))
        rows.append(pd.DataFrame({
            "cell": cell, "test_loss": test, "valid_loss": test * 1.01,
            "baseline": 11.09, "lr": lr, "hidden": np.round(10 ** rng.uniform(1.3, 2.3, n)),
            "momentum": 1 - 10 ** rng.uniform(-2, 0, n), "input_noise": rng.uniform(0, 1, n),
            "steps_done": 229 * 5, "wall_s": 1.0}))
    return greff_jsb.add_features(pd.concat(rows, ignore_index=True))


def test_analysis_judges_when_the_control_passes(tmp_path):
    df = synthetic_trials()
    line, parts, figures = greff_jsb.analyse(df, str(tmp_path), "tiny", n_perm=3)
    assert not line.startswith("INCONCLUSIVE (positive control failed"), line
    assert "NFG worse than V HOLDS" in line
    assert line.split(" (")[0] in ("REPRODUCED", "MIXED", "CONTRADICTED", "INCONCLUSIVE")
    text = "\n".join(parts)
    assert "**passed**" in text
    assert len(figures) == 4 and all(os.path.exists(p) for p, _ in figures)
    # the pooled forest finds the learning rate, the only hyperparameter that matters here
    pooled = [ln for ln in text.splitlines() if ln.startswith("| pooled")][0]
    assert pooled.rstrip(" |").endswith("log10 lr"), pooled


def test_fanova_finds_the_one_hyperparameter_that_matters():
    rng = np.random.default_rng(7)
    X = rng.uniform(0, 1, (150, 4))
    y = 3.0 * np.sin(3 * X[:, 1]) + rng.normal(0, 0.2, 150)
    result = ri.importance(X, y, ["a", "b", "c", "d"], n_perm=19, seed=2)
    assert result.shares["b"] > 0.8
    assert result.shares["b"] > result.null["b"]
    for name in ("a", "c", "d"):
        assert result.shares[name] < 0.05
        assert result.shares[name] < result.null[name], (name, result.shares, result.null)
    assert result.important == ["b"]
    values, marginal = result.marginals["b"]
    # the marginal follows the true curve: rising then falling over [0, 1]
    assert np.argmax(marginal) not in (0, len(marginal) - 1)


def test_fanova_refuses_bad_input():
    with pytest.raises(ValueError):
        ri.importance(np.zeros((5, 2)), np.zeros(5), ["only one"])
    with pytest.raises(ValueError):
        ri.main_effects(np.full((5, 1), np.nan), np.zeros(5))


@needs_binary
def test_full_writes_the_experiment_and_runs_nothing(tmp_path):
    proc = run_driver("--full", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-800:]
    ini = tmp_path / "greff-jsb.ini"
    assert ini.exists()
    assert not (tmp_path / "greff-jsb.h5").exists()
    assert f"bin/rnnbench run {ini}" in proc.stdout
    assert "--full --run" in proc.stdout
    text = ini.read_text()
    assert "trials = 200" in text and "max_epochs = 100" in text
    plan = subprocess.run([BIN, "run", str(ini), "--plan"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert plan.returncode == 0, plan.stderr
    runs = [ln for ln in plan.stdout.splitlines()
            if len(ln.split()) > 2 and re.fullmatch(r"[0-9a-f]{16}", ln.split()[1])]
    assert len(runs) == 2400
    assert "2400 runs" in plan.stdout


def test_the_sizes_come_from_the_preregistered_power_calculation():
    prereg = common.load_prereg("greff-jsb")
    design = greff_jsb.design(prereg)
    assert design.key == "trials_full" and design.n == 198
    assert "detect a log ratio of 0.31" in design.text
    with open(common.experiment_path("greff-jsb"), encoding="utf-8") as fh:
        greff_jsb.check_sizes(prereg, design, fh.read())   # the committed files agree
    with pytest.raises(common.ReproError, match=r"trials = \[20, 7\] but .* registers 20"):
        greff_jsb.check_sizes(prereg, design, "trials = 20\ntrials = 7\n")


def test_checks_must_use_the_preregistered_constants(tmp_path):
    text = open(common.prereg_path("greff-jsb"), encoding="utf-8").read()
    changed = tmp_path / "greff-jsb.prereg"
    changed.write_text(text.replace("margin = 1.10", "margin = 1.20"))
    with pytest.raises(common.ReproError, match="margin = 1.2 but greff_jsb.py checks with 1.1"):
        greff_jsb.design(common.load_prereg("greff-jsb", str(changed)))


def test_verdict_is_post_hoc_once_the_prereg_changed(tiny, tmp_path, monkeypatch, capsys):
    proc, out = tiny
    assert proc.returncode == 0
    assert "post hoc" not in proc.stdout           # the tiny run recorded this prereg
    changed = tmp_path / "greff-jsb.prereg"
    changed.write_text(open(common.prereg_path("greff-jsb"), encoding="utf-8").read()
                       + "\n; a comment added after the runs\n")
    monkeypatch.setattr(common, "prereg_path", lambda study: str(changed))
    assert greff_jsb.main(["--tiny", "--out", str(out), "--analyse-only"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("POST HOC INCONCLUSIVE"), printed[0]
    assert printed[1].startswith("  post hoc: ") and "changed after the runs" in printed[1]
