"""Checks of scripts/compare.py and the loader scripts/rnnbench_results.py.

The results files are synthetic, written here with h5py following results/README.md, so the
numbers are known: Welch's t-test against scipy's own and against the textbook formula, grouping
per (task, delay), --where filters, the three output formats, the steps_to_solve convention, and
the loader's one-line errors for missing, non-HDF5, truncated, foreign and incomplete files.
`write_results` is also used by test_plot.py.

Run: /usr/bin/python3 -m pytest -q tests/test_compare.py
"""
import csv
import io
import math
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")
sys.path.insert(0, SCRIPTS)

import compare  # noqa: E402
import rnnbench_results as rr  # noqa: E402

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# the summary table's columns and types, in the order results/README.md lists them
SUMMARY_DTYPE = np.dtype([
    ("id", "S17"), ("section", "S64"), ("task", "S32"), ("delay", "<i4"), ("cell", "S64"),
    ("hidden", "<i4"), ("batch", "<i4"), ("steps", "<i8"), ("optimizer", "S8"), ("lr", "<f8"),
    ("momentum", "<f8"), ("clip", "<f8"), ("forget_bias", "<f8"), ("init_scale", "<f8"),
    ("input_noise", "<f8"), ("seed_index", "<i4"), ("trial", "<i4"), ("seed", "<u8"),
    ("loss_kind", "S8"), ("n_params", "<i8"), ("status", "S16"), ("baseline", "<f8"),
    ("final_loss", "<f8"), ("loss_over_baseline", "<f8"), ("best_eval_loss", "<f8"),
    ("final_accuracy", "<f8"), ("solved", "<i4"), ("steps_to_solve", "<i8"),
    ("steps_done", "<i8"), ("wall_s", "<f8"), ("run_index", "<i4")])
BASELINES = {"adding": 1 / 6, "copy": None, "recall": math.log(4)}
# run attributes of results/README.md that the synthetic runs do not vary
RUN_ATTRS_FIXED = {"n_classes": 4, "form": 0, "n_symbols": 10, "alphabet": 8, "momentum": 0.0,
                   "nesterov": 0, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8, "clip": 1.0,
                   "init_scale": 0.0, "forget_bias": 1.0, "input_noise": 0.0, "eval_size": 32,
                   "stop_when_solved": 1, "diverge_factor": 10.0, "experiment_seed": 1,
                   "wall_s": 0.01, "error": ""}
CELL_FLAGS = {"lstm": {"input_gate": 1, "forget_gate": 1, "output_gate": 1, "peepholes": 1,
                       "coupled": 0, "full_gate_recurrence": 0, "input_activation": "tanh",
                       "output_activation": "tanh"},
              "gru": {"reset_after": 0}, "rnn": {"activation": "tanh"}}
GATES = {"lstm": "i,f,z,o", "lstm-peep": "i,f,z,o", "lstm-nfg": "i,z,o", "gru": "r,u,n"}


def task_baseline(task, delay):
    """The trivial loss of the tasks the synthetic files use (tasks.md)."""
    if task == "copy":
        return 10 * math.log(8) / (delay + 20)
    return BASELINES[task]


def make_run(task="adding", delay=10, cell="lstm", seed_index=0, final_loss=0.1, **extra):
    """Return the parameters and outcome of one synthetic run (keys of the summary table)."""
    run = {"task": task, "delay": delay, "cell": cell, "seed_index": seed_index,
           "final_loss": final_loss, "best_eval_loss": final_loss * 0.9, "solved": 0,
           "steps_to_solve": -1, "steps": 200, "steps_done": 200, "status": "done",
           "hidden": 8, "batch": 8, "lr": 0.01, "eval_every": 20}
    run.update(extra)
    return run


