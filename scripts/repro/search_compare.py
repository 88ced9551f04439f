"""The cell search's best against the LSTM on held-out tasks and JSB test NLL (search-compare).

Issue #20 item 4: did anything the search of scripts/search.py found beat the LSTM? Takes a
search's file (default: the folder of experiments/search.ini, results/search/search/search.h5;
--search CONFIG and --search-dir DIR name another), exports its best --top N cells with
`search.py`'s own export (export_cells: its ranking, not one of ours), leaving out the search's
seeds (generation 0: they are the baselines' equations), and writes experiments/search-compare.ini
with those [cell] sections and their names in every grid to DIR/search-compare.ini, beside the
native lstm (the base), gru, mut1, mut2 and mut3 (reference rows). Every cell runs at the native
LSTM's parameter count on each task and at the learning rate its own search picked (the [tuning]
of experiments/search-compare.prereg). The tasks are ones the search never scored: temporal-order
T = 50, multiplication T = 100 and JSB's test split (the search scored adding T = 100 and JSB's
validation split).

Checks (experiments/search-compare.prereg), one per found cell and task, Holm over all:
  - temporal-order, multiplication: the found cell solves sooner than lstm (log-rank test of the
    steps to solve, never-solved runs censored at the budget);
  - jsb: the found cell's test NLL is lower than lstm's (Mann-Whitney U on log test NLL).
A check is INCONCLUSIVE when neither lstm nor the found cell beats the task's trivial baseline.
The verdict lines give one verdict per found cell and end with the plain answer ("answer: yes:
... beat the LSTM" or "answer: no: ..."). The report adds the cells' equations, per task the
solved counts, median steps to solve and test NLL of every cell with the same tests of gru and
mut1-3 against lstm (unadjusted, not part of the family), the tuning table and Kaplan-Meier
curves.

Example:
    /usr/bin/python3 scripts/search.py experiments/search.ini -j 2        # the search, first
    /usr/bin/python3 scripts/repro/search_compare.py -j 2                 # its best 5
    /usr/bin/python3 scripts/repro/search_compare.py --search experiments/search-tiny.ini \\
        --search-dir /tmp/st --top 2 --tiny --out /tmp/sc
"""
import dataclasses
import io
import math
import os
import sys

import numpy as np

import common
import curves
import tuning

sys.path.insert(0, common.SCRIPTS)
import rnnbench_results as rr  # noqa: E402
import rnnbench_stats as st  # noqa: E402
import search as search_py  # noqa: E402  (scripts/search.py: its export, its ranking)
import search_config  # noqa: E402
import search_store  # noqa: E402

STUDY = "search-compare"
BASE = "lstm"
REFERENCES = ("gru", "mut1", "mut2", "mut3")
JSB = "jsb"
DEFAULT_SEARCH = os.path.join(common.ROOT, "experiments", "search.ini")
CLAIM = ("Jozefowicz, Zaremba & Sutskever 2015, as issue #20 item 4 asks of this project's own "
         "search (scripts/search.py): some cell found by mutating LSTM, GRU and MUT1-3 beats the "
         "LSTM (they reported cells that beat it on some tasks and none that beat the GRU "
         "everywhere); tested here on tasks the search never scored, at equal parameter counts, "
         "each cell at its own tuned learning rate.")

TINY = {"temporal-order": {"delay": 5, "params": 200},
        "multiplication": {"delay": 5, "params": 100},
        "jsb": {"params": 1000, "steps": 2, "eval_every": 2, "patience": 0},
        "steps": 20, "batch": 8, "eval_every": 10, "eval_size": 32, "seeds": 2}
FULL = {"temporal-order": {"delay": 100, "steps": 10000},
        "multiplication": {"delay": 200, "steps": 10000},
        "jsb": {"steps": 10000, "patience": 10},
        "eval_every": 250, "seeds": 20}


class SearchInputError(common.ReproError):
    """The search named cannot give cells (no file, not a search file, nothing found)."""


@dataclasses.dataclass
class FoundCell:
    """One exported cell: its name, the export's comment line (rank, score, generation, parent,
    hash) and its equations."""
    name: str
    comment: str
    equations: str


# ------------------------------------------------------------------------------------------------
# the search's best cells

def search_file(config, folder):
    """The search.h5 of a configuration: in `folder` when given (the configuration is then not
    read), else in the configuration's own folder, results/search/<name>."""
    if not folder:
        try:
            cfg = search_config.read_config(config)
        except search_config.ConfigError as exc:
            raise SearchInputError(f"--search: {exc}") from None
        folder = os.path.join(common.ROOT, "results", "search", cfg.name)
    path = os.path.join(folder, "search.h5")
    if not os.path.isfile(path):
        raise SearchInputError(f"{path}: no search file (run `scripts/search.py {config} -o "
                               f"{folder}` first, or name the search's folder with --search-dir)")
    return path


