"""Per-arm learning-rate tuning of the reproduction drivers (scripts/repro/tuning.py).

What must hold: a [tuning] section is read or refused in one line naming the file and key; the
tuning grid runs every candidate at the tuning delay under its own seed; the pick follows the
pre-registered rule (most solved, then lowest median loss / baseline with diverged runs worst,
then the smaller lr); the study's grid written per arm holds exactly the study's runs (the same
run ids when every arm keeps the file's lr); and a driver run end to end judges each arm at the
lr its search picked.

Example:
    /usr/bin/python3 -m pytest -q tests/test_repro_tuning.py
"""
import configparser
import os
import subprocess
import sys

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "repro"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import common  # noqa: E402
import tuning  # noqa: E402

RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
PY = sys.executable

SWEEP = """; a comment before the sections
[experiment]
name = sweep
seed = 7

[grid]
task = adding, recall
delay = 5, 10, 20
cell = rnn, lstm
hidden = 4
batch = 8
steps = 10
lr = 0.01
eval_every = 10
seeds = 2
"""

BIAS = """[experiment]
name = bias
seed = 3

[grid adding]
task = adding
delay = 6
cell = lstm
forget_bias = 0, 1
hidden = 4
batch = 8
steps = 10
lr = 0.01
eval_every = 10
seeds = 2
"""


def section(text):
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return parser["tuning"]


def spec(per="cell", delay="10", lrs="0.001, 0.01, 0.1"):
    return tuning.from_section(section(f"[tuning]\nlr = {lrs}\nseeds = 2\nseed = 99\n"
                                       f"delay = {delay}\nper = {per}\n"), "x.prereg")


