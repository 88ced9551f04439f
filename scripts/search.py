#!/usr/bin/python3
"""A search over cells written as equations, after Jozefowicz, Zaremba & Sutskever 2015
(docs/search.md): a population seeded with the cells of a configuration file's [cell] sections
(LSTM, GRU, MUT1-3 in experiments/search.ini) is mutated generation by generation; each new
architecture is trained on a suite of tasks at small budgets, each with its own small search over
learning rates, and scored against the reference cell (the LSTM) evaluated the same way; the best
are kept and mutated again.

Each generation is one experiment file (DIR/gen-NNN.ini) run by `bin/rnnbench run` into its own
results file (DIR/gen-NNN.h5): all cores (-j), MPI through --rnnbench bin/rnnbench-mpi and
--launcher "mpirun -np 4", and the results files' resume come from the grid machinery. Mutation,
the well-formedness check and the canonical form (the duplicate test) are `rnnbench graph`'s, so
they exist once, in C. Everything the search makes goes to DIR/search.h5 (search_store.py), rewritten
durably after each generation: a search killed at any point (kill -9 included) resumes with the same
command, redoing only the unfinished runs of the generation it was in, and a search is reproducible
from its seed.

Example:
    /usr/bin/python3 scripts/search.py experiments/search.ini -j 2
    /usr/bin/python3 scripts/search.py experiments/search.ini --report 5
"""
import argparse
import json
import math
import os
import random
import shlex
import statistics
import subprocess
import sys
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_guard  # noqa: E402
import search_config as sc  # noqa: E402
import search_store as ss  # noqa: E402


class SearchError(Exception):
    """A failure the search reports in one line and exits 2 on."""


# ----------------------------------------------------------------------------------------------
# rnnbench