def write_results(path, runs, complete=1, file_attrs=None, seed=0, first_id=0):
    """Write an rnnbench results file with the layout of results/README.md for `runs`
    (dicts from make_run); curves are smooth decays with a little noise, gradient flow decays
    backwards in time, gates drift. Run ids count from first_id + 1 (files meant to be read
    together need distinct ids). Returns the list of run ids, in file order."""
    rng = np.random.default_rng(seed)
    summary = np.zeros(len(runs), dtype=SUMMARY_DTYPE)
    ids = []
    with h5py.File(path, "w") as f:
        attrs = {"format": "rnnbench-results", "format_version": 1, "rnnbench_version": "0.1.0",
                 "git_commit": "testcommit", "experiment_name": "synthetic",
                 "experiment_path": "synthetic.ini", "experiment_text": "[experiment]\n",
                 "experiment_hash": "0" * 16, "experiment_seed": 1,
                 "start_time": "2026-01-01T00:00:00Z", "host": "test", "precision": "float",
                 "gemm_backend": "openblas", "n_runs": len(runs), "n_finished": len(runs),
                 "complete": complete}
        attrs.update(file_attrs or {})
        for key, value in attrs.items():
            f.attrs[key] = value
        runs_group = f.create_group("runs")
        for index, run in enumerate(runs):
            run_id = f"{first_id + index + 1:016x}"
            ids.append(run_id)
            task, delay, cell = run["task"], run["delay"], run["cell"]
            baseline = task_baseline(task, delay)
            loss_kind = "mse" if task == "adding" else "xent"
            row = summary[index]
            for key, value in [("id", run_id), ("section", run.get("section", "grid")), ("task", task),
                               ("cell", cell), ("optimizer", "adam"), ("loss_kind", loss_kind),
                               ("status", run["status"])]:
                row[key] = value.encode()
            for key in ("delay", "hidden", "batch", "steps", "lr", "seed_index", "final_loss",
                        "best_eval_loss", "solved", "steps_to_solve", "steps_done"):
                row[key] = run[key]
            row["clip"], row["forget_bias"], row["trial"] = 1.0, 1.0, -1
            row["seed"], row["n_params"], row["baseline"] = 1000 + index, 100, baseline
            row["loss_over_baseline"] = run["final_loss"] / baseline
            row["final_accuracy"], row["wall_s"], row["run_index"] = 0.5, 0.01, index

            group = runs_group.create_group(run_id)
            group.attrs.update({"task": task, "delay": delay, "cell": cell,
                                "cell_requested": cell, "hidden": run["hidden"],
                                "batch": run["batch"], "steps": run["steps"],
                                "optimizer": "adam", "lr": run["lr"],
                                "seed_index": run["seed_index"], "trial": -1,
                                "seed": str(1000 + index), "loss_kind": loss_kind,
                                "status": run["status"], "steps_done": run["steps_done"],
                                "baseline": baseline, "final_loss": run["final_loss"],
                                "best_eval_loss": run["best_eval_loss"],
                                "solved": run["solved"], "steps_to_solve": run["steps_to_solve"],
                                "diverged_step": -1, "eval_every": run["eval_every"]})
            group.attrs.update(RUN_ATTRS_FIXED)
            group.attrs.update({"sequence_length": delay + 2, "final_accuracy": 0.5,
                                "diverged_reason": "", "peak_rss_bytes": 10 ** 7,
                                "cache_bytes": 1000 * (delay + 2), "n_params": 100,
                                "input_size": 2, "output_size": 1})
            group.attrs.update(CELL_FLAGS.get(cell.split("-")[0], {}))
            n_steps = run["steps_done"]
            steps = np.arange(1, n_steps + 1)
            start = baseline * 1.5
            loss = run["final_loss"] + (start - run["final_loss"]) * np.exp(-steps / 40)
            loss *= np.exp(rng.normal(0, 0.05, n_steps))
            group["train/step"] = steps
            group["train/loss"] = loss.astype(np.float32)
            group["train/grad_norm"] = rng.uniform(0.5, 2, n_steps).astype(np.float32)
            norms = rng.uniform(0, 1, (n_steps, 3)).astype(np.float32)
            by_tensor = group.create_dataset("train/grad_norm_by_tensor", data=norms)
            by_tensor.attrs["columns"] = "weight_ih,weight_hh,bias"
            eval_steps = np.unique(np.r_[np.arange(0, n_steps, run["eval_every"]), n_steps])
            fraction = eval_steps / max(n_steps, 1)
            eval_loss = start + (run["final_loss"] - start) * fraction
            group["eval/step"] = eval_steps
            group["eval/loss"] = eval_loss
            group["eval/accuracy"] = 0.5 * fraction
            group["eval/loss_over_baseline"] = eval_loss / baseline
            length = delay + 2
            decay = 0.5 if cell == "rnn" else 0.9
            t_back = np.arange(length)[::-1]
            flow = np.outer(1 + fraction, decay ** t_back) * 1e-2
            flow[0, 0] = 0.0  # an exact zero, drawn grey on the log scale
            group["eval/grad_flow_h"] = flow.astype(np.float32)
            if cell in GATES:
                if cell.startswith("lstm"):
                    group["eval/grad_flow_c"] = (flow * 2).astype(np.float32)
                columns = GATES[cell].split(",")
                gates = 0.5 + np.outer(fraction, np.linspace(-0.3, 0.3, len(columns)))
                gate_mean = group.create_dataset("eval/gate_mean", data=gates.astype(np.float32))
                gate_mean.attrs["columns"] = GATES[cell]
        f.create_dataset("summary", data=summary)
    return ids