def plan_ids(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    r = subprocess.run([RNNBENCH, "run", str(path), "--plan"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return sorted(line.split()[1] for line in r.stdout.splitlines()[1:] if line.strip())


@pytest.mark.parametrize("body, message", [
    ("seeds = 2\nseed = 1\ndelay = 10\n", "x.prereg: [tuning] lacks lr"),
    ("lr = 0.01\nseeds = 2\nseed = 1\ndelay = 10\n", "give at least two candidates"),
    ("lr = 0.01, fast\nseeds = 2\nseed = 1\ndelay = 10\n", "lr: 'fast' is not a positive number"),
    ("lr = 0.01, -1\nseeds = 2\nseed = 1\ndelay = 10\n", "lr: '-1' is not a positive number"),
    ("lr = 0.01, 0.1\nseeds = two\nseed = 1\ndelay = 10\n", "seeds = 'two' is not an integer"),
    ("lr = 0.01, 0.1\nseeds = 0\nseed = 1\ndelay = 10\n", "seeds = 0: at least 1"),
    ("lr = 0.01, 0.1\nseeds = 2\nseed = 1\ndelay = adding:long\n", "'adding:long' is not TASK:T"),
])
def test_bad_tuning_sections_are_refused_in_one_line(body, message):
    with pytest.raises(tuning.TuningError) as err:
        tuning.from_section(section("[tuning]\n" + body), "x.prereg")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_bad_tuning_section_stops_the_driver_before_any_run(tmp_path):
    prereg = tmp_path / "s.prereg"
    prereg.write_text("[design]\nchecks = 1\n[tuning]\nlr = 0.01\nseeds = 1\nseed = 2\ndelay = 5\n")
    with pytest.raises(common.ReproError, match="give at least two candidates"):
        common.load_prereg("s", str(prereg))


def test_tuning_grid_runs_every_candidate_at_the_tuning_delay_under_its_own_seed():
    text = tuning.tuning_text(SWEEP, spec(delay="adding:20, recall:7"))
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(text)
    assert parser["experiment"]["seed"] == "99" and parser["experiment"]["name"] == "sweep-tune"
    adding, recall = parser["grid adding"], parser["grid recall"]
    assert adding["delay"] == "20"          # listed in the grid: used
    assert recall["delay"] == "20"          # 7 is not in 5, 10, 20: the longest delay
    for grid in (adding, recall):
        assert grid["lr"] == "0.001, 0.01, 0.1" and grid["seeds"] == "2"
        assert grid["cell"] == "rnn, lstm" and grid["steps"] == "10"


def test_split_grid_holds_exactly_the_study_runs(tmp_path):
    """Every arm at the file's own lr: the per-arm file plans the same run ids."""
    for text, per, arms in ((SWEEP, "cell", 4), (BIAS, "cell, forget_bias", 2)):
        spec_ = spec(per=per)
        keys = [tuning.arm_key(task, arm) for kind, _n, lines in tuning.sections(text)
                if kind == "grid" for task, arm in tuning.arms_of(lines, spec_)]
        assert len(keys) == arms
        split = tuning.tuned_text(text, {k: "0.01" for k in keys}, spec_, header="split")
        assert split.startswith("; split\n")
        assert plan_ids(tmp_path, "split.ini", split) == plan_ids(tmp_path, "orig.ini", text)


def test_split_grid_gives_each_arm_its_lr():
    spec_ = spec(per="cell, forget_bias")
    picks = {("adding", ("cell", "lstm"), ("forget_bias", "0")): "0.001",
             ("adding", ("cell", "lstm"), ("forget_bias", "1")): "0.1"}
    parser = configparser.ConfigParser()
    parser.read_string(tuning.tuned_text(BIAS, picks, spec_))
    assert parser["grid adding-lstm-0"]["lr"] == "0.001"
    assert parser["grid adding-lstm-1"]["lr"] == "0.1"
    assert parser["grid adding-lstm-1"]["forget_bias"] == "1"
    del picks[("adding", ("cell", "lstm"), ("forget_bias", "1"))]
    with pytest.raises(tuning.TuningError, match="task=adding cell=lstm forget_bias=1"):
        tuning.tuned_text(BIAS, picks, spec_)


def rows(cell, lr, solved, ratios, status=None):
    return [{"task": "adding", "cell": cell, "lr": lr, "solved": int(i < solved),
             "loss_over_baseline": r, "status": (status or ["finished"] * len(ratios))[i]}
            for i, r in enumerate(ratios)]


def test_pick_follows_the_preregistered_rule():
    text = SWEEP.replace("task = adding, recall", "task = adding")
    df = pd.DataFrame(
        # rnn: nothing solves; 0.1 diverged once, so its median is the worst; 0.001 and 0.01
        # tie on the median: the smaller lr
        rows("rnn", 0.001, 0, [0.5, 0.9]) + rows("rnn", 0.01, 0, [0.9, 0.5])
        + rows("rnn", 0.1, 0, [0.1, 0.2], ["diverged", "diverged"])
        # lstm: most solved wins over a lower loss
        + rows("lstm", 0.001, 0, [0.01, 0.01]) + rows("lstm", 0.01, 1, [0.5, 0.6])
        + rows("lstm", 0.1, 2, [0.3, 0.4]))
    picks, table = tuning.pick(df, text, spec())
    assert picks == {("adding", ("cell", "rnn")): "0.001", ("adding", ("cell", "lstm")): "0.1"}
    assert sum(r[-1] == "**picked**" for r in table) == 2 and len(table) == 6
    assert ["task=adding cell=rnn", "0.1", "0/2", "inf", ""] in table


def test_pick_refuses_a_tuning_grid_without_a_candidate():
    text = SWEEP.replace("task = adding, recall", "task = adding")
    df = pd.DataFrame(rows("rnn", 0.001, 0, [1.0]) + rows("rnn", 0.01, 0, [1.0])
                      + rows("lstm", 0.001, 0, [1.0]) + rows("lstm", 0.01, 0, [1.0]))
    with pytest.raises(tuning.TuningError, match="no run of task=adding cell=rnn at lr 0.1"):
        tuning.pick(df, text, spec())


def test_driver_judges_each_arm_at_the_lr_its_search_picked(tmp_path):
    out = tmp_path / "sweep"
    r = subprocess.run([PY, os.path.join(ROOT, "scripts", "repro", "delay_sweep.py"), "--tiny",
                        "--out", str(out), "-j", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    prereg = common.load_prereg("delay-sweep")
    assert prereg.tuning is not None
    main_text = (out / "delay-sweep.ini").read_text()
    tuned = common.load_summary(str(out / "delay-sweep-tune.h5"))
    picks, _table = tuning.pick(tuned, open(os.path.join(ROOT, "experiments",
                                                         "delay-sweep.ini")).read(),
                                prereg.tuning)
    judged = common.load_summary(str(out / "delay-sweep.h5"))
    assert len(judged) and set(tuned["seed_index"]) <= {0, 1}
    for (task, cell), at in judged.groupby(["task", "cell"]):
        assert set(at["lr"].astype(float)) == {float(picks[(task, ("cell", cell))])}, (task, cell)
    # the tuning grid ran every candidate, at one delay per task, under its own seed
    assert sorted(tuned["lr"].astype(float).unique()) == sorted(map(float, prereg.tuning.lrs))
    assert tuned.groupby("task")["delay"].nunique().max() == 1
    assert "seed = 1001" in (out / "delay-sweep-tune.ini").read_text()
    assert "[grid adding-lstm]" in main_text
    assert "## Learning rates, tuned per arm" in (out / "report.md").read_text()
    # --analyse-only runs nothing and gives the same verdict from the files
    again = subprocess.run([PY, os.path.join(ROOT, "scripts", "repro", "delay_sweep.py"),
                            "--tiny", "--out", str(out), "--analyse-only"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == r.stdout.splitlines()[0]