class Tools:
    """The rnnbench binary the search calls, and how (a launcher such as mpirun for `run`)."""

    def __init__(self, binary, launcher, jobs, quiet):
        self.binary = binary
        self.launcher = shlex.split(launcher) if launcher else []
        self.jobs = jobs
        self.quiet = quiet

    def graph(self, args, text):
        cmd = [self.binary, "graph"] + args + ["-"]
        r = subprocess.run(cmd, input=text, capture_output=True, text=True)
        if r.returncode != 0:
            raise SearchError(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def check(self, text):
        return self.graph(["check"], text)

    def mutate(self, text, seed):
        return self.graph(["mutate", "--seed", str(seed)], text)

    def plan(self, ini):
        r = subprocess.run([self.binary, "run", ini, "--plan"], capture_output=True, text=True)
        return r.returncode, r.stderr.strip()

    def run(self, ini, out, log):
        cmd = self.launcher + [self.binary, "run", ini, "-o", out, "--quiet"]
        if self.jobs:
            cmd += ["-j", str(self.jobs)]
        with open(log, "a") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(log) as f:
                tail = f.read().strip().splitlines()[-3:]
            raise SearchError(f"`{' '.join(cmd)}` exited {r.returncode}: {' | '.join(tail)} (all of it in {log})")



# ----------------------------------------------------------------------------------------------
# the search's state: the tables of the file, and what it needs to go on

class State:
    def __init__(self, cfg):
        self.cfg = cfg
        self.tables = {t: [] for t in ss.COLUMNS}
        self.done = 0

    @classmethod
    def load(cls, cfg, path):
        attrs, tables = ss.read_tables(path)
        if attrs.get("identity") != cfg.identity():
            raise SearchError(f"{path} was made by another configuration than {cfg.path} (only "
                              f"'generations' may change): give another -o, or --force to start over")
        st = cls(cfg)
        st.tables = tables
        st.done = int(attrs["generations_done"])
        return st

    def save(self, path):
        attrs = {"name": self.cfg.name, "seed": self.cfg.seed, "reference": self.cfg.reference,
                 "tasks": ",".join(self.cfg.tasks), "config": self.cfg.text,
                 "identity": self.cfg.identity(), "generations_done": self.done}
        ss.write_search(path, attrs, self.tables)

    def seen(self):
        """canonical hash -> the id that has it (every well-formed candidate so far)"""
        return {c["hash"]: c["id"] for c in self.tables["candidates"] if c["status"] == "evaluated"}

    def evaluated(self):
        return [c for c in self.tables["candidates"] if c["status"] == "evaluated"]

    def population(self):
        """The best `population` evaluated candidates, best first (ties: the earlier)."""
        ranked = sorted(enumerate(self.evaluated()), key=lambda ic: (-ic[1]["score"], ic[0]))
        return [c for _, c in ranked[: self.cfg.population]]


# ----------------------------------------------------------------------------------------------
# making a generation

def blank_candidate(cid, gen, **kw):
    row = {"id": cid, "generation": gen, "status": "evaluated", "reason": "", "parent": "",
           "mutations": "", "equations": "", "canonical": "", "hash": "", "n_params": -1,
           "score": float("nan")}
    row.update(kw)
    return row


def seed_generation(cfg, tools):
    """Generation 0: the [cell] sections, each checked (an ill-formed seed is the file's error)."""
    out, hashes = [], {}
    for name, text in cfg.cells.items():
        r = tools.check(text)
        if not r["ok"]:
            # "line L: ..." counts the section's lines from 1: the file's line is the header's + L
            msg = r["error"]
            try:
                k = int(msg.split(":")[0].split()[1])
                msg = f"{cfg.path}:{cfg.cell_lines[name] + k}: [cell {name}]: {msg.split(':', 1)[1].strip()}"
            except (ValueError, IndexError):
                msg = f"{cfg.path}:{cfg.cell_lines[name]}: [cell {name}]: {msg}"
            raise SearchError(msg)
        if r["hash"] in hashes:
            raise SearchError(f"{cfg.path}:{cfg.cell_lines[name]}: [cell {name}] is the same graph as "
                              f"[cell {hashes[r['hash']]}] (canonical hash {r['hash']})")
        hashes[r["hash"]] = name
        out.append(blank_candidate(name, 0, equations=text, canonical=r["canonical"], hash=r["hash"]))
    return out, []


def child_generation(cfg, tools, state, gen):
    """Up to `children` new architectures: a parent drawn from the population, 1 to max_mutations
    mutations; ill-formed ones and duplicates (same canonical hash as any candidate so far) are
    rejected and recorded. The stream is the seed's and the generation's alone, so a resumed or
    repeated search makes the same generation."""
    rng = random.Random(f"{cfg.seed}:generation:{gen}")
    pop = state.population()
    seen = state.seen()
    accepted, rejected = [], []
    attempt = 0
    while len(accepted) < cfg.children and attempt < cfg.max_attempts:
        attempt += 1
        parent = pop[rng.randrange(len(pop))]
        text, said, last = parent["equations"], [], None
        for _ in range(rng.randint(1, cfg.max_mutations)):
            r = tools.mutate(text, rng.getrandbits(63))
            if r["text"] is None:
                break
            text, last = r["text"], r
            said.append(r["mutation"])
        rid = f"g{gen}-a{attempt}"
        if last is None:
            rejected.append(blank_candidate(rid, gen, status="ill-formed", reason="no mutation applies",
                                            parent=parent["id"], equations=text))
            continue
        kw = dict(parent=parent["id"], mutations="; ".join(said), equations=text)
        if not last["ok"]:
            rejected.append(blank_candidate(rid, gen, status="ill-formed", reason=last["error"], **kw))
            continue
        if last["hash"] in seen:
            rejected.append(blank_candidate(rid, gen, status="duplicate", reason=f"the graph of {seen[last['hash']]}",
                                            canonical=last["canonical"], hash=last["hash"], **kw))
            continue
        cid = f"c-{last['hash'][:12]}"
        seen[last["hash"]] = cid
        accepted.append(blank_candidate(cid, gen, canonical=last["canonical"], hash=last["hash"], **kw))
    return accepted, rejected


def experiment_text(cfg, gen, cands):
    lines = [f"; generation {gen} of the search '{cfg.name}' (scripts/search.py {cfg.path}): written by",
             "; the search, do not edit: a rerun of the search writes it again and resumes its results",
             "[experiment]", f"name = {cfg.name}-gen{gen:03d}",
             f"description = search {cfg.name}, generation {gen}: {len(cands)} candidates", f"seed = {cfg.seed}", ""]
    for c in cands:
        lines += [f"[cell {c['id']}]", c["equations"].rstrip("\n"), ""]
    names = ", ".join(c["id"] for c in cands)
    for task, keys in cfg.tasks.items():
        lines.append(f"[grid {task}]")
        lines += [f"{k} = {v}" for k, v, _ in keys]
        lines += [f"cell = {names}", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# scoring

def attr_text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_runs(path):
    rows = []
    with h5py.File(path, "r") as f:
        for rid in sorted(f["runs"]):
            a = f["runs"][rid].attrs
            rows.append({"id": attr_text(a["cell"]), "task": attr_text(a["section"]), "lr": float(a["lr"]),
                         "seed_index": int(a["seed_index"]), "run_id": attr_text(a["id"]),
                         "status": attr_text(a["status"]),
                         "best_eval_loss": float(a.get("best_eval_loss", math.nan)),
                         "final_loss": float(a.get("final_loss", math.nan)),
                         "test_loss": float(a.get("test_loss", math.nan)),
                         "baseline": float(a.get("baseline", math.nan)),
                         "steps_done": int(a.get("steps_done", 0)), "n_params": int(a.get("n_params", -1))})
    rows.sort(key=lambda r: (r["id"], r["task"], r["lr"], r["seed_index"]))
    return rows


def task_losses(runs, task):
    """(best lr, its loss, its test loss, baseline) of one candidate's runs on a task: per lr the
    median over seeds of the best evaluation loss (a non-finite one left out), the lr with the
    lowest kept."""
    by_lr = {}
    for r in runs:
        if r["task"] == task:
            by_lr.setdefault(r["lr"], []).append(r)
    best = (math.nan, math.inf, math.nan, math.nan)
    for lr in sorted(by_lr):
        rs = by_lr[lr]
        losses = [r["best_eval_loss"] for r in rs if math.isfinite(r["best_eval_loss"])]
        if not losses:
            continue
        loss = statistics.median(losses)
        tests = [r["test_loss"] for r in rs if math.isfinite(r["test_loss"])]
        if loss < best[1]:
            best = (lr, loss, statistics.median(tests) if tests else math.nan, rs[0]["baseline"])
    if not math.isfinite(best[1]):
        base = next((r["baseline"] for rs in by_lr.values() for r in rs), math.nan)
        return math.nan, math.nan, math.nan, base
    return best


def relative(loss, baseline, ref_loss, floor):
    """How much better than the reference: ref's loss over this one's, each over the task's
    baseline and floored (losses below floor x baseline count as solved, alike)."""
    if not math.isfinite(loss):
        return 0.0
    q = max(loss / baseline, floor)
    qr = max(ref_loss / baseline, floor)
    return qr / q


def score_candidates(cfg, state):
    """Fills task_scores and every evaluated candidate's score (the geometric mean over tasks of
    `relative`), against the reference's losses (generation 0)."""
    runs = {}
    for r in state.tables["runs"]:
        runs.setdefault(r["id"], []).append(r)
    ref = {t: task_losses(runs.get(cfg.reference, []), t) for t in cfg.tasks}
    for t, (_, loss, _, _) in ref.items():
        if not math.isfinite(loss):
            raise SearchError(f"the reference {cfg.reference} has no finite loss on task {t}: "
                              f"nothing can be scored against it (see the runs of generation 0)")
    scored = {(s["id"], s["task"]) for s in state.tables["task_scores"]}
    for c in state.evaluated():
        if (c["id"], next(iter(cfg.tasks))) in scored:
            continue
        logs = []
        for t in cfg.tasks:
            lr, loss, test, base = task_losses(runs.get(c["id"], []), t)
            ratio = relative(loss, base, ref[t][1], cfg.loss_floor)
            state.tables["task_scores"].append({"id": c["id"], "task": t, "best_lr": lr, "loss": loss,
                                                "ratio": ratio, "test_loss": test})
            logs.append(math.log(ratio) if ratio > 0 else -math.inf)
        c["score"] = math.exp(sum(logs) / len(logs)) if all(math.isfinite(v) for v in logs) else 0.0
        ns = [r["n_params"] for r in runs.get(c["id"], []) if r["n_params"] >= 0]
        c["n_params"] = ns[0] if ns else -1


# ----------------------------------------------------------------------------------------------
# the search

def check_config(cfg, tools, folder):
    """`rnnbench run --plan` on the file with [task] as [grid], line for line: the tasks' keys and
    the seeds' equations are checked before anything runs, errors naming the configuration's lines."""
    probe = os.path.join(folder, "check.ini")
    with open(probe, "w") as f:
        f.write(sc.probe_text(cfg))
    rc, err = tools.plan(probe)
    os.remove(probe)
    if rc != 0:
        raise SearchError(err.replace(probe, cfg.path).splitlines()[0] if err else
                          f"{cfg.path}: rnnbench run --plan refused it (exit {rc})")


def run_generation(cfg, tools, state, folder, gen, say):
    start, load0 = time.monotonic(), bench_guard.read_loadavg_or_nan()
    if gen == 0:
        cands, rejected = seed_generation(cfg, tools)
    else:
        cands, rejected = child_generation(cfg, tools, state, gen)
    n_runs = 0
    if cands:
        ini = os.path.join(folder, f"gen-{gen:03d}.ini")
        text = experiment_text(cfg, gen, cands)
        # the same generation is the same file: a resumed rnnbench run keeps its finished runs
        if not os.path.exists(ini) or open(ini).read() != text:
            with open(ini + ".tmp", "w") as f:
                f.write(text)
            os.replace(ini + ".tmp", ini)
        out = os.path.join(folder, f"gen-{gen:03d}.h5")
        tools.run(ini, out, os.path.join(folder, f"gen-{gen:03d}.log"))
        runs = read_runs(out)
        ids = {c["id"] for c in cands}
        runs = [r for r in runs if r["id"] in ids]
        n_runs = len(runs)
        state.tables["runs"] += runs
    state.tables["candidates"] += cands + rejected
    score_candidates(cfg, state)
    wall = time.monotonic() - start
    state.tables["generations"].append({"generation": gen, "candidates": len(cands), "rejected": len(rejected),
                                        "runs": n_runs, "wall_s": wall,
                                        "load": (load0 + bench_guard.read_loadavg_or_nan()) / 2})
    state.done = gen + 1
    best = state.population()[0]
    say(f"generation {gen}: {len(cands)} evaluated, {len(rejected)} rejected, {n_runs} runs in {wall:.0f} s; "
        f"best so far {best['id']} score {best['score']:.3f}")


def search(cfg, tools, folder, generations, say):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "search.h5")
    state = State.load(cfg, path) if os.path.exists(path) else State(cfg)
    if state.done == 0:
        check_config(cfg, tools, folder)
    for gen in range(state.done, generations + 1):
        run_generation(cfg, tools, state, folder, gen, say)
        state.save(path)
    return path


# ----------------------------------------------------------------------------------------------
# the report

def report(path, n, out=sys.stdout):
    attrs, t = ss.read_tables(path)
    cands = t["candidates"]
    ev = [c for c in cands if c["status"] == "evaluated"]
    ill = sum(c["status"] == "ill-formed" for c in cands)
    dup = sum(c["status"] == "duplicate" for c in cands)
    gens = t["generations"]
    wall = sum(g["wall_s"] for g in gens)
    loads = [g["load"] for g in gens if math.isfinite(g["load"])]
    tasks = attrs["tasks"].split(",")
    scores = {(s["id"], s["task"]): s for s in t["task_scores"]}
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"search {attrs['name']} (seed {attrs['seed']}): {attrs['generations_done']} generations, "
      f"{len(ev)} architectures evaluated, {ill + dup} rejected ({ill} ill-formed, {dup} duplicates), "
      f"{len(t['runs'])} runs")
    if wall > 0:
        p(f"wall time {wall / 3600:.2f} h at a mean load of {statistics.mean(loads) if loads else math.nan:.1f}: "
          f"{len(ev) / wall * 3600:.0f} architectures evaluated per hour")
    p(f"score: the geometric mean over the tasks ({', '.join(tasks)}) of the reference's loss over the "
      f"candidate's (each at its best lr, over the task's baseline, floored); > 1 beats {attrs['reference']}")
    p()
    head = f"{'rank':>4} {'id':<16} {'gen':>3} {'score':>7} " + " ".join(f"{t_ + ' ratio':>14} {'loss':>9} {'lr':>7}" for t_ in tasks) + f" {'params':>7}  parent"
    p(head)
    ranked = sorted(ev, key=lambda c: -c["score"])
    seeds = [c for c in ev if c["generation"] == 0]
    shown = ranked[:n] + [c for c in seeds if c not in ranked[:n]]
    for c in shown:
        rank = ranked.index(c) + 1
        cols = " ".join(f"{scores[(c['id'], t_)]['ratio']:>14.3f} {scores[(c['id'], t_)]['loss']:>9.4g} "
                        f"{scores[(c['id'], t_)]['best_lr']:>7.3g}" for t_ in tasks)
        p(f"{rank:>4} {c['id']:<16} {c['generation']:>3} {c['score']:>7.3f} {cols} {c['n_params']:>7}  {c['parent'] or '(seed)'}")
    tests = [t_ for t_ in tasks if any(math.isfinite(scores[(c['id'], t_)]["test_loss"]) for c in ev)]
    for t_ in tests:
        p(f"\n{t_}: test loss at the best validation evaluation of the best lr (not used by the search): " +
          ", ".join(f"{c['id']} {scores[(c['id'], t_)]['test_loss']:.4g}" for c in shown))
    for c in ranked[:n]:
        p(f"\n{c['id']} (generation {c['generation']}, score {c['score']:.3f}, parent {c['parent'] or '-'}):")
        if c["mutations"]:
            p(f"  mutations: {c['mutations']}")
        for line in c["equations"].strip().splitlines():
            p(f"    {line}")


