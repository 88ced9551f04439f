"""The search over cells written as equations (scripts/search.py, docs/search.md), on
experiments/search-tiny.ini (seconds):

- `rnnbench graph check|mutate`: JSON answers, one hash for isomorphic spellings, errors with line
  and column, the same mutation from the same seed, bad usage a one-line error and exit 2;
- a search writes every architecture (evaluated or rejected, with why), its runs per task and lr,
  and scores against the reference (whose own score is 1);
- two searches with the same seed make the same file (but wall times and load);
- a search killed with SIGKILL in the middle of a generation (on the event of that generation's
  first finished run) resumes with the same command into the same file as an uninterrupted one;
- --report prints the best cells' scores and equations; bad configurations are one-line errors
  naming the file and line.

Example:
    /usr/bin/python3 -m pytest -q tests/test_search.py
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
SEARCH = os.path.join(ROOT, "scripts", "search.py")
TINY = os.path.join(ROOT, "experiments", "search-tiny.ini")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import search_store  # noqa: E402

LSTM = """state = h, c
i = sigmoid(W x + R h + b)
f = sigmoid(W x + R h + b)
z = tanh(W x + R h + b)
c' = f * c + i * z
o = sigmoid(W x + R h + b)
h' = o * tanh(c')
"""
# the same graph: other names, other order, operands swapped
LSTM_AGAIN = """state = h, c
out = sigmoid(b + R h + W x)
cand = tanh(R h + W x + b)
keep = sigmoid(W x + b + R h)
inp = sigmoid(R h + b + W x)
c' = c * keep + cand * inp
h' = tanh(c') * out
"""


def graph(*args, text=None):
    r = subprocess.run([RNNBENCH, "graph", *args], input=text, capture_output=True, text=True, timeout=60)
    return r


def search(*args, **kw):
    return subprocess.run([sys.executable, SEARCH, *args], capture_output=True, text=True, timeout=300, **kw)


def comparable(path):
    """The file's tables and attributes, wall time and load left out (they are not reproducible)."""
    attrs, tables = search_store.read_tables(path)
    for g in tables["generations"]:
        g.pop("wall_s"), g.pop("load")
    # NaN (a task without a test split) compares equal to itself here
    tables = {t: [{k: "nan" if v != v else v for k, v in row.items()} for row in rows] for t, rows in tables.items()}
    return attrs, tables


def test_graph_check_and_canonical_hash():
    a = graph("check", "-", text=LSTM)
    assert a.returncode == 0, a.stderr
    a = json.loads(a.stdout)
    b = json.loads(graph("check", "-", text=LSTM_AGAIN).stdout)
    assert a["ok"] and b["ok"]
    assert a["hash"] == b["hash"] and a["canonical"] == b["canonical"]
    assert a["n_eqs"] == 6 and a["n_params"] == 12
    peep = json.loads(graph("check", "-", text=LSTM.replace("f = sigmoid(W x", "f = sigmoid(p . c + W x")).stdout)
    assert peep["ok"] and peep["hash"] != a["hash"]
    bad = json.loads(graph("check", "-", text="state = h\nh' = tanh(W x + R h +)\n").stdout)
    assert bad == {"ok": False, "error": "line 2: column 22: expected a term, got ')'"}
    dead = json.loads(graph("check", "-", text="state = h\ne = tanh(W x)\nh' = tanh(R h)\n").stdout)
    assert dead["error"] == "line 2: e is computed but no state update uses it"


def test_graph_mutate_is_reproducible_and_of_each_kind():
    for kind in ("activation", "operator", "input", "insert", "delete"):
        one = graph("mutate", "--seed", "12", "--kind", kind, "-", text=LSTM)
        two = graph("mutate", "--seed", "12", "--kind", kind, "-", text=LSTM)
        assert one.returncode == 0, one.stderr
        assert one.stdout == two.stdout
        r = json.loads(one.stdout)
        assert r["mutation"].startswith(kind + ":"), r
        assert r["text"] != LSTM
        if r["ok"]:
            assert r["hash"] == json.loads(graph("check", "-", text=r["text"]).stdout)["hash"]
    seeds = {json.loads(graph("mutate", "--seed", str(s), "-", text=LSTM).stdout)["text"] for s in range(12)}
    assert len(seeds) >= 8, "12 seeds gave only %d different mutants" % len(seeds)