# the known sample of the t-test: the baseline variant and one clearly worse, one alike
SAMPLE = {"lstm-peep": [0.10, 0.12, 0.11, 0.13, 0.09],
          "lstm-nfg": [0.20, 0.15, 0.25, 0.18, 0.22, 0.19],
          "lstm": [0.11, 0.10, 0.14, 0.12]}


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    """Two tasks x two delays; in adding/10 the cells have the SAMPLE losses (read-only)."""
    runs = []
    for task, delay in [("adding", 10), ("adding", 100), ("copy", 10), ("copy", 100)]:
        for cell, losses in SAMPLE.items():
            for seed_index, loss in enumerate(losses):
                if (task, delay) != ("adding", 10):
                    loss = loss * (1 + delay / 100)
                runs.append(make_run(task, delay, cell, seed_index, loss, steps_done=40,
                                     steps=40))
    path = str(tmp_path_factory.mktemp("compare") / "sample.h5")
    write_results(path, runs)
    return path


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


# ------------------------------------------------------------------------------------------------
# statistics

def test_welch_against_scipy_and_the_formula(sample_file):
    out = compare.compare(sample_file, baseline="lstm-peep", fmt="csv",
                          where=["task=adding,delay=10"])
    rows = {r["cell"]: r for r in csv_rows(out)}
    base = np.array(SAMPLE["lstm-peep"])
    for cell in ("lstm-nfg", "lstm"):
        x = np.array(SAMPLE[cell])
        ref = stats.ttest_ind(x, base, equal_var=False)
        # the textbook formula, independent of scipy's implementation
        vx, vb = x.var(ddof=1) / len(x), base.var(ddof=1) / len(base)
        t = (x.mean() - base.mean()) / math.sqrt(vx + vb)
        dof = (vx + vb) ** 2 / (vx ** 2 / (len(x) - 1) + vb ** 2 / (len(base) - 1))
        p = 2 * stats.t.sf(abs(t), dof)
        assert float(rows[cell]["t"]) == pytest.approx(ref.statistic, rel=1e-12)
        assert float(rows[cell]["p"]) == pytest.approx(ref.pvalue, rel=1e-12)
        assert float(rows[cell]["t"]) == pytest.approx(t, rel=1e-10)
        assert float(rows[cell]["p"]) == pytest.approx(p, rel=1e-8)
        assert float(rows[cell]["median"]) == pytest.approx(np.median(x))
        assert float(rows[cell]["q1"]) == pytest.approx(np.percentile(x, 25))
        assert float(rows[cell]["q3"]) == pytest.approx(np.percentile(x, 75))
        assert int(rows[cell]["n"]) == len(x)
    assert rows["lstm-nfg"]["significant"] == "1"
    assert rows["lstm"]["significant"] == "0"
    assert rows["lstm-peep"]["p"] == "" and rows["lstm-peep"]["significant"] == ""


def test_text_marks_significant_variants(sample_file):
    out = compare.compare(sample_file, baseline="lstm-peep", where=["task=adding,delay=10"])
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("lstm")}
    assert lines["lstm-nfg"].endswith(" *")
    assert not lines["lstm"].endswith("*")
    assert "baseline" in lines["lstm-peep"]
    assert "Welch's t-test" in out and "equal_var=False" in out


def test_welch_undefined_cases():
    assert all(math.isnan(x) for x in compare.welch([1.0], [1.0, 2.0]))
    assert all(math.isnan(x) for x in compare.welch([1.0, 1.0], [2.0, 2.0]))


# ------------------------------------------------------------------------------------------------
# grouping, filters, conventions

def test_one_group_per_task_and_delay_variants_in_file_order(sample_file):
    rows = csv_rows(compare.compare(sample_file, fmt="csv"))
    groups = []
    for r in rows:
        if (r["task"], r["delay"]) not in groups:
            groups.append((r["task"], r["delay"]))
    assert groups == [("adding", "10"), ("adding", "100"), ("copy", "10"), ("copy", "100")]
    assert [r["cell"] for r in rows[:3]] == list(SAMPLE)
    assert [int(r["n"]) for r in rows[:3]] == [len(v) for v in SAMPLE.values()]
    assert all(r["t"] == "" for r in rows)  # no --baseline, no t-test
    text = compare.compare(sample_file)
    assert "\nadding, delay 10\n" in text and "\ncopy, delay 100\n" in text
    assert " t " not in text.splitlines()[3]


def test_by_delay_groups_per_task(sample_file):
    rows = csv_rows(compare.compare(sample_file, by="delay", fmt="csv", baseline="10"))
    assert list(rows[0])[:2] == ["task", "delay"]
    assert [(r["task"], r["delay"]) for r in rows] == [("adding", "10"), ("adding", "100"),
                                                       ("copy", "10"), ("copy", "100")]
    assert rows[1]["p"] != ""
    assert "pools runs that differ in cell" in compare.compare(sample_file, by="delay")