def export_cells(path, n, out=sys.stdout):
    """The best n evaluated cells as [cell NAME] sections, for an experiment file (a later
    comparison on held-out tasks runs them like any cell)."""
    attrs, t = ss.read_tables(path)
    ev = sorted((c for c in t["candidates"] if c["status"] == "evaluated"), key=lambda c: -c["score"])
    for rank, c in enumerate(ev[:n], 1):
        print(f"; rank {rank} of search {attrs['name']}: score {c['score']:.4f}, generation {c['generation']}, "
              f"parent {c['parent'] or '-'}, canonical hash {c['hash']}", file=out)
        print(f"[cell {c['id']}]", file=out)
        print(c["equations"].strip() + "\n", file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="docs/search.md says what is scored, how to resume and how to read the file")
    ap.add_argument("config", help="the search's configuration (experiments/search.ini)")
    ap.add_argument("-o", "--out", help="its folder (default results/search/<name>)")
    ap.add_argument("-j", "--jobs", type=int, help="threads of rnnbench run (default: all cores)")
    ap.add_argument("--generations", type=int, help="generations after the seeds' (default: the file's)")
    ap.add_argument("--report", type=int, nargs="?", const=5, metavar="N",
                    help="print the best N (default 5) of the search's file and exit")
    ap.add_argument("--export", type=int, metavar="N",
                    help="print the best N cells as [cell NAME] sections (for an experiment file) and exit")
    ap.add_argument("--rnnbench", default=os.path.join(ROOT, "bin", "rnnbench"), help="the binary (bin/rnnbench-mpi for MPI)")
    ap.add_argument("--launcher", default="", help='a prefix for rnnbench run, e.g. "mpirun -np 4 -x OMP_NUM_THREADS=1"')
    ap.add_argument("--force", action="store_true", help="start over: remove the folder's search file first")
    ap.add_argument("--quiet", action="store_true", help="no line per generation")
    args = ap.parse_args(argv)
    try:
        if args.jobs is not None and args.jobs < 1:
            raise SearchError(f"-j: expected an integer >= 1, got '{args.jobs}'")
        if args.generations is not None and args.generations < 0:
            raise SearchError(f"--generations: expected an integer >= 0, got '{args.generations}'")
        cfg = sc.read_config(args.config)
        folder = args.out or os.path.join(ROOT, "results", "search", cfg.name)
        path = os.path.join(folder, "search.h5")
        if args.report is not None or args.export is not None:
            if not os.path.exists(path):
                raise SearchError(f"{path}: no search file (run the search first, or give its -o)")
            if args.report is not None and args.report < 1 or args.export is not None and args.export < 1:
                raise SearchError("--report, --export: expected an integer >= 1")
            if args.report is not None:
                report(path, args.report)
            if args.export is not None:
                export_cells(path, args.export)
            return 0
        if not os.access(args.rnnbench, os.X_OK):
            raise SearchError(f"{args.rnnbench}: not an executable (make float builds bin/rnnbench)")
        if args.force and os.path.exists(path):
            os.remove(path)
        say = (lambda s: None) if args.quiet else (lambda s: print(f"search {cfg.name}: {s}", file=sys.stderr, flush=True))
        tools = Tools(args.rnnbench, args.launcher, args.jobs, args.quiet)
        generations = cfg.generations if args.generations is None else args.generations
        search(cfg, tools, folder, generations, say)
        if not args.quiet:
            report(path, 5, out=sys.stderr)
        return 0
    except (SearchError, sc.ConfigError, ss.StoreError) as e:
        print(f"search: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
