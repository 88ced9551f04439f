"""The verdict logic of the budget-curve and continual-stream drivers on synthetic summaries.

No binary is run: each test builds a summary DataFrame (the columns scripts/repro/common.py reads)
whose outcome is known by construction, declares the driver's checks on it and evaluates them as
the driver does (common.evaluate: tests, gates, Holm). Covers copy_task.budget_specs (the same
checks at every budget, one verdict per budget), greff_continual.declare (V as positive control),
delay_sweep.reaches, and scripts/repro/curves.py's budget table and Kaplan-Meier fraction.

Example:
    /usr/bin/python3 -m pytest -q tests/test_repro_verdicts.py
"""
import math
import os
import sys

import numpy as np
import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "repro"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import common  # noqa: E402
import copy_task  # noqa: E402
import curves  # noqa: E402
import delay_sweep  # noqa: E402
import greff_continual  # noqa: E402


def run_rows(task, delay, cell, steps, n, solved, ratio, rng, spread=0.05, solve_step=None,
             status="finished"):
    """n synthetic summary rows: `solved` of them solved (at solve_step), log(final loss /
    baseline) around log(ratio) with sd `spread`."""
    baseline = 1.0 / (delay + 20)
    ratios = np.exp(np.log(ratio) + spread * rng.standard_normal(n))
    rows = []
    for i in range(n):
        ok = i < solved
        rows.append({"task": task, "delay": delay, "cell": cell, "steps": steps, "seed_index": i,
                     "trial": 0, "forget_bias": 1.0, "lr": 0.01, "hidden": 40,
                     "id": f"{task}-{delay}-{cell}-{steps}-{i}", "status": status,
                     "baseline": baseline, "final_loss": baseline * ratios[i],
                     "loss_over_baseline": ratios[i], "solved": int(ok),
                     "steps_to_solve": (solve_step or steps // 2) if ok else -1,
                     "steps_done": (solve_step or steps // 2) if ok else steps})
    return rows


def outcomes(specs, df):
    """{check name: outcome} after the driver's evaluation."""
    return {c.name: c.outcome for c in common.evaluate(specs, df)}


# ------------------------------------------------------------------------------------------------
# copy: the same checks at every budget

def copy_summary(rng, n=12):
    """Budget 500: nothing learned; 8000: lstm and gru beat the baseline far at T=10 and gru
    solves everywhere, lstm beats it at T=40 too (the claim "lstm stays at the baseline at the
    longest T" must FAIL there), rnn stays at the baseline."""
    rows = []
    for delay in (10, 40):
        rows += run_rows("copy", delay, "rnn", 500, n, 0, 1.0, rng)
        rows += run_rows("copy", delay, "lstm", 500, n, 0, 1.0, rng)
        rows += run_rows("copy", delay, "gru", 500, n, 0, 1.0, rng)
        rows += run_rows("copy", delay, "rnn", 8000, n, 0, 1.0, rng, spread=0.02)
        rows += run_rows("copy", delay, "lstm", 8000, n, n, 0.05, rng)
        rows += run_rows("copy", delay, "gru", 8000, n, n, 0.05, rng)
    return pd.DataFrame(rows)


def test_copy_checks_are_made_at_every_budget_and_gated_where_nothing_is_learned():
    df = copy_summary(np.random.default_rng(1))
    specs = []
    for budget in (500, 8000):
        specs += copy_task.budget_specs(df, budget, margin=1.25)
    got = outcomes(specs, df)
    assert len(specs) == 10 and {s.group for s in specs} == {"steps=500", "steps=8000"}
    small = {k: v for k, v in got.items() if k.startswith("steps=500 ")}
    assert set(small.values()) == {"INCONCLUSIVE"}, small  # learner gate: nothing learned
    assert got["steps=8000 lstm T=10: beats the baseline"] == "HOLDS"
    assert got["steps=8000 gru T=10: beats the baseline"] == "HOLDS"
    assert got["steps=8000 rnn T=10: stays at the baseline"] == "HOLDS"  # control lstm solved
    assert got["steps=8000 lstm T=40: stays at the baseline"] == "FAILS"  # 20x below it


def test_copy_rnn_at_baseline_is_inconclusive_without_its_positive_control():
    rng = np.random.default_rng(2)
    df = copy_summary(rng)
    df.loc[(df["cell"] == "lstm") & (df["steps"] == 8000), "solved"] = 0  # lstm never solves
    got = outcomes(copy_task.budget_specs(df, 8000, margin=1.25), df)
    assert got["steps=8000 rnn T=40: stays at the baseline"] == "INCONCLUSIVE"
    assert got["steps=8000 lstm T=10: beats the baseline"] == "HOLDS"  # needs no control


def test_group_lines_give_one_verdict_per_budget():
    df = copy_summary(np.random.default_rng(3))
    specs = copy_task.budget_specs(df, 500, 1.25) + copy_task.budget_specs(df, 8000, 1.25)
    checks = common.evaluate(specs, df)
    lines = common.group_lines(checks, [s.group for s in specs])
    assert lines[0] == "  steps=500: INCONCLUSIVE (0 HOLDS, 0 FAILS, 5 INCONCLUSIVE)"
    assert lines[1] == "  steps=8000: MIXED (4 HOLDS, 1 FAILS, 0 INCONCLUSIVE)"


# ------------------------------------------------------------------------------------------------
# greff-continual: V as the positive control of "the ablation fails"

def continual_summary(rng, v_solved, nfg_solved, noaf_solved, n=10):
    rows = []
    for task in ("reber-continual", "adding-stream"):
        rows += run_rows(task, 500, "lstm-peep", 1000, n, v_solved, 0.01, rng)
        rows += run_rows(task, 500, "lstm-nfg", 1000, n, nfg_solved, 0.5, rng)
        rows += run_rows(task, 500, "lstm-noaf", 1000, n, noaf_solved, 1.0, rng)
    return pd.DataFrame(rows)


def test_greff_continual_holds_when_v_solves_and_the_ablation_does_not():
    df = continual_summary(np.random.default_rng(4), v_solved=10, nfg_solved=0, noaf_solved=9)
    got = outcomes(greff_continual.declare(df), df)
    assert got["adding-stream: NFG fails where V succeeds: V solves more runs than lstm-nfg"] \
        == "HOLDS"
    assert got["adding-stream: NOAF hurts on the long stream: V solves more runs than lstm-noaf"] \
        == "INCONCLUSIVE"  # 10/10 vs 9/10: no difference shown, never a pass


def test_greff_continual_is_inconclusive_when_v_does_not_solve():
    df = continual_summary(np.random.default_rng(5), v_solved=4, nfg_solved=0, noaf_solved=0)
    checks = common.evaluate(greff_continual.declare(df), df)
    assert [c.outcome for c in checks] == ["INCONCLUSIVE"] * 4
    assert all("positive control" in c.gate for c in checks), [c.gate for c in checks]


def test_greff_continual_fails_when_the_ablation_solves_more():
    rng = np.random.default_rng(6)
    df = continual_summary(rng, v_solved=6, nfg_solved=10, noaf_solved=10, n=20)
    df.loc[df["cell"] == "lstm-peep", "solved"] = [1] * 11 + [0] * 9 + [1] * 11 + [0] * 9
    df.loc[df["cell"] != "lstm-peep", "solved"] = 1
    got = outcomes(greff_continual.declare(df), df)
    assert set(got.values()) == {"FAILS"}, got  # 11/20 vs 20/20, Holm over 4: still FAILS


# ------------------------------------------------------------------------------------------------
# delay-sweep reach and the budget curve helpers

def test_delay_sweep_reach_is_the_longest_t_a_majority_solved():
    rng = np.random.default_rng(7)
    rows = run_rows("adding", 10, "lstm", 1000, 9, 9, 0.01, rng)
    rows += run_rows("adding", 20, "lstm", 1000, 9, 5, 0.3, rng)
    rows += run_rows("adding", 40, "lstm", 1000, 9, 4, 0.4, rng)  # 4/9 is not a majority
    assert delay_sweep.reaches(pd.DataFrame(rows)) == (20, 40)


def test_budget_rows_fraction_and_exact_interval():
    rng = np.random.default_rng(8)
    df = pd.DataFrame(run_rows("copy", 10, "gru", 2000, 10, 3, 0.5, rng)
                      + run_rows("copy", 10, "gru", 500, 10, 0, 1.0, rng))
    rows = curves.budget_rows(df, ["gru"])
    assert [r[2] for r in rows] == [500, 2000]
    cell, delay, budget, text, frac, low, high, _ratio = rows[1]
    assert (cell, delay, text, frac) == ("gru", 10, "3/10", 0.3)
    # Clopper-Pearson 95 % for 3/10 (the beta quantiles): 0.0667 to 0.6525
    assert math.isclose(low, 0.06673951, rel_tol=1e-5) and math.isclose(high, 0.65245928,
                                                                         rel_tol=1e-5)
    assert rows[0][3] == "0/10" and rows[0][5] == 0.0


def test_km_fraction_solved_counts_censored_runs():
    df = pd.DataFrame({"solved": [1, 1, 0, 0], "steps_to_solve": [100, 300, -1, -1],
                       "steps": [1000] * 4})
    times, solved = curves.km_fraction_solved(df)
    assert list(times) == [0.0, 100.0, 300.0]
    assert list(solved) == pytest.approx([0.0, 0.25, 0.5])


def test_copy_reads_a_run_at_each_budget_from_its_evaluations():
    row = {"id": "r", "baseline": 0.5, "solved": 1, "steps_to_solve": 2000, "steps_done": 2000,
           "status": "done", "steps": 8000, "final_loss": 0.001, "loss_over_baseline": 0.002}
    steps = np.array([0, 250, 500, 1000, 2000], dtype=float)  # stopped when solved at 2000
    loss = np.array([0.6, 0.55, 0.5, 0.3, 0.001])
    at500 = copy_task.at_budget(row, steps, loss, 500)
    assert (at500["steps"], at500["final_loss"], at500["solved"]) == (500, 0.5, 0)
    assert at500["loss_over_baseline"] == 1.0 and at500["steps_to_solve"] == -1
    at8000 = copy_task.at_budget(row, steps, loss, 8000)  # the run's last evaluation
    assert (at8000["final_loss"], at8000["solved"], at8000["steps_to_solve"]) == (0.001, 1, 2000)
    diverged = dict(row, solved=0, steps_to_solve=-1, status="diverged", steps_done=1000)
    assert copy_task.at_budget(diverged, steps[:4], loss[:4], 500)["status"] == "done"
    assert copy_task.at_budget(diverged, steps[:4], loss[:4], 2000)["status"] == "diverged"


def test_permutation_null_shuffles_the_factor_within_blocks_only():
    import null_permute
    rng = np.random.default_rng(9)
    rows = []
    for seed in range(6):
        for cell in ("lstm", "rnn", "gru"):
            rows.append({"task": "adding", "delay": 50, "seed_index": seed, "trial": 0,
                         "lr": 0.01, "cell": cell, "solved": int(cell == "lstm")})
    df = pd.DataFrame(rows)
    moved = 0
    for _ in range(20):
        permuted = null_permute.permute(df, "cell", rng)
        for _seed, block in permuted.groupby("seed_index"):
            assert sorted(block["cell"]) == ["gru", "lstm", "rnn"]  # each draw keeps its arms
        moved += int((permuted["cell"] != df["cell"]).any())
        assert list(permuted["solved"]) == list(df["solved"])  # outcomes stay with their runs
    assert moved >= 18
    # unpermuted, lstm solves 6/6 against rnn's 0/6 (Fisher p = 0.002); permuted, the solves
    # spread over the arms
    spec = common.CheckSpec("lstm solves more than rnn", "fisher", {"cell": "lstm"},
                            {"cell": "rnn"}, claim="greater")
    assert outcomes([spec], df)["lstm solves more than rnn"] == "HOLDS"
    held = sum(outcomes([spec], null_permute.permute(df, "cell", rng))
               ["lstm solves more than rnn"] == "HOLDS" for _ in range(30))
    assert held <= 6  # a one-sided p < 0.05 needs most of the six solves on lstm, none on rnn


def test_permutation_null_permutes_arms_tuned_to_their_own_lr():
    """Each arm at its own lr, in its own [grid] section: the lr and the section go with the arm,
    so they must not make every run a block of its own (which would leave the data unpermuted:
    the null would then report the real verdicts)."""
    import null_permute
    rng = np.random.default_rng(3)
    rows = [{"section": f"adding-{cell}", "task": "adding", "delay": 50, "seed_index": seed,
             "trial": 0, "lr": lr, "cell": cell, "solved": int(cell == "lstm")}
            for seed in range(6) for cell, lr in (("lstm", 0.03), ("rnn", 0.001))]
    df = pd.DataFrame(rows)
    assert null_permute.arm_settings(df, "cell") == ["section", "lr"]
    moved = sum(int((null_permute.permute(df, "cell", rng)["cell"] != df["cell"]).any())
                for _ in range(20))
    assert moved >= 18
    # a shared draw (greff2015: lr drawn per trial, the same for every cell) stays a block key
    shared = pd.DataFrame([{"task": "t", "delay": 30, "trial": k, "lr": 0.001 * (k + 1),
                            "cell": c, "solved": 0} for k in range(4) for c in ("a", "b")])
    assert null_permute.arm_settings(shared, "cell") == []