@pytest.mark.parametrize("where, expected", [
    (["task=copy,delay=100"], {("copy", "100")}),
    (["task=copy", "delay=100"], {("copy", "100")}),
    (["delay>=50"], {("adding", "100"), ("copy", "100")}),
    (["delay<50,task!=copy"], {("adding", "10")}),
    (["cell=lstm|lstm-nfg,task=adding,delay==10"], {("adding", "10")}),
    (["final_loss<0.095"], {("adding", "10")}),
])
def test_where_filters(sample_file, where, expected):
    rows = csv_rows(compare.compare(sample_file, fmt="csv", where=where))
    assert {(r["task"], r["delay"]) for r in rows} == expected
    if "cell=" in where[0]:
        assert [r["cell"] for r in rows] == ["lstm-nfg", "lstm"]
    if "final_loss" in where[0]:
        assert [(r["cell"], r["n"]) for r in rows] == [("lstm-peep", "1")]


@pytest.mark.parametrize("where, message", [
    ("colour=red", "no summary column 'colour'"),
    ("cell<3", "cell is text"),
    ("delay=ten", "delay is numeric"),
    ("delay", "bad --where condition"),
    ("task=reber", "no runs match --where task=reber"),
])
def test_where_errors_exit_2_with_one_line(sample_file, capsys, where, message):
    assert compare.main([sample_file, "--where", where]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("compare.py: ")


def test_steps_to_solve_counts_unsolved_runs_as_the_budget(tmp_path):
    path = str(tmp_path / "solve.h5")
    runs = [make_run(cell="lstm", seed_index=0, solved=1, steps_to_solve=40, steps_done=40),
            make_run(cell="lstm", seed_index=1, solved=1, steps_to_solve=80, steps_done=80),
            make_run(cell="lstm", seed_index=2),  # never solved: counts as steps = 200
            make_run(cell="rnn", seed_index=0, status="diverged", steps_done=3)]
    write_results(path, runs)
    rows = {r["cell"]: r for r in csv_rows(compare.compare(path, metric="steps_to_solve",
                                                           fmt="csv"))}
    assert float(rows["lstm"]["median"]) == 80
    assert float(rows["lstm"]["mean"]) == pytest.approx((40 + 80 + 200) / 3)
    assert rows["lstm"]["n_solved"] == "2" and rows["lstm"]["solved_fraction"] == repr(2 / 3)
    assert float(rows["rnn"]["median"]) == 200 and rows["rnn"]["n_diverged"] == "1"
    text = compare.compare(path, metric="steps_to_solve")
    assert "never solved counts as its step budget" in " ".join(text.split())
    assert "2/3" in text


def test_failed_runs_are_counted_and_left_out(tmp_path):
    """A failed run's NaN numbers are no data: not in n, the quartiles, the t-test or the runs
    counted as solved, not the step budget under steps_to_solve; a `failed` column counts it."""
    path = str(tmp_path / "failed.h5")
    runs = [make_run(cell="lstm", seed_index=s, final_loss=0.1 + 0.01 * s) for s in range(3)]
    runs += [make_run(cell="lstm", seed_index=3, final_loss=float("nan"), status="failed",
                      steps_done=0),
             make_run(cell="gru", seed_index=0, final_loss=0.2),
             make_run(cell="gru", seed_index=1, final_loss=0.3),
             make_run(cell="gru", seed_index=2, final_loss=5.0, status="failed")]
    write_results(path, runs)
    rows = {r["cell"]: r for r in csv_rows(compare.compare(path, fmt="csv", baseline="lstm"))}
    assert (rows["lstm"]["n"], rows["lstm"]["n_runs"], rows["lstm"]["n_failed"]) == ("3", "3", "1")
    assert (rows["gru"]["n"], rows["gru"]["n_runs"], rows["gru"]["n_failed"]) == ("2", "2", "1")
    assert float(rows["gru"]["median"]) == pytest.approx(0.25)  # the failed 5.0 is not data
    t, p = compare.welch([0.2, 0.3], [0.1, 0.11, 0.12])
    assert float(rows["gru"]["t"]) == pytest.approx(t)
    steps = {r["cell"]: r for r in csv_rows(compare.compare(path, fmt="csv",
                                                            metric="steps_to_solve"))}
    assert steps["lstm"]["n"] == "3" and steps["gru"]["n"] == "2"  # no budget for failed runs
    text = compare.compare(path)
    header = next(line for line in text.splitlines() if line.startswith("cell"))
    assert header.split()[-1] == "failed"
    assert "without a final_loss value" not in text  # failed runs are not "missing values"
    assert "failed: runs that failed or were cancelled" in " ".join(text.split())
    assert "| failed |" in compare.compare(path, fmt="md")


def test_no_failed_column_without_failed_runs(sample_file):
    assert "failed" not in compare.compare(sample_file)


def test_format_versions(tmp_path):
    path = str(tmp_path / "v.h5")
    for version, readable in ((1, True), (2, True), (3, False), (0, False)):
        write_results(path, [make_run()], file_attrs={"format_version": version})
        if readable:
            assert len(rr.read_summary(path)) == 1
        else:
            with pytest.raises(rr.ResultsError, match=f"format_version {version} is not one "
                                                      f"this script reads \\(1 or 2\\)"):
                rr.read_summary(path)


def test_best_eval_metric_reads_best_eval_loss(sample_file):
    rows = csv_rows(compare.compare(sample_file, metric="best_eval", fmt="csv",
                                    where=["task=adding,delay=10,cell=lstm-peep"]))
    assert float(rows[0]["median"]) == pytest.approx(np.median(SAMPLE["lstm-peep"]) * 0.9)


def test_baseline_missing_in_one_group_is_said_there(tmp_path, capsys):
    path = str(tmp_path / "partial.h5")
    runs = [make_run(delay=d, cell=c, seed_index=s, final_loss=0.1 + 0.01 * s)
            for d in (10, 20) for c in ("lstm", "gru") for s in range(3)
            if not (d == 20 and c == "lstm")]
    write_results(path, runs)
    text = compare.compare(path, baseline="lstm")
    second = text.split("adding, delay 20")[1]
    assert "baseline 'lstm' has no runs in this group: no t-test." in second
    assert "baseline 'lstm'" not in text.split("adding, delay 20")[0]
    assert compare.main([path, "--baseline", "lstm-peep"]) == 2
    assert "--baseline 'lstm-peep' is not a cell of the selected runs (lstm, gru)" in \
        capsys.readouterr().err


def test_pooled_hyperparameters_are_noted(tmp_path):
    path = str(tmp_path / "pooled.h5")
    write_results(path, [make_run(cell="lstm", hidden=h, seed_index=s) for h in (8, 16)
                         for s in range(2)])
    assert "pools runs that differ in hidden (8, 16)" in compare.compare(path)
    assert "pools" not in compare.compare(path, where=["hidden=16"])


def test_a_setting_that_differs_only_between_variants_is_named_not_pooled(tmp_path):
    """The drivers' per-arm tuning runs each cell at its own lr, in its own [grid] section: the
    table names the lr of each cell and says nothing of the sections."""
    path = str(tmp_path / "tuned.h5")
    write_results(path, [make_run(cell=c, lr=lr, section=f"adding-{c}", seed_index=s)
                         for c, lr in (("lstm", 0.003), ("gru", 0.03)) for s in range(3)])
    text = compare.compare(path, baseline="lstm")
    assert "the cells also differ in lr (lstm 0.003, gru 0.03): each ran at its own setting" \
        in text
    assert "pools" not in text and "section" not in text
    # within a cell two lrs are pooled, as before
    write_results(path, [make_run(cell="lstm", lr=lr, seed_index=s) for lr in (0.003, 0.01)
                         for s in range(2)])
    assert "pools runs that differ in lr (0.003, 0.01)" in compare.compare(path)


# ------------------------------------------------------------------------------------------------
# formats

def test_text_format_is_aligned(sample_file):
    out = compare.compare(sample_file, baseline="lstm-peep")
    block = out.split("adding, delay 100\n")[1].split("\n\n")[0].splitlines()
    table = [line for line in block if not line.startswith("  note")]
    assert table[0].split()[:6] == ["cell", "n", "median", "q1", "q3", "mean"]
    ends = [line.index(word) + len(word) for line, word in
            zip(table, ["median"] + [line.split()[2] for line in table[1:]])]
    assert len(set(ends)) == 1, table  # the median column is right-aligned
    assert len({len(line) for line in table[2:]}) == 1  # rows below the baseline: same width


def test_markdown_format(sample_file):
    out = compare.compare(sample_file, baseline="lstm-peep", fmt="md")
    assert "### adding, delay 10" in out and "### copy, delay 100" in out
    table_lines = [line for line in out.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table_lines}) == 1
    assert "|---|---:|" in out
    assert "| **lstm-peep** |" in out
    assert len(table_lines) == 4 * (2 + len(SAMPLE))