@pytest.mark.parametrize("args,message", [
    (["mutate", "-"], "rnnbench graph mutate: --seed N is needed"),
    (["mutate", "--seed", "x", "-"], "rnnbench graph: --seed: expected an integer"),
    (["mutate", "--seed", "1", "--kind", "swap", "-"], "--kind: expected activation, operator, input, insert or delete, got 'swap'"),
    (["check", "--seed", "1", "-"], "--seed and --kind are mutate's options"),
    (["check", "/nonexistent/cell.txt"], "rnnbench graph: /nonexistent/cell.txt: cannot open"),
    (["frob", "-"], "rnnbench graph: unknown command 'frob' (check or mutate)"),
])
def test_graph_bad_usage(args, message):
    r = graph(*args, text="")
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("search")
    r = search(TINY, "-o", str(d / "a"), "-j", "2")
    assert r.returncode == 0, r.stderr
    return d


def test_every_architecture_and_its_scores(tiny):
    attrs, t = search_store.read_tables(str(tiny / "a" / "search.h5"))
    assert attrs["generations_done"] == 3 and attrs["reference"] == "eq-lstm"
    cands = t["candidates"]
    seeds = [c for c in cands if c["generation"] == 0]
    assert [c["id"] for c in seeds] == ["eq-lstm", "eq-gru", "eq-mut1"]
    ev = [c for c in cands if c["status"] == "evaluated"]
    assert len(ev) == 3 + 2 * 3  # the seeds, then 3 children a generation
    assert len({c["hash"] for c in ev}) == len(ev), "two evaluated candidates share a graph"
    for c in ev:
        if c["generation"] > 0:
            assert c["id"] == "c-" + c["hash"][:12] and c["parent"] and c["mutations"]
            assert c["parent"] in {p["id"] for p in ev if p["generation"] < c["generation"]}
        # the stored equations are the graph the hash names
        again = json.loads(graph("check", "-", text=c["equations"]).stdout)
        assert again["hash"] == c["hash"] and again["canonical"] == c["canonical"]
        runs = [r for r in t["runs"] if r["id"] == c["id"]]
        assert sorted((r["task"], r["lr"]) for r in runs) == [
            ("adding", 0.01), ("adding", 0.03), ("jsb", 0.01), ("jsb", 0.1)]
        assert all(r["status"] in ("done", "diverged") for r in runs)
        assert c["n_params"] == runs[0]["n_params"] > 0
        scores = {s["task"]: s for s in t["task_scores"] if s["id"] == c["id"]}
        assert set(scores) == {"adding", "jsb"}
        for task, s in scores.items():
            best = min((r for r in runs if r["task"] == task), key=lambda r: r["best_eval_loss"])
            assert s["best_lr"] == best["lr"] and s["loss"] == best["best_eval_loss"]
        if task == "jsb":
            assert s["test_loss"] > 0
    ref = next(c for c in ev if c["id"] == "eq-lstm")
    assert ref["score"] == pytest.approx(1.0)
    for c in cands:
        if c["status"] != "evaluated":
            assert c["reason"] and c["status"] in ("ill-formed", "duplicate")
    assert [g["generation"] for g in t["generations"]] == [0, 1, 2]
    assert sum(g["runs"] for g in t["generations"]) == len(t["runs"]) == 4 * len(ev)