def parse_cells(text):
    """The [cell] sections of an experiment text as FoundCells, in order; the comment line just
    before a section (the export's rank line) is kept with it."""
    cells = []
    for kind, name, lines in tuning.sections(text):
        if kind != "cell":
            continue
        body = [ln for ln in lines[1:] if ln.strip() and not ln.lstrip().startswith((";", "#"))]
        cells.append(FoundCell(name, "", "\n".join(ln.strip() for ln in body) + "\n"))
    comments = {}
    previous = ""
    for line in text.splitlines():
        match = tuning._SECTION.match(line)  # noqa: SLF001  (the one section pattern)
        if match and match.group(1) == "cell":
            comments[match.group(2)] = previous
        if line.strip():
            previous = line.strip() if line.lstrip().startswith(";") else ""
    return [dataclasses.replace(c, comment=comments.get(c.name, "")) for c in cells]


def export_found(path, top):
    """The best `top` cells of the search file that are not its seeds, through search.py's
    export_cells (the search's ranking); SearchInputError when it holds none."""
    try:
        _attrs, tables = search_store.read_tables(path)
    except search_store.StoreError as exc:
        raise SearchInputError(str(exc)) from None
    seeds = {c["id"] for c in tables["candidates"] if c["generation"] == 0}
    buffer = io.StringIO()
    # the seeds can rank anywhere: ask for enough that `top` others are among them
    search_py.export_cells(path, top + len(seeds), out=buffer)
    found = [c for c in parse_cells(buffer.getvalue()) if c.name not in seeds][:top]
    if not found:
        raise SearchInputError(f"{path}: the search evaluated no cell beyond its seeds "
                               f"({', '.join(sorted(seeds))}): nothing to compare")
    clash = [c.name for c in found if c.name in (BASE,) + REFERENCES]
    if clash:
        raise SearchInputError(f"{path}: exported cell {clash[0]} has the name of a native cell")
    return found


def experiment_text(template, found, overrides, suffix, header, prereg_path, seed=None):
    """The study's experiment: the template with `overrides` (--tiny, --full, --null) applied,
    the found cells appended to every grid's `cell` list and their [cell] sections (with the
    export's comment lines) before the first grid."""
    experiment = {"preregistration": prereg_path}
    if seed is not None:
        experiment["seed"] = str(seed)
    derived = common.derive_ini(template, overrides, suffix, header, experiment)
    out, inserted = [], False
    for kind, _name, lines in tuning.sections(derived):
        if kind == "grid":
            if not inserted:
                for cell in found:
                    out += [cell.comment] * bool(cell.comment) + [f"[cell {cell.name}]"]
                    out += cell.equations.strip().splitlines() + [""]
                inserted = True
            cells = tuning.values(lines, "cell") or []
            names = [BASE] + [c.name for c in found] + [c for c in cells if c != BASE]
            out += tuning.with_values(lines, lines[0], {"cell": ", ".join(names)})
        else:
            out += lines
    return "\n".join(out).rstrip("\n") + "\n"


def found_in_results(h5):
    """The found cells a results file's recorded experiment holds (--analyse-only)."""
    with rr.open_results(h5, require_runs=False) as res:
        text = res.attr_text("experiment_text")
    found = [c for c in parse_cells(text or "") if c.name not in (BASE,) + REFERENCES]
    if not found:
        raise common.ReproError(f"{h5}: its experiment holds no [cell] section: not a "
                                f"{STUDY} results file")
    return found


# ------------------------------------------------------------------------------------------------
# the pre-registered design

def design(prereg):
    """Seeds per cell and task: the larger of the log-rank checks' (through Fisher's exact test
    on the solved fractions) and the jsb check's (Mann-Whitney), at alpha / checks."""
    k = common.prereg_number(prereg, "checks", int)
    top = common.prereg_number(prereg, "top", int)
    if k != 3 * top:
        raise common.ReproError(f"{prereg.path}: [design] checks = {k}, but top = {top} cells on "
                                f"3 tasks make {3 * top}")
    alpha = st.ALPHA / k
    p1 = common.prereg_number(prereg, "solved_found")
    p0 = common.prereg_number(prereg, "solved_lstm")
    effect = common.prereg_number(prereg, "effect_log")
    sd = common.prereg_number(prereg, "sd_log")
    n_solve = st.fisher_n(p1, p0, alpha=alpha)
    n_nll = st.unpaired_n(effect / sd, test="mann-whitney", alpha=alpha)
    n = max(n_solve, n_nll)
    return common.Design(
        f"at alpha {alpha:.4g} and {st.POWER:.0%} power, Fisher's exact test tells solved "
        f"fractions {p1:g} (found) from {p0:g} (lstm) with {n_solve} seeds (the log-rank "
        f"checks' design) and Mann-Whitney detects a log test NLL ratio of {effect:g} at sd "
        f"{sd:g} with {n_nll}; each cell and task runs the larger", "seeds", n)