def test_csv_format(sample_file):
    out = compare.compare(sample_file, baseline="lstm-peep", fmt="csv")
    lines = out.splitlines()
    assert lines[0] == ("task,delay,cell,metric,n,median,q1,q3,mean,n_runs,n_solved,"
                        "solved_fraction,n_diverged,n_failed,baseline,t,p,significant")
    rows = csv_rows(out)
    assert len(rows) == 4 * len(SAMPLE) == len(lines) - 1
    assert all(r["metric"] == "final_loss" and r["baseline"] == "lstm-peep" for r in rows)
    for r in rows:
        float(r["median"])


def test_summary_strings_are_decoded(sample_file):
    df = rr.read_summary(sample_file)
    assert df.task.iloc[0] == "adding" and isinstance(df.cell.iloc[0], str)
    assert list(df.run_index) == list(range(len(df)))


# ------------------------------------------------------------------------------------------------
# loader errors

def foreign_hdf5(path):
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def other_format(path):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "rnnbench-trace"


def no_summary(path):
    write_results(path, [make_run()])
    with h5py.File(path, "a") as f:
        del f["summary"]


def empty_summary(path):
    write_results(path, [])


def truncated(path):
    write_results(path, [make_run(seed_index=s) for s in range(4)])
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


@pytest.mark.parametrize("make, message", [
    (None, "no such file"),
    (lambda p: open(p, "w").write("task,delay\nadding,10\n"), "not an HDF5 file"),
    (lambda p: open(p, "w").close(), "empty file (0 bytes)"),
    (truncated, "truncated HDF5 file"),
    (foreign_hdf5, "HDF5 but not an rnnbench results file (no 'format' attribute"),
    (other_format, "not an rnnbench results file (format = 'rnnbench-trace'"),
    (no_summary, "no summary table"),
    (empty_summary, "no finished runs"),
])
def test_loader_errors(tmp_path, make, message):
    path = str(tmp_path / "bad.h5")
    if make is not None:
        make(path)
    with pytest.raises(rr.ResultsError) as info:
        rr.open_results(path)
    text = str(info.value)
    assert text.startswith(path + ": ") and message in text and "\n" not in text