def test_same_seed_same_search(tiny):
    r = search(TINY, "-o", str(tiny / "b"), "-j", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert comparable(str(tiny / "a" / "search.h5")) == comparable(str(tiny / "b" / "search.h5"))


def test_resume_after_kill_9_in_a_generation(tiny):
    """Killed (the driver and its rnnbench run, SIGKILL) once generation 1 has a finished run
    but before it is saved; the same command finishes it into the file an uninterrupted search
    makes."""
    out = tiny / "killed"
    proc = subprocess.Popen([sys.executable, SEARCH, TINY, "-o", str(out), "-j", "1", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    parts = out / "gen-001.h5.parts"
    try:
        while proc.poll() is None:
            if parts.is_dir() and any(p.suffix == ".h5" for p in parts.iterdir()):
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the search ended before generation 1 had a run: " + proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    attrs, _ = search_store.read_tables(str(out / "search.h5"))
    assert attrs["generations_done"] == 1, "killed after generation 1 was saved: not mid-generation"
    r = search(TINY, "-o", str(out), "-j", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert comparable(str(out / "search.h5")) == comparable(str(tiny / "a" / "search.h5"))


def test_report(tiny):
    r = search(TINY, "-o", str(tiny / "a"), "--report", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("search search-tiny (seed 7): 3 generations, 9 architectures evaluated")
    assert "architectures evaluated per hour" in lines[1]
    ranked = [ln for ln in lines if ln[:4].strip().isdigit()]
    assert len(ranked) >= 3  # the best 2, and the seeds not among them
    assert any(" eq-lstm " in ln and " 1.000 " in ln for ln in ranked)
    assert "jsb: test loss at the best validation evaluation" in r.stdout
    assert r.stdout.count("    state = h") >= 2  # the equations of the best 2


def test_resume_refuses_another_configuration(tiny, tmp_path):
    ini = tmp_path / "other.ini"
    ini.write_text(open(TINY).read().replace("seed = 7", "seed = 8"))
    r = search(str(ini), "-o", str(tiny / "a"))
    assert r.returncode == 2
    assert "was made by another configuration" in r.stderr


@pytest.mark.parametrize("change,message", [
    (("population = 3", "populaton = 3"), ":9: unknown key 'populaton' in [search]"),
    (("children = 3", "children = 0"), ":10: children: expected at least 1, got '0'"),
    (("steps = 10", "stpes = 10"), ":19: stpes: unknown key (did you mean 'steps'?)"),
    (("eval_size = 16", "cell = lstm"), ":22: [task adding]: 'cell' cannot be set here"),
    (("reference = eq-lstm", "reference = lstm"), ":12: reference: 'lstm' is not one of the [cell] sections"),
    (("z  = tanh(W x + R h + b)", "z  = tanh(W x + R h + )"), ":36: [cell eq-lstm]: column 23: expected a term"),
])
def test_bad_configuration(tmp_path, change, message):
    text = open(TINY).read()
    assert change[0] in text
    ini = tmp_path / "bad.ini"
    ini.write_text(text.replace(change[0], change[1], 1))
    r = search(str(ini), "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert str(ini) + message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_export_cells_run_in_an_experiment(tiny, tmp_path):
    r = search(TINY, "-o", str(tiny / "a"), "--export", "3")
    assert r.returncode == 0, r.stderr
    names = [ln[6:-1] for ln in r.stdout.splitlines() if ln.startswith("[cell ")]
    assert len(names) == 3
    ini = tmp_path / "best.ini"
    ini.write_text("[experiment]\nname = best\n\n" + r.stdout +
                   f"\n[grid]\ntask = adding\ndelay = 5\nhidden = 4\nsteps = 5\ncell = {', '.join(names)}\n")
    plan = subprocess.run([RNNBENCH, "run", str(ini), "--plan"], capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    assert all(n in plan.stdout for n in names)


class FakeTools:
    """Mutations scripted in turn: (ok, hash) pairs, to drive child_generation's rejections."""

    def __init__(self, script):
        self.script = list(script)

    def mutate(self, text, seed):
        ok, h = self.script.pop(0) if self.script else (True, "f%015x" % seed)
        if not ok:
            return {"text": text + "x = \n", "mutation": "operator: '+' -> '*'", "ok": False,
                    "error": "line 3: column 5: expected a term, got the end of the line"}
        return {"text": text + f"; {h}\n", "mutation": "activation: 'tanh' -> 'relu'", "ok": True,
                "hash": h, "canonical": f"canonical {h}"}


def test_rejections_are_recorded():
    import search
    import search_config
    cfg = search_config.read_config(TINY)
    cfg.max_mutations = 1
    state = search.State(cfg)
    state.tables["candidates"] = [search.blank_candidate("eq-lstm", 0, equations=LSTM, hash="a" * 16, score=1.0)]
    tools = FakeTools([(False, None), (True, "a" * 16), (True, "b" * 16), (True, "b" * 16), (True, "c" * 16),
                       (True, "d" * 16)])
    accepted, rejected = search.child_generation(cfg, tools, state, 1)
    assert [c["id"] for c in accepted] == ["c-bbbbbbbbbbbb", "c-cccccccccccc", "c-dddddddddddd"]
    assert [(c["status"], c["reason"]) for c in rejected] == [
        ("ill-formed", "line 3: column 5: expected a term, got the end of the line"),
        ("duplicate", "the graph of eq-lstm"),
        ("duplicate", "the graph of c-bbbbbbbbbbbb")]
    assert all(c["parent"] == "eq-lstm" and c["mutations"] for c in accepted + rejected)
    assert rejected[1]["hash"] == "a" * 16 and rejected[0]["hash"] == ""