# ------------------------------------------------------------------------------------------------
# loading and checks

def load(h5):
    """The summary of the finished runs with each run's test_loss (jsb: the test NLL at its best
    validation evaluation; NaN elsewhere) and how many jsb runs had none (they count as the
    marginal model, the run's baseline)."""
    with rr.open_results(h5) as res:
        df = res.summary[res.summary["status"] != "failed"].reset_index(drop=True)
        attrs = [res.run(rid).attrs for rid in df["id"]]
    df["test_loss"] = [float(a.get("test_loss", np.nan)) for a in attrs]
    missing = (df["task"] == JSB) & ~np.isfinite(df["test_loss"])
    df.loc[missing, "test_loss"] = df.loc[missing, "baseline"].astype(float)
    return df, int(missing.sum())


def nll_check(name, variant, base):
    """A `custom` check: Mann-Whitney U of log test NLL, variant lower than base."""
    def compute(df):
        x = common.select(df, variant)["test_loss"].astype(float).to_numpy()
        y = common.select(df, base)["test_loss"].astype(float).to_numpy()
        return st.unpaired_difference(x, y, claim="less", name=name, test="mann-whitney")
    return compute


def task_label(df, task):
    """"temporal-order T=50", or "jsb" for the task without a delay."""
    delays = df.loc[df["task"] == task, "delay"]
    if task == JSB or len(delays) == 0:  # no run of the task yet (--analyse-only, unfinished)
        return task
    return f"{task} T={int(delays.iloc[0])}"


def spec_of(df, task, cell, group=""):
    """The check of `cell` against lstm on `task` (also used, unadjusted, for the references)."""
    variant, base = {"task": task, "cell": cell}, {"task": task, "cell": BASE}
    learner = [base, variant]
    label = task_label(df, task)
    if task == JSB:
        name = f"{label}: {cell} has a lower test NLL than {BASE}"
        return common.CheckSpec(name, "custom", variant, base, claim="less", learner=learner,
                                compute=nll_check(name, variant, base), group=group)
    return common.CheckSpec(f"{label}: {cell} solves sooner than {BASE}", "logrank", variant,
                            base, claim="greater", learner=learner, group=group)


def declare(df, found, tasks):
    """The declared checks: every found cell on every task of the experiment (a task without
    runs yet gives INCONCLUSIVE checks, not fewer), grouped by cell."""
    return [spec_of(df, task, cell.name, group=cell.name) for cell in found for task in tasks]


def tasks_of(text):
    """The tasks of an experiment's [grid] sections, in order."""
    tasks = [t for kind, _name, lines in tuning.sections(text) if kind == "grid"
             for t in tuning.values(lines, "task") or []]
    return list(dict.fromkeys(tasks))


def answer(checks, found):
    """The plain answer to "did anything beat the LSTM?" from the evaluated checks."""
    held = [c for c in checks if c.outcome == "HOLDS"]
    failed = sum(c.outcome == "FAILS" for c in checks)
    gated = sum(bool(c.gate) for c in checks)
    if held:
        return (f"answer: yes: {len(held)} of {len(checks)} checks HOLD after Holm: "
                + "; ".join(c.name for c in held))
    return (f"answer: no: none of the {len(found)} found cell{'s' * (len(found) != 1)} beat "
            f"{BASE} on any task at alpha "
            f"{st.ALPHA} after Holm over {len(checks)} checks ({failed} say {BASE} was better, "
            f"{gated} gated)")


# ------------------------------------------------------------------------------------------------
# the report