def test_loader_missing_dataset_and_run(tmp_path):
    path = str(tmp_path / "holes.h5")
    ids = write_results(path, [make_run(cell="lstm"), make_run(cell="lstm", seed_index=1)])
    with h5py.File(path, "a") as f:
        del f[f"runs/{ids[0]}/eval/grad_flow_h"]
        del f[f"runs/{ids[1]}"]
    with rr.open_results(path) as res:
        run = res.run(ids[0])
        assert run.attrs["cell"] == "lstm"
        assert run["train/loss"].shape == (200,)
        assert run.columns("eval/gate_mean") == ["i", "f", "z", "o"]
        assert not run.has("eval/grad_flow_h")
        with pytest.raises(rr.ResultsError, match=f"run {ids[0]} has no dataset eval/grad_flow_h"):
            run["eval/grad_flow_h"]
        with pytest.raises(rr.ResultsError, match=f"runs/{ids[1]} is missing"):
            res.run(ids[1])


def test_cli_bad_file_and_bad_option_no_traceback(tmp_path):
    path = str(tmp_path / "bad.h5")
    truncated(path)
    script = os.path.join(SCRIPTS, "compare.py")
    r = subprocess.run([PYTHON, script, path], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("compare.py: ") and "truncated" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = subprocess.run([PYTHON, script, path, "--metric", "loss"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "invalid choice" in r.stderr


# ------------------------------------------------------------------------------------------------
# calibrated checks (scripts/rnnbench_stats.py) and confounded baselines (scripts/rnnbench_cells.py)

def test_confounded_baseline_is_refused_and_names_the_right_base(sample_file, capsys):
    """lstm-nfg is lstm-peep minus its forget gate: against lstm (no peepholes) two parts change,
    so it gets no test and a note naming lstm-peep; the command line warns on stderr."""
    out = compare.compare(sample_file, baseline="lstm", where=["task=adding,delay=10"])
    text = " ".join(out.split())
    assert "CONFOUNDED: lstm-nfg differs from lstm in forget_gate (0 vs 1) AND peepholes " \
           "(1 vs 0)" in text
    assert "compare it with lstm-peep (differs in forget_gate only; the base of Greff's " \
           "single ablations, in this file)" in text
    assert "Not tested" in text
    rows = {r["cell"]: r for r in csv_rows(compare.compare(
        sample_file, baseline="lstm", fmt="csv", where=["task=adding,delay=10"]))}
    assert rows["lstm-nfg"]["p"] == "" and rows["lstm-peep"]["p"] != ""
    assert compare.main([sample_file, "--baseline", "lstm", "--where", "task=adding"]) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING: CONFOUNDED: lstm-nfg differs from lstm") == 1  # once, not per T
    allowed = compare.compare(sample_file, baseline="lstm", where=["task=adding,delay=10"],
                              allow_confounded=True, fmt="csv")
    assert {r["cell"]: r for r in csv_rows(allowed)}["lstm-nfg"]["p"] != ""
    # the right base: one part apart, no warning
    assert "CONFOUNDED" not in compare.compare(sample_file, baseline="lstm-peep")


def test_cell_flags_come_from_the_kind_attribute_when_the_file_has_it(tmp_path):
    """A run's `kind` and flags win over its name: here the run named lstm-nfg records no
    peepholes (as lstm-1997 would), so against lstm it differs in the forget gate only."""
    path = str(tmp_path / "kind.h5")
    runs = [make_run(cell=c, seed_index=s, final_loss=0.1 + 0.01 * s + 0.05 * (c == "lstm"))
            for c in ("lstm", "lstm-nfg") for s in range(3)]
    ids = write_results(path, runs)
    with h5py.File(path, "a") as f:
        for run_id, run in zip(ids, runs):
            attrs = f[f"runs/{run_id}"].attrs
            attrs["kind"] = "lstm"
            attrs.update({"input_gate": 1, "forget_gate": int(run["cell"] == "lstm"),
                          "output_gate": 1, "peepholes": 0, "coupled": 0,
                          "full_gate_recurrence": 0, "input_activation": "tanh",
                          "output_activation": "tanh"})
    assert "CONFOUNDED" not in compare.compare(path, baseline="lstm")
    with h5py.File(path, "a") as f:  # the name's flags (peepholes = 1): confounded again
        for run_id in ids:
            del f[f"runs/{run_id}"].attrs["kind"]
    assert "CONFOUNDED: lstm-nfg" in compare.compare(path, baseline="lstm")


def test_checks_are_paired_on_shared_draws_and_holm_corrected(sample_file):
    """In the sample, lstm and lstm-peep ran seeds 0..3 alike (paired on the first four),
    lstm-nfg has six seeds against five (unpaired: Welch on logs)."""
    out = compare.compare(sample_file, baseline="lstm-peep", fmt="checks",
                          where=["task=adding,delay=10"])
    rows = {r["cell"]: r for r in csv_rows(out)}
    assert set(rows) == {"lstm-nfg", "lstm"}
    base = np.log(SAMPLE["lstm-peep"])
    welch_log = stats.ttest_ind(np.log(SAMPLE["lstm-nfg"]), base, equal_var=False)
    assert rows["lstm-nfg"]["test"] == "Welch's t"
    assert float(rows["lstm-nfg"]["p"]) == pytest.approx(welch_log.pvalue, rel=1e-12)
    assert float(rows["lstm-nfg"]["p_holm"]) == pytest.approx(
        min(1.0, 2 * min(float(rows["lstm-nfg"]["p"]), float(rows["lstm"]["p"]))), rel=1e-9)
    assert rows["lstm-nfg"]["outcome"] == "HOLDS"
    # lstm has 4 runs against lstm-peep's 5: not one to one, so unpaired as well
    assert rows["lstm"]["test"] == "Welch's t" and rows["lstm"]["outcome"] == "INCONCLUSIVE"
    text = compare.compare(sample_file, baseline="lstm-peep", where=["task=adding,delay=10"])
    assert "HOLDS        lstm-nfg vs lstm-peep: log ratio" in text
    assert "checks (claim: each variant differs from the baseline; Holm over 2): 1 HOLDS, " \
           "0 FAILS, 1 INCONCLUSIVE" in text


def test_paired_design_uses_wilcoxon_on_log_loss(tmp_path):
    path = str(tmp_path / "paired.h5")
    base = [0.10, 0.20, 0.05, 0.40, 0.15, 0.30, 0.08]
    worse = [b * f for b, f in zip(base, [1.5, 1.2, 2.0, 1.1, 1.7, 1.3, 1.9])]
    runs = [make_run(cell=c, seed_index=s, final_loss=v)
            for c, values in (("lstm-peep", base), ("lstm-nfg", worse))
            for s, v in enumerate(values)]
    write_results(path, runs)
    rows = csv_rows(compare.compare(path, baseline="lstm-peep", fmt="checks", claim="greater"))
    assert rows[0]["test"] == "Wilcoxon signed-rank, paired" and rows[0]["n"] == "7"
    ref = stats.wilcoxon(np.log(worse) - np.log(base))
    assert float(rows[0]["p"]) == pytest.approx(ref.pvalue)
    assert rows[0]["outcome"] == "HOLDS"  # all 7 pairs worse: exact p = 2/128
    rows = csv_rows(compare.compare(path, baseline="lstm-peep", fmt="checks", claim="less"))
    assert rows[0]["outcome"] == "FAILS"
    rows = csv_rows(compare.compare(path, baseline="lstm-peep", fmt="checks", margin=1.25))
    assert rows[0]["claim"] == "equivalent" and rows[0]["outcome"] != "HOLDS"


def test_steps_to_solve_checks_use_the_log_rank_test(tmp_path):
    path = str(tmp_path / "steps.h5")
    runs = [make_run(cell="gru", seed_index=s, solved=1, steps_to_solve=20 * (s + 1),
                     steps_done=20 * (s + 1)) for s in range(6)]
    runs += [make_run(cell="lstm-peep", seed_index=s) for s in range(6)]  # never solved
    write_results(path, runs)
    rows = csv_rows(compare.compare(path, baseline="lstm-peep", metric="steps_to_solve",
                                    fmt="checks", claim="less"))
    assert rows[0]["test"] == "log-rank" and rows[0]["unit"] == "log hazard ratio"
    assert float(rows[0]["effect"]) > 0 and rows[0]["outcome"] == "HOLDS"


# ------------------------------------------------------------------------------------------------
# several files, one table

def split_study(tmp_path, file_attrs_b=None):
    """The sample study written whole (all.h5) and split in two files by delay (a.h5, b.h5)."""
    runs = [make_run("adding", delay, cell, s, 0.05 * (1 + s) * (1 + delay / 50))
            for delay in (10, 50) for cell in ("lstm-peep", "gru") for s in range(3)]
    write_results(str(tmp_path / "all.h5"), runs)
    write_results(str(tmp_path / "a.h5"), runs[:6])
    write_results(str(tmp_path / "b.h5"), runs[6:], first_id=6, file_attrs=file_attrs_b)
    return [str(tmp_path / n) for n in ("all.h5", "a.h5", "b.h5")]


def test_several_files_are_one_table(tmp_path):
    whole, a, b = split_study(tmp_path)
    for fmt in ("csv", "checks"):
        expected = compare.compare(whole, baseline="lstm-peep", fmt=fmt)
        assert compare.compare([a, b], baseline="lstm-peep", fmt=fmt) == expected
        assert compare.compare(str(tmp_path / "[ab].h5"), baseline="lstm-peep",
                               fmt=fmt) == expected  # a glob pattern
    text = compare.compare([a, b], baseline="lstm-peep")
    assert text.startswith("a.h5, b.h5: experiment synthetic, 12 of 12 runs")
    assert "adding, delay 10" in text and "adding, delay 50" in text
    df = rr.read_summary([a, b])
    assert list(df.file) == [a] * 6 + [b] * 6 and df.id.is_unique
    with rr.open_results([a, b]) as res:  # a run is read from the file that holds it
        assert res.run(df.id.iloc[7]).attrs["delay"] == 50


def test_cli_reads_several_files_and_globs(tmp_path):
    whole, a, b = split_study(tmp_path)
    one = subprocess.run([PYTHON, os.path.join(SCRIPTS, "compare.py"), whole, "--format", "csv"],
                         capture_output=True, text=True)
    two = subprocess.run([PYTHON, os.path.join(SCRIPTS, "compare.py"), a, b, "--format", "csv"],
                         capture_output=True, text=True)
    pattern = subprocess.run([PYTHON, os.path.join(SCRIPTS, "compare.py"),
                              str(tmp_path / "?.h5"), "--format", "csv"],
                             capture_output=True, text=True)
    assert one.returncode == two.returncode == pattern.returncode == 0, two.stderr
    assert two.stdout == one.stdout == pattern.stdout
    none = subprocess.run([PYTHON, os.path.join(SCRIPTS, "compare.py"),
                           str(tmp_path / "nothing-*.h5")], capture_output=True, text=True)
    assert none.returncode == 2
    assert none.stderr == f"compare.py: {tmp_path / 'nothing-*.h5'}: no file matches this pattern\n"


@pytest.mark.parametrize("attribute, other", [("precision", "double"),
                                              ("gemm_backend", "onednn")])
def test_files_of_different_builds_are_not_mixed_unless_asked(tmp_path, attribute, other):
    whole, a, b = split_study(tmp_path, file_attrs_b={attribute: other})
    done = subprocess.run([PYTHON, os.path.join(SCRIPTS, "compare.py"), a, b],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"{attribute} {'float' if attribute == 'precision' else 'openblas'} in {a}" in done.stderr
    assert f"{attribute} {other} in {b}" in done.stderr and "--allow-mixed" in done.stderr
    mixed = compare.compare([a, b], fmt="csv", allow_mixed=True)
    assert mixed == compare.compare(whole, fmt="csv")
    with rr.open_results([a, b], allow_mixed=True) as res:
        assert res.attr_text(attribute) in (f"float + {other}", f"openblas + {other}")


def test_a_run_in_two_files_is_read_once(tmp_path, capsys):
    whole, a, _ = split_study(tmp_path)
    notes = []
    text = compare.compare([whole, a], fmt="csv", warn=notes.append)
    assert text == compare.compare(whole, fmt="csv")
    assert notes == [f"{a}: 6 run(s) also in {whole} (same id, same parameters): read once, "
                     f"from the first file"]
