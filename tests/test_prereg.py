"""Pre-registration, the verdict gates and the null runner of the reproduction drivers.

  - `bin/rnnbench run` records the file an experiment's `preregistration = FILE` names (path,
    SHA-256, text) in the results file; a missing file is a one-line error naming the experiment
    file, line and value;
  - a driver's verdict is marked POST HOC once the .prereg changed after the runs;
  - the gates: a study whose base learns nothing is INCONCLUSIVE throughout; a "fails" check
    without a succeeding positive control is INCONCLUSIVE whatever its p;
  - null_rate.py on one tiny driver and seed reports its rate.
Needs bin/rnnbench (`make float`).

Run: /usr/bin/python3 -m pytest -q tests/test_prereg.py
"""
import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "repro"))

import common  # noqa: E402
import rnnbench_results as rr  # noqa: E402

BIN = os.path.join(ROOT, "bin", "rnnbench")
needs_bin = pytest.mark.skipif(not os.access(BIN, os.X_OK), reason="bin/rnnbench not built")

TINY_GRID = """[experiment]
name = prereg-test
seed = 3
preregistration = {prereg}

[grid]
task = adding
delay = 3
cell = rnn
hidden = 2
batch = 4
steps = 2
eval_every = 2
eval_size = 8
"""


@needs_bin
def test_run_records_the_preregistration_hash(tmp_path):
    (tmp_path / "x.prereg").write_text("[design]\nchecks = 1\n")
    ini = tmp_path / "x.ini"
    ini.write_text(TINY_GRID.format(prereg="x.prereg"))
    h5 = tmp_path / "x.h5"
    proc = subprocess.run([BIN, "run", str(ini), "-o", str(h5), "--quiet"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    with rr.open_results(str(h5)) as res:
        attrs = res.attrs
    want = hashlib.sha256(b"[design]\nchecks = 1\n").hexdigest()
    assert attrs["preregistration_sha256"] == want
    assert attrs["preregistration_sha256_1"] == want
    assert attrs["preregistration_text"] == "[design]\nchecks = 1\n"
    assert attrs["preregistration"] == str(tmp_path / "x.prereg")


@needs_bin
def test_a_missing_preregistration_is_one_line_naming_file_line_and_value(tmp_path):
    ini = tmp_path / "x.ini"
    ini.write_text(TINY_GRID.format(prereg="gone.prereg"))
    proc = subprocess.run([BIN, "run", str(ini), "-o", str(tmp_path / "x.h5"), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert f"{ini}:4: preregistration: cannot open '{tmp_path}/gone.prereg'" in lines[0]


@needs_bin
def test_verdict_is_post_hoc_after_the_prereg_changes(tmp_path, monkeypatch):
    # a copy of the experiments directory, so that the committed .prereg is never touched
    experiments = tmp_path / "experiments"
    shutil.copytree(os.path.join(ROOT, "experiments"), experiments,
                    ignore=shutil.ignore_patterns("data"))
    monkeypatch.setattr(common, "experiment_path",
                        lambda study: str(experiments / f"{study}.ini"))
    monkeypatch.setattr(common, "prereg_path",
                        lambda study: str(experiments / f"{study}.prereg"))
    import forget_bias
    out = tmp_path / "fb"
    argv = ["--tiny", "-j", "1", "--out", str(out)]

    return_lines = _run_twice(forget_bias, argv, experiments / "forget-bias.prereg")
    first, second = return_lines
    assert not first[0].startswith(common.POST_HOC), first[0]
    assert second[0].startswith(common.POST_HOC + " "), second[0]
    assert any("changed after the runs" in line for line in second)


def _run_twice(driver, argv, prereg):
    """Run the driver, edit the prereg's comment, run it again (the results file is complete,
    nothing reruns); return both stdouts as lists of lines."""
    import contextlib
    import io
    outputs = []
    for edit in (False, True):
        if edit:
            prereg.write_text(prereg.read_text() + "; edited after the runs\n")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            assert driver.main(argv) == 0
        outputs.append(buf.getvalue().splitlines())
    return outputs


# ------------------------------------------------------------------------------------------------
# gates, on simulated summaries

def summary(rows):
    """A summary DataFrame with the columns the checks read."""
    df = pd.DataFrame(rows)
    for column, default in (("status", "done"), ("steps", 100), ("steps_to_solve", 0),
                            ("seed_index", 0), ("trial", 0)):
        if column not in df:
            df[column] = default
    return df


def test_a_study_whose_base_learns_nothing_is_inconclusive():
    rng = np.random.default_rng(0)
    rows = []
    for draw in range(20):
        base_loss = 1.2 * np.exp(rng.normal(0, 0.05))  # above the baseline 1.0: learned nothing
        for cell, factor in (("v", 1.0), ("worse", 3.0)):
            rows.append({"task": "t", "cell": cell, "trial": draw, "lr": 0.01 * (draw + 1),
                         "final_loss": base_loss * factor, "baseline": 1.0,
                         "loss_over_baseline": base_loss * factor, "solved": 0})
    df = summary(rows)
    spec = common.CheckSpec("worse than v", "paired", {"cell": "worse"}, {"cell": "v"},
                            claim="greater", learner={"cell": "v"})
    (check,) = common.evaluate([spec], df)
    assert common.ungated([check])[0].outcome == "HOLDS"  # the test alone would decide
    assert check.outcome == "INCONCLUSIVE" and "learned nothing" in check.gate


def test_a_fails_check_without_a_solving_positive_control_is_inconclusive():
    rows = []
    for seed in range(12):
        rows.append({"cell": "rnn", "seed_index": seed, "final_loss": 1.0 + 0.001 * seed,
                     "baseline": 1.0, "loss_over_baseline": 1.0, "solved": 0})
        rows.append({"cell": "lstm", "seed_index": seed, "final_loss": 0.5, "baseline": 1.0,
                     "loss_over_baseline": 0.5, "solved": int(seed < 4)})  # 4/12: no majority
    df = summary(rows)
    spec = common.CheckSpec("rnn stays at the baseline", "baseline_equivalent", {"cell": "rnn"},
                            margin=1.25, control={"cell": "lstm"}, learner={"cell": "lstm"})
    (check,) = common.evaluate([spec], df)
    assert common.ungated([check])[0].outcome == "HOLDS"
    assert check.outcome == "INCONCLUSIVE" and "positive control" in check.gate
    df.loc[df["cell"] == "lstm", "solved"] = 1  # the control solves: the check counts
    (check,) = common.evaluate([spec], df)
    assert check.outcome == "HOLDS" and not check.gate


def test_the_control_gates_a_holds_but_not_a_fails():
    """The cell left the baseline (below it): "it stays there" FAILS whatever the control did;
    a cell far *above* the baseline (it failed worse) stays gated."""
    spec = common.CheckSpec("lstm stays at the baseline", "baseline_equivalent",
                            {"cell": "lstm"}, margin=1.25, control={"cell": "gru"},
                            learner={"cell": "gru"})
    for factor, outcome in ((0.5, "FAILS"), (2.0, "INCONCLUSIVE")):
        rows = []
        for seed in range(12):
            rows.append({"cell": "lstm", "seed_index": seed, "final_loss": factor + 0.01 * seed,
                         "baseline": 1.0, "loss_over_baseline": factor, "solved": 0})
            rows.append({"cell": "gru", "seed_index": seed, "final_loss": 0.5, "baseline": 1.0,
                         "loss_over_baseline": 0.5, "solved": 0})  # learns, never solves
        (check,) = common.evaluate([spec], summary(rows))
        assert common.ungated([check])[0].outcome == "FAILS"
        assert check.outcome == outcome, (factor, check.line())
        if outcome == "FAILS":
            assert not check.gate and "it gates a HOLDS, not this FAILS" in check.note
        else:
            assert "positive control" in check.gate


def test_a_tie_in_solve_counts_is_not_a_pass():
    rows = [{"cell": c, "seed_index": s, "final_loss": 0.1, "baseline": 1.0,
             "loss_over_baseline": 0.1, "solved": 1} for c in ("a", "b") for s in range(10)]
    spec = common.CheckSpec("a solves more", "fisher", {"cell": "a"}, {"cell": "b"},
                            claim="greater", learner={"cell": "b"})
    (check,) = common.evaluate([spec], summary(rows))
    assert check.outcome == "INCONCLUSIVE"


def test_design_must_match_the_preregistration(tmp_path):
    prereg = tmp_path / "s.prereg"
    prereg.write_text("[design]\nseeds = 5\n")
    pre = common.load_prereg("s", str(prereg))
    design = common.Design("x", "seeds", 6)
    with pytest.raises(common.ReproError, match="seeds = 5, but the power calculation gives 6"):
        common.check_design("s", design, pre, "[grid]\nseeds = 6\n")
    design = common.Design("x", "seeds", 5)
    with pytest.raises(common.ReproError, match=r":2: seeds = 4, but the power"):
        common.check_design("s", design, pre, "[grid]\nseeds = 4\n")
    common.check_design("s", design, pre, "[grid]\nseeds = 5\n")


# ------------------------------------------------------------------------------------------------
# the null runner

@needs_bin
def test_null_rate_runs_a_tiny_null(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "repro", "null_rate.py"),
                           "--seeds", "1", "--drivers", "forget_bias", "-j", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("all") and "0/2" in last and "non-INCONCLUSIVE (0.0%)" in last, last
    assert "lr = 1e-12" in last