def outcome_rows(df, task, cells, outcomes):
    """Per cell on one task: hidden, parameters, lr, solved, median steps to solve (Kaplan-
    Meier), median loss / baseline, jsb's median test NLL, and its test against lstm."""
    rows = []
    for cell in cells:
        at = df[(df["task"] == task) & (df["cell"] == cell)]
        if len(at) == 0:
            continue
        solved = (at["solved"] != 0).to_numpy(dtype=int)
        median = st.kaplan_meier(common.censored_steps(at).to_numpy(), solved)[2]
        row = [cell, ", ".join(str(int(h)) for h in sorted(at["hidden"].unique())),
               int(at["n_params"].iloc[0]),
               ", ".join(f"{lr:g}" for lr in sorted(at["lr"].astype(float).unique())),
               f"{int(solved.sum())}/{len(at)}",
               "never" if median == math.inf else f"{median:.0f}",
               float(at["loss_over_baseline"].astype(float).median())]
        if task == JSB:
            nll = at["test_loss"].astype(float)
            row.append(f"{nll.median():.3f} [{nll.quantile(0.25):.3f}, {nll.quantile(0.75):.3f}]")
        row.append(outcomes.get(cell, ""))
        rows.append(row)
    return rows


def reference_text(df, task, cell):
    """The check's test for a reference cell, unadjusted: "raw p=..., log ratio ..."."""
    try:
        check = common.compute_check(spec_of(df, task, cell), df)
    except (common.ReproError, ValueError) as exc:
        return f"(no test: {exc})"
    return (f"{check.unit} {common.fmt(check.effect)} [{common.fmt(check.ci_low)}, "
            f"{common.fmt(check.ci_high)}], {check.test}, p={common.fmt(check.p)} "
            f"(unadjusted, ungated)")


def add_tables(report, df, found, checks, specs, missing):
    """Per task: every cell's outcomes, the found cells' checks and the references' tests."""
    cells = [BASE] + [c.name for c in found] + [c for c in REFERENCES if c in set(df["cell"])]
    for task in common.ordered(df["task"]):
        outcomes = {BASE: "base"}
        for spec, check in zip(specs, checks):
            if spec.variant["task"] == task:
                outcomes[spec.variant["cell"]] = (f"**{check.outcome}**, Holm p="
                                                  f"{common.fmt(check.p_adjusted)}"
                                                  + (" (gated)" if check.gate else ""))
        for cell in REFERENCES:
            if cell in set(df["cell"]):
                outcomes[cell] = "reference, " + reference_text(df, task, cell)
        header = ["cell", "hidden", "params", "lr", "solved", "median steps to solve",
                  "median final loss/baseline"] + (["test NLL median [IQR]"] if task == JSB
                                                   else []) + ["against lstm"]
        note = ("Test NLL: each run's NLL per step on the test split at its best validation "
                "evaluation (early stopping, patience 5)"
                + (f"; {missing} run(s) without one counted as the marginal model"
                   if missing else "") + ". Final loss: the validation NLL at the last "
                "evaluation." if task == JSB else
                "Runs stop when solved: median steps to solve by Kaplan-Meier, never-solved runs "
                "censored at the budget (\"never\": fewer than half solved); final losses "
                "compare unequal budgets and no check cites them.")
        table = common.md_table(header, outcome_rows(df, task, cells, outcomes))
        report.text(f"## {task_label(df, task)}\n\n{note}\n\n{table}")


def add_cells(report, found, source, asked=None):
    """The found cells' equations, as the export gave them (`asked`: the --top requested)."""
    fewer = (f" (of the {asked} asked for: the search has no more beyond its seeds)"
             if asked is not None and asked > len(found) else "")
    parts = [f"## The cells\n\nThe search's best {len(found)}{fewer} (its seeds left out), "
             f"exported by `scripts/search.py --export` from `{source}`, each at the hidden size "
             f"that gives it the native LSTM's parameter count; the baselines are rnnbench's "
             f"native cells (docs/cells.md; the search's eq-gru, eq-mut1-3 are their equations, "
             f"tests/double/test_graph.c; lstm has the forget-gate bias 1 of eq-lstm).\n"]
    for cell in found:
        parts.append(f"**{cell.name}** {cell.comment.lstrip('; ')}\n\n```\n{cell.equations}```\n")
    report.text("\n".join(parts))


def command_text(args, mode):
    """The command line that reproduces this invocation, with the search it took."""
    extra = f" --search {args.search}" if args.search != DEFAULT_SEARCH else ""
    extra += f" --search-dir {args.search_dir}" if args.search_dir else ""
    extra += f" --top {args.top}" if args.top is not None else ""
    return common.command_line(STUDY, mode, args, extra)


# ------------------------------------------------------------------------------------------------
# the driver

def build_parser():
    """common's parser and the search to take the cells from."""
    parser = common.build_parser(STUDY, __doc__)
    parser.add_argument("--search", default=DEFAULT_SEARCH, metavar="CONFIG",
                        help="the search's configuration (default experiments/search.ini): its "
                             "folder is results/search/<name>/ unless --search-dir")
    parser.add_argument("--search-dir", metavar="DIR",
                        help="the search's folder (search.py -o), holding search.h5")
    parser.add_argument("--top", type=int, metavar="N",
                        help="cells to carry from the search, its seeds left out (default: the "
                             "pre-registration's top, 5)")
    return parser


def prepare(args, mode, prereg, directory, h5):
    """Write DIR/search-compare.ini (the template with the found cells); return (its path, the
    found cells, where they came from, the tasks)."""
    if args.analyse_only:
        source_h5 = h5 if os.path.exists(h5) else os.path.join(directory, f"{STUDY}-tune.h5")
        if not os.path.exists(source_h5):
            raise common.ReproError(f"{h5}: no results file to analyse (--analyse-only)")
        found, source = found_in_results(source_h5), f"{source_h5} (its recorded experiment)"
    else:
        path = search_file(args.search, args.search_dir)
        top = args.top if args.top is not None else common.prereg_number(prereg, "top", int)
        found, source = export_found(path, top), path
    with open(common.experiment_path(STUDY), encoding="utf-8") as fh:
        template = fh.read()
    overrides = dict({"tiny": TINY, "full": FULL, "default": {}}[mode])
    if args.null:
        overrides["lr"] = common.NULL_LR
    suffix = "" if mode == "default" else f"-{mode}"
    suffix += "-null" if args.null else ""
    suffix += f"-seed{args.seed}" if args.seed is not None else ""
    header = (f"{STUDY}: experiments/{STUDY}.ini ({mode}{' --null' if args.null else ''}) with "
              f"the best {len(found)} cells of {source}, written by {common.driver_of(STUDY)}")
    text = experiment_text(template, found, overrides, suffix, header, prereg.path, args.seed)
    ini = os.path.join(directory, f"{STUDY}.ini")
    with open(ini, "w", encoding="utf-8") as fh:
        fh.write(text)
    return ini, found, source, tasks_of(text)


def main(argv=None):
    """Run the study; return the exit status (0 with a verdict, 1 on a failure)."""
    args = build_parser().parse_args(argv)
    mode = common.mode_of(args)
    try:
        if args.top is not None and args.top < 1:
            raise common.ReproError(f"--top: expected an integer >= 1, got {args.top}")
        prereg = common.load_prereg(STUDY)
        design_ = design(prereg)
        with open(common.experiment_path(STUDY), encoding="utf-8") as fh:
            common.check_design(STUDY, design_, prereg, fh.read())
        directory = common.out_dir(args, STUDY)
        h5 = os.path.join(directory, f"{STUDY}.h5")
        ini, found, source, tasks = prepare(args, mode, prereg, directory, h5)
        asked = None if args.analyse_only else (
            args.top if args.top is not None else common.prereg_number(prereg, "top", int))
        tuned = None
        if prereg.tuning is not None and not args.null:
            ini, tuned = common.tune_learning_rates(STUDY, ini, prereg, directory, args)
        wall_s = common.run_or_reuse(STUDY, ini, h5, args)
        df, missing = load(h5)
        report = common.Report(directory, STUDY, __doc__.strip().splitlines()[0], CLAIM, mode,
                               h5, null=args.null)
        add_cells(report, found, source, asked)
        if tuned is not None:
            report.text(tuned)
        specs = declare(df, found, tasks)
        checks = common.evaluate(specs, df)
        said = answer(checks, found)
        report.text(f"## Did anything beat the LSTM?\n\n{said[8].upper() + said[9:]}.\n")
        add_tables(report, df, found, checks, specs, missing)
        synthetic = df[df["task"] != JSB]
        if len(synthetic):
            curves.add_km(report, synthetic, ["task", "delay"], "cell",
                          "fraction solved against updates, every cell")
        post_hoc = "; ".join(r for r in (common.prereg_status(prereg, h5), common.incomplete(h5))
                             if r)
        registered = common.prereg_number(prereg, "checks", int)
        if mode == "default" and not post_hoc and len(specs) != registered:
            post_hoc = f"{len(specs)} checks declared, {registered} pre-registered"
        lines = common.verdict_lines(STUDY, checks, design_, mode, post_hoc, args.null,
                                     [s.group for s in specs]) + [f"  {said}"]
        path = report.write(command_text(args, mode),
                            os.path.relpath(ini, common.ROOT) if ini.startswith(common.ROOT)
                            else ini, wall_s, lines, df)
        print(f"{STUDY}: report {path}", file=sys.stderr)
    except (common.ReproError, rr.ResultsError, OSError) as exc:
        print(f"search_compare.py: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
