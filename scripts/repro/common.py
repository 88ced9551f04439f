"""Shared machinery of the reproduction drivers (scripts/repro/<study>.py).

A driver states a published claim, runs one experiment grid through `bin/rnnbench run`, reads the
summary back, writes DIR/report.md with compare.py's tables and plot.py's figures, and DECLARES
its checks (CheckSpec: claim, variant, base, metric, test kind, equivalence margin, the positive
control a "fails" check depends on, the learner that must beat the task's trivial baseline).
This module evaluates them with scripts/rnnbench_stats.py, applies Holm over the study's checks
and prints the study verdict with its counts, then one line per check:

    MIXED (3 HOLDS, 1 FAILS, 6 INCONCLUSIVE): greff2015: ...
      check: HOLDS  adding: NFG worse than V: log ratio +0.41 [+0.2, +0.6]; Wilcoxon ..., p=...,
             Holm p=...; detectable at 80% power: ...

Gates that make an outcome evidence (the check is INCONCLUSIVE whatever its p when one trips):
  learner  the cell the study's claim is about (its base) must beat the task's trivial baseline
           in the same run (median final loss / baseline below LEARNED_RATIO, or a majority of its
           runs solved): a study in which nothing is learned says nothing;
  control  a check that a cell FAILS at T counts only where the positive control (the cell the
           paper says succeeds) solves at that T (a majority of its runs) in the same run. The
           control protects a HOLDS: that the cell fails may be the budget's doing. It does not
           gate a FAILS (the cell did learn, beyond the baseline or the base: evidence against
           the claim whatever the control did), so a control gate is dropped when the test
           alone says FAILS (for "stays at the baseline", only when the cell went *below* it).

Sample sizes come from power: each driver's design() states the effect it is designed to detect
and computes its trials/seeds with rnnbench_stats (statsmodels' power classes); the numbers must
equal those pre-registered in experiments/<study>.prereg and written in experiments/<study>.ini
(the driver refuses to run otherwise). The .prereg file (INI: [design] effect sizes, margins and
sample sizes the driver reads) is hashed by `bin/rnnbench run` (the experiment's
`preregistration = FILE` key) into the results file; a verdict computed under a .prereg whose
SHA-256 differs from the one recorded when the runs were made is printed marked POST HOC.

A .prereg with a [tuning] section first runs each arm's own learning-rate search
(scripts/repro/tuning.py: its own seed, a few candidates) and runs the study with every arm at
its pick (tune_learning_rates); the report opens with the search's table.

--null reruns the study with the signal removed (lr = NULL_LR: nothing is learned) into
results/repro/<study>-null/ (or --out) and reports how many checks came out non-INCONCLUSIVE;
scripts/repro/null_rate.py runs every driver's null over several experiment seeds.

Example (what a driver does; run a driver, not this module):
    /usr/bin/python3 scripts/repro/hochreiter1997.py --tiny --out /tmp/h97
"""
import argparse
import configparser
import contextlib
import dataclasses
import hashlib
import io
import os
import re
import subprocess
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(_HERE))
SCRIPTS = os.path.join(ROOT, "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

import compare  # noqa: E402  (scripts/compare.py)
import plot  # noqa: E402  (scripts/plot.py)
import rnnbench_results as rr  # noqa: E402
import rnnbench_stats as st  # noqa: E402
import tuning  # noqa: E402  (scripts/repro/tuning.py)

VERDICTS = st.VERDICTS
LEARNED_RATIO = 0.9   # a learner "beats the trivial baseline": median final loss / baseline below
NULL_LR = "1e-12"     # --null: a learning rate at which no weight moves measurably
POST_HOC = "POST HOC"


class ReproError(Exception):
    """A failure of the driver itself (no binary, a failed grid): one line, exit status 1."""


# ------------------------------------------------------------------------------------------------
# command line

def build_parser(study, doc):
    """Return the argparse parser every driver shares; `doc` is the driver's module docstring."""
    parser = argparse.ArgumentParser(
        prog=f"{study}.py", description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", metavar="DIR",
                        help=f"output directory (default results/repro/{study}/, "
                             f"{study}-tiny/ with --tiny, {study}-full/ with --full; -null "
                             f"appended with --null)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="paper-scale grid (hours to days on 2 cores; not run by default)")
    size.add_argument("--tiny", action="store_true",
                      help="seconds-long smoke version: tiny steps, hidden sizes and delays; the "
                           "verdict is still computed, but means nothing")
    parser.add_argument("--null", action="store_true",
                        help=f"null control: the same grid with lr = {NULL_LR} (nothing is "
                             f"learned); reports how many checks came out non-INCONCLUSIVE")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="override the experiment seed (null_rate.py runs several)")
    parser.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                        help="parallel runs (bin/rnnbench run -j; default 2)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite DIR/<study>.h5 if it holds a different experiment")
    parser.add_argument("--analyse-only", action="store_true",
                        help="run nothing: analyse DIR/<study>.h5 as it is; a grid that has not "
                             "finished gives a verdict marked POST HOC with the runs it holds")
    return parser


def incomplete(h5):
    """"" when the grid of the results file finished, else how far it got."""
    with rr.open_results(h5, require_runs=False) as res:
        if res.complete:
            return ""
        return (f"the grid did not finish: {res.attrs.get('n_finished', '?')} of "
                f"{res.attrs.get('n_runs', '?')} planned runs in the file; the checks use "
                f"those, fewer than the power calculation's")


def mode_of(args):
    """Return "tiny", "full" or "default"."""
    return "tiny" if args.tiny else "full" if args.full else "default"


def out_dir(args, study):
    """Return (and create) the output directory."""
    if args.out:
        path = args.out
    else:
        suffix = {"tiny": "-tiny", "full": "-full", "default": ""}[mode_of(args)]
        suffix += "-null" if args.null else ""
        suffix += f"-seed{args.seed}" if args.seed is not None else ""
        path = os.path.join(ROOT, "results", "repro", study + suffix)
    os.makedirs(path, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------------
# experiment files

_SECTION = re.compile(r"^\s*\[\s*([A-Za-z]+)(?:\s+([^\]]*?))?\s*\]\s*(?:[;#].*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z_]\w*)(\s*=\s*)(.*?)(\s*(?:;.*)?)$")


def driver_of(study):
    """The driver script of a study, relative to the root (copy's is copy_task.py: a module
    named copy would hide the standard library's)."""
    return f"scripts/repro/{ {'copy': 'copy_task'}.get(study, study.replace('-', '_')) }.py"


def experiment_path(study):
    """Return experiments/<study>.ini."""
    return os.path.join(ROOT, "experiments", f"{study}.ini")


def derive_ini(text, overrides, name_suffix, header, experiment=None):
    """Return experiment text with `overrides` applied.

    `overrides` maps a key to a value for every [grid] section, or a section name ("grid adding"
    style names: the part after `grid`) to such a dict for that section only. A key a section
    lacks is added at its end. `experiment` maps [experiment] keys (seed, preregistration) to
    new values the same way. The experiment name gets `name_suffix`; `header` (comment lines)
    goes first, saying what was derived from what.
    """
    common = {k: v for k, v in overrides.items() if not isinstance(v, dict)}
    per_section = {k: v for k, v in overrides.items() if isinstance(v, dict)}
    out = [f"; {line}" for line in header.splitlines()]
    section, sec_name, pending = None, None, {}

    def flush():
        # the keys a section lacked go after its last non-blank line
        at = len(out)
        while at > 0 and not out[at - 1].strip():
            at -= 1
        out[at:at] = [f"{key} = {value}" for key, value in pending.items()]

    for line in text.splitlines():
        match = _SECTION.match(line)
        if match:
            if section in ("grid", "experiment"):
                flush()
            section, sec_name = match.group(1), (match.group(2) or "")
            if section == "grid":
                pending = dict(common, **per_section.get(sec_name, {}))
            elif section == "experiment":
                pending = dict(experiment or {})
            else:
                pending = {}
            out.append(line)
            continue
        key = _KEY.match(line)
        if key and not line.lstrip().startswith((";", "#")):
            indent, name, eq, _value, comment = key.groups()
            if section == "experiment" and name == "name":
                out.append(f"{indent}{name}{eq}{_value}{name_suffix}{comment}")
                continue
            if section in ("grid", "experiment") and name in pending:
                out.append(f"{indent}{name}{eq}{pending.pop(name)}")
                continue
        out.append(line)
    if section in ("grid", "experiment"):
        flush()
    return "\n".join(out) + "\n"


def prepare_experiment(study, mode, directory, tiny=None, full=None, null=False, seed=None):
    """Return the path of the experiment file to run, writing DIR/<study>.ini for every mode.

    Default mode runs experiments/<study>.ini itself (copied beside the results for the record);
    --tiny and --full apply the driver's overrides to it, --null sets lr = NULL_LR everywhere
    and --seed the experiment seed. A derived file names the pre-registration by its absolute
    path (the derived file lives elsewhere).
    """
    source = experiment_path(study)
    with open(source, encoding="utf-8") as fh:
        text = fh.read()
    written = os.path.join(directory, f"{study}.ini")
    if mode == "default" and not null and seed is None:
        with open(written, "w", encoding="utf-8") as fh:
            fh.write(text)
        return source
    overrides = dict({"tiny": tiny, "full": full, "default": {}}[mode])
    if null:
        overrides["lr"] = NULL_LR
        for value in overrides.values():
            if isinstance(value, dict) and "lr" in value:
                value["lr"] = NULL_LR
    # a study without a .prereg (greff-jsb, so far) runs without one, and reads as post hoc
    experiment = {"preregistration": prereg_path(study)} if os.path.exists(prereg_path(study)) else {}
    if seed is not None:
        experiment["seed"] = str(seed)
    suffix = "" if mode == "default" else f"-{mode}"
    suffix += "-null" if null else ""
    suffix += f"-seed{seed}" if seed is not None else ""
    header = (f"{study}: {mode}{' --null' if null else ''} variant of experiments/{study}.ini, "
              f"written by {driver_of(study)}\n"
              + ", ".join(f"{k} = {v}" for k, v in overrides.items()
                          if not isinstance(v, dict)))
    with open(written, "w", encoding="utf-8") as fh:
        fh.write(derive_ini(text, overrides, suffix, header, experiment))
    return written


def grid_value(study, key):
    """Return the first value of `key` in experiments/<study>.ini (for the report's notes)."""
    with open(experiment_path(study), encoding="utf-8") as fh:
        for line in fh:
            match = _KEY.match(line)
            if match and match.group(2) == key:
                return match.group(4)
    return None


# ------------------------------------------------------------------------------------------------
# pre-registration: experiments/<study>.prereg

def prereg_path(study):
    """Return experiments/<study>.prereg."""
    return os.path.join(ROOT, "experiments", f"{study}.prereg")


@dataclasses.dataclass
class Prereg:
    """A study's pre-registered design: the file, its text and SHA-256, its [design] and its
    [tuning] (None: the study runs at its file's learning rates)."""
    path: str
    text: str
    sha256: str
    design: configparser.SectionProxy
    tuning: object = None


def load_prereg(study, path=None):
    """Read experiments/<study>.prereg (INI with a [design] section); ReproError if missing."""
    path = path or prereg_path(study)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ReproError(f"{path}: cannot read the pre-registration ({exc.strerror})") from exc
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    try:
        parser.read_string(raw.decode("utf-8"), source=path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ReproError(f"{path}: not a pre-registration INI: {exc}") from exc
    if not parser.has_section("design"):
        raise ReproError(f"{path}: no [design] section")
    tuned = None
    if parser.has_section("tuning"):
        try:
            tuned = tuning.from_section(parser["tuning"], path)
        except tuning.TuningError as exc:
            raise ReproError(str(exc)) from None
    return Prereg(path, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest(), parser["design"],
                  tuned)


def prereg_number(prereg, key, kind=float):
    """prereg.design[key] as `kind`; ReproError naming the file, key and value otherwise."""
    if key not in prereg.design:
        raise ReproError(f"{prereg.path}: [design] lacks {key}")
    value = prereg.design[key]
    try:
        return kind(value)
    except ValueError:
        raise ReproError(f"{prereg.path}: [design] {key} = {value!r} is not a "
                         f"{kind.__name__}") from None


def recorded_prereg(h5):
    """Return (sha256, path) of the pre-registration `bin/rnnbench run` recorded when it made the
    runs (root attributes preregistration_sha256, preregistration), or (None, None)."""
    with rr.open_results(h5, require_runs=False) as res:
        attrs = res.attrs
    sha = attrs.get("preregistration_sha256")
    return (str(sha), str(attrs.get("preregistration"))) if sha else (None, None)


def prereg_status(prereg, h5):
    """Return "" when the runs recorded this pre-registration's hash, else why it is post hoc."""
    sha, _path = recorded_prereg(h5)
    if sha is None:
        return "the results file records no pre-registration"
    if sha != prereg.sha256:
        return (f"{os.path.relpath(prereg.path, ROOT)} changed after the runs (sha256 "
                f"{prereg.sha256[:12]} now, {sha[:12]} when run)")
    return ""


# ------------------------------------------------------------------------------------------------
# running and loading

def rnnbench_binary():
    """Return bin/rnnbench, or raise ReproError saying how to build it."""
    path = os.path.join(ROOT, "bin", "rnnbench")
    if not os.access(path, os.X_OK):
        raise ReproError(f"{path} not found: build it with `make float`")
    return path


def run_grid(ini, h5, jobs, force=False, log=None):
    """Run `bin/rnnbench run ini -o h5 -j jobs --quiet`; return the wall time in seconds.

    rnnbench's table goes to `log` (default: beside h5, <name>.log). A finished file is resumed,
    i.e. nothing is rerun; a failure raises ReproError with the last line rnnbench printed.
    """
    cmd = [rnnbench_binary(), "run", ini, "-o", h5, "-j", str(jobs), "--quiet"]
    if force:
        cmd.append("--force")
    log = log or os.path.splitext(h5)[0] + ".log"
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    wall_s = time.monotonic() - start
    if proc.returncode != 0:
        with open(log, encoding="utf-8", errors="replace") as fh:
            lines = [ln.strip() for ln in fh if ln.strip()]
        last = lines[-1] if lines else "no output"
        raise ReproError(f"`{' '.join(cmd)}` exited {proc.returncode}: {last}")
    return wall_s


def load_summary(h5):
    """Return the summary DataFrame of a results file (only runs that finished or diverged)."""
    df = rr.read_summary(h5)
    return df[df["status"] != "failed"].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# statistics helpers

def censored_steps(rows):
    """Steps to solve with never-solved runs counted as their budget (compare.py's metric)."""
    return compare.metric_values(rows, "steps_to_solve")


def fmt(x, digits=3):
    """A number for a verdict or a table: 3 significant digits, '-' for NaN."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:.{digits}g}"


def md_table(header, rows):
    """A Markdown table from a header list and a list of row lists."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |"
              for row in rows]
    return "\n".join(lines) + "\n"


def select(df, where):
    """The rows of df matching every {column: value} of `where` (numbers compared as numbers)."""
    mask = np.ones(len(df), dtype=bool)
    for column, value in where.items():
        if column not in df.columns:
            raise ReproError(f"the summary has no column {column!r}")
        mask &= rr.column_matches(df[column], str(value)).to_numpy()
    return df[mask]


def describe(where):
    """A selection as text: "task=adding cell=lstm"."""
    return " ".join(f"{k}={v}" for k, v in where.items())


def learned(rows):
    """(True, text) when the rows beat their task's trivial baseline: median final loss /
    baseline below LEARNED_RATIO or a majority of runs solved; (False, text) otherwise."""
    if len(rows) == 0:
        return False, "no runs"
    ratio = float(rows["loss_over_baseline"].astype(float).median())
    n_solved = int((rows["solved"] != 0).sum())
    ok = ratio < LEARNED_RATIO or 2 * n_solved > len(rows)
    return ok, f"median loss/baseline {ratio:.2f}, solved {n_solved}/{len(rows)}"


def solves(rows):
    """(True, text) when a majority of the rows solved their task."""
    n_solved = int((rows["solved"] != 0).sum())
    return len(rows) > 0 and 2 * n_solved > len(rows), f"solved {n_solved}/{len(rows)}"


# ------------------------------------------------------------------------------------------------
# declared checks and their evaluation

KINDS = ("paired", "equivalent", "vs_baseline", "baseline_equivalent", "fisher", "logrank",
         "custom")


@dataclasses.dataclass
class CheckSpec:
    """One pre-declared check of a study.

    kind         paired               Wilcoxon signed-rank on log `metric`, variant vs base paired
                                      by shared draw/seed (compare.pair_keys)
                 equivalent           paired TOST on log `metric` within ×/÷ `margin`
                 vs_baseline          Wilcoxon signed-rank of log final loss against the log of
                                      each run's own trivial baseline (base unused)
                 baseline_equivalent  TOST: the variant's final loss within ×/÷ `margin` of its
                                      trivial baseline ("stays at the baseline", a fails claim)
                 fisher               Fisher's exact test of solved counts
                 logrank              log-rank test of steps to solve, censored at the budget
                 custom               compute(df) returns the rnnbench_stats Check
    claim        greater / less / differs (equivalent kinds: ignored)
    control      selection of the positive control that must solve (majority) in the same run:
                 set it on every check whose claim is that a cell fails
    learner      selection that must beat the trivial baseline (the study's base), or a list
                 of selections of which at least one must
    group        a label (e.g. "steps=2000"): the verdict lines add one verdict per group (Holm
                 is still over all the study's checks)
    """
    name: str
    kind: str
    variant: dict
    base: dict = None
    claim: str = "differs"
    metric: str = "final_loss"
    margin: float = float("nan")
    control: dict = None
    learner: dict = None
    compute: object = None
    group: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"check {self.name}: kind {self.kind!r} not one of {KINDS}")


def _paired_rows(variant, base):
    """Variant and base rows aligned by their shared draw/seed; ReproError if they do not pair."""
    by = "cell" if variant["cell"].nunique() == 1 and base["cell"].nunique() == 1 and \
        variant["cell"].iloc[0] != base["cell"].iloc[0] else "forget_bias"
    keys_v, keys_b = compare.pair_keys(variant, by), compare.pair_keys(base, by)
    index_b = {k: i for i, k in enumerate(keys_b)}
    pairs = [(i, index_b[k]) for i, k in enumerate(keys_v) if k in index_b]
    if len(pairs) != len(keys_v) or len(set(keys_v)) != len(keys_v):
        raise ReproError("a paired check's variant and base runs do not share their draws")
    return (variant.iloc[[i for i, _ in pairs]], base.iloc[[j for _, j in pairs]])


def compute_check(spec, df):
    """The rnnbench_stats Check of one spec on the summary (before gates and Holm)."""
    if spec.kind == "custom":
        return spec.compute(df)
    variant = select(df, spec.variant)
    base = select(df, spec.base) if spec.base else None
    if spec.kind in ("paired", "equivalent"):
        v, b = _paired_rows(variant, base)
        x = compare.metric_values(v, spec.metric).to_numpy()
        y = compare.metric_values(b, spec.metric).to_numpy()
        if spec.kind == "paired":
            return st.paired_difference(x, y, claim=spec.claim, name=spec.name)
        return st.equivalence(x, y, spec.margin, name=spec.name, paired=True)
    if spec.kind in ("vs_baseline", "baseline_equivalent"):
        x = variant["final_loss"].astype(float).to_numpy()
        y = variant["baseline"].astype(float).to_numpy()
        if spec.kind == "vs_baseline":
            return st.paired_difference(x, y, claim=spec.claim, name=spec.name)
        return st.equivalence(x, y, spec.margin, name=spec.name, paired=True)
    if spec.kind == "fisher":
        return st.solve_counts(int((variant["solved"] != 0).sum()), len(variant),
                               int((base["solved"] != 0).sum()), len(base),
                               claim=spec.claim, name=spec.name)
    # logrank
    return st.time_to_solve(censored_steps(variant).to_numpy(), (variant["solved"] != 0)
                            .to_numpy(dtype=int), censored_steps(base).to_numpy(),
                            (base["solved"] != 0).to_numpy(dtype=int), claim=spec.claim,
                            name=spec.name)


def gate_of(spec, df):
    """(learner gate, control gate): why the spec's check cannot count in this run ("" when
    that gate passes)."""
    if spec.learner:
        learners = spec.learner if isinstance(spec.learner, list) else [spec.learner]
        results = [learned(select(df, where)) for where in learners]
        if not any(ok for ok, _ in results):
            return ("learner " + " / ".join(f"{describe(w)} ({text})" for w, (_, text)
                                            in zip(learners, results)) + " learned nothing", "")
    if spec.control:
        ok, text = solves(select(df, spec.control))
        if not ok:
            return "", f"positive control {describe(spec.control)} did not solve ({text})"
    return "", ""


def _control_gate_applies(spec, check):
    """False when the check's test alone says FAILS: the cell did learn, which contradicts a
    claim that it fails whatever the positive control did (for "stays at the baseline": only a
    loss below the baseline, not a worse one)."""
    if check.outcome != "FAILS":
        return True
    return spec.kind == "baseline_equivalent" and check.direction != -1


def evaluate(specs, df):
    """Evaluate the declared checks: compute, Holm over all of them (gated ones too: the family
    is what was declared, not what happened to pass its gates), then gate."""
    checks = st.holm([compute_check(s, df) for s in specs])
    out = []
    for spec, check in zip(specs, checks):
        learner_gate, control_gate = gate_of(spec, df)
        if control_gate and not _control_gate_applies(spec, check):
            check = dataclasses.replace(check, note="; ".join(
                filter(None, [check.note, control_gate.replace("positive control", "control")
                              + ": it gates a HOLDS, not this FAILS"])))
            control_gate = ""
        out.append(dataclasses.replace(check, gate=learner_gate or control_gate))
    return out


def ungated(checks):
    """The same checks with their gates removed (what the tests alone would have said)."""
    return [dataclasses.replace(c, gate="") for c in checks]


@dataclasses.dataclass
class Design:
    """What a study is designed to detect and the sample size its power calculation gives:
    `key` (trials or seeds) = `n` in every [grid] section (`sections`: only those)."""
    text: str
    key: str
    n: int
    sections: tuple = ()


def check_design(study, design, prereg, ini_text):
    """ReproError unless the power-derived n equals the pre-registered one and the experiment
    file's."""
    registered = prereg_number(prereg, design.key, int)
    if registered != design.n:
        raise ReproError(f"{prereg.path}: [design] {design.key} = {registered}, but the power "
                         f"calculation gives {design.n}")
    section = None
    for number, line in enumerate(ini_text.splitlines(), 1):
        match = _SECTION.match(line)
        if match:
            section = (match.group(1), match.group(2) or "")
            continue
        key = _KEY.match(line)
        if key and section and section[0] == "grid" and key.group(2) == design.key and \
                (not design.sections or section[1] in design.sections):
            if key.group(4).strip() != str(design.n):
                raise ReproError(f"{experiment_path(study)}:{number}: {design.key} = "
                                 f"{key.group(4).strip()}, but the power calculation gives "
                                 f"{design.n}")


# ------------------------------------------------------------------------------------------------
# the report

class Report:
    """DIR/report.md: a title, the claim, the command, tables and figures, the verdict."""

    def __init__(self, directory, study, title, claim, mode, h5, null=False):
        self.directory = directory
        self.study = study
        self.h5 = h5
        self.parts = [f"# {title}\n", f"**Claim.** {claim}\n"]
        if mode == "tiny":
            self.parts.append("**This is a --tiny smoke run: its numbers mean nothing.**\n")
        if null:
            self.parts.append(f"**This is a --null control run (lr = {NULL_LR}: nothing is "
                              f"learned): every check should be INCONCLUSIVE.**\n")
        self.figures = []

    def text(self, markdown):
        """Append a paragraph of Markdown."""
        self.parts.append(markdown.rstrip("\n") + "\n")

    def compare_table(self, title, baseline=None, metric="final_loss", where=None, by="cell"):
        """Append compare.py's Markdown table(s) for the selection."""
        try:
            table = compare.compare(self.h5, by=by, baseline=baseline, metric=metric,
                                    where=where, fmt="md")
        except (rr.ResultsError, compare.UsageError, rr.WhereError) as exc:
            table = f"(no table: {exc})\n"
        self.parts.append(f"## {title}\n\n{table}")

    def figure(self, kind, name, caption, **options):
        """Draw plot.py KIND into DIR/<name>.png and append it; a plot that fails is noted."""
        png = os.path.join(self.directory, f"{name}.png")
        argv = [self.h5, kind, "-o", png]
        for key, value in options.items():
            for item in (value if isinstance(value, list) else [value]):
                argv += [f"--{key}", str(item)]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = plot.main(argv)
        if status != 0 or not os.path.exists(png):
            self.parts.append(f"(figure {name} not drawn: {err.getvalue().strip()})\n")
            return None
        self.figures.append(png)
        self.parts.append(f"![{caption}]({name}.png)\n\n*{caption}*\n")
        return png

    def write(self, command, ini, wall_s, lines, df):
        """Write report.md with the command, run time, verdict and check lines at the top."""
        run_s = float(df["wall_s"].astype(float).sum())
        head = [self.parts[0], self.parts[1],
                f"**Command.** `{command}`  \n**Experiment file.** `{ini}`  \n"
                f"**Results.** `{self.h5}`  \n**Runs.** {len(df)}, {run_s:.0f} s of training "
                f"summed over runs; this invocation's grid wall time {wall_s:.0f} s (0 when the "
                f"results file was already complete)\n",
                f"**Verdict.** `{lines[0]}`\n",
                "```\n" + "\n".join(lines[1:]) + "\n```\n"]
        path = os.path.join(self.directory, "report.md")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(head + self.parts[2:]))
        return path


def group_lines(checks, groups):
    """One line per group label (in order of first appearance): its verdict from its own
    checks (their Holm p over the whole study), e.g. "  steps=500: INCONCLUSIVE (...)"."""
    lines = []
    for label in ordered(pd.Series([g for g in groups if g], dtype=object)):
        mine = [c for c, g in zip(checks, groups) if g == label]
        lines.append(f"  {label}: {st.verdict_text(mine)}")
    return lines


def verdict_lines(study, checks, design, mode, post_hoc="", null=False, groups=None):
    """The verdict line (first) and the lines under it: design, the groups' verdicts, each
    check, null summary."""
    verdict = st.verdict_text(checks)
    if post_hoc:
        verdict = f"{POST_HOC} {verdict}"
    lines = [f"{verdict}: {study}: {len(checks)} checks, Holm over all, alpha {st.ALPHA}"]
    if post_hoc:
        lines.append(f"  post hoc: {post_hoc}")
    lines.append(f"  design: {design.text}; power calculation: {design.key} = {design.n}"
                 + (f" (this --{mode} run uses its own smaller size)" if mode != "default"
                    else ""))
    lines += group_lines(checks, groups or [])
    lines += [f"  check: {c.line()}" for c in checks]
    if null:
        decided = sum(c.outcome != "INCONCLUSIVE" for c in checks)
        raw = sum(c.outcome != "INCONCLUSIVE" for c in ungated(checks))
        lines.append(f"  null: {decided}/{len(checks)} checks non-INCONCLUSIVE "
                     f"({raw}/{len(checks)} without the gates)")
    return lines


def tune_learning_rates(study, ini, prereg, directory, args):
    """Run the study's learning-rate search (scripts/repro/tuning.py) and write the study's grid
    with each arm at the lr it picked; return (that file, the report's Markdown about it)."""
    with open(ini, encoding="utf-8") as fh:
        text = derive_ini(fh.read(), {}, "", "", {"preregistration": prereg.path})
    tune_ini = os.path.join(directory, f"{study}-tune.ini")
    tune_h5 = os.path.join(directory, f"{study}-tune.h5")
    with open(tune_ini, "w", encoding="utf-8") as fh:
        fh.write(tuning.tuning_text(text, prereg.tuning))
    if args.analyse_only:
        if not os.path.exists(tune_h5):
            raise ReproError(f"{tune_h5}: no tuning results to analyse (--analyse-only)")
        wall_s = 0.0
    else:
        print(f"{study}: tuning learning rates: {os.path.relpath(tune_ini, ROOT)} -> {tune_h5}",
              file=sys.stderr)
        wall_s = run_grid(tune_ini, tune_h5, args.jobs, force=args.force)
    try:
        picks, table = tuning.pick(load_summary(tune_h5), text, prereg.tuning)
        tuned_ini = os.path.join(directory, f"{study}.ini")
        with open(tuned_ini, "w", encoding="utf-8") as fh:
            fh.write(tuning.tuned_text(text, picks, prereg.tuning, header=(
                f"{study}: {os.path.basename(ini)} with each arm at the learning rate its own "
                f"search picked\n({os.path.basename(tune_ini)}, rule in "
                f"{os.path.relpath(prereg.path, ROOT)} [tuning])")))
    except tuning.TuningError as exc:
        raise ReproError(f"{tune_h5}: {exc}") from None
    spec = prereg.tuning
    delays = ", ".join(f"{k}: T = {v}" if k else f"T = {v}" for k, v in spec.delay.items())
    markdown = (f"## Learning rates, tuned per arm\n\nEach arm (task, {', '.join(spec.per)}) "
                f"ran {spec.seeds} seed(s) at each of lr = {', '.join(spec.lrs)} (delay "
                f"{delays} where the grid has it, else its longest delay; experiment seed "
                f"{spec.seed}, so these runs are not the judged ones) and runs the study at the "
                f"lr with the most runs solved, then the lowest median final loss / baseline, "
                f"then the smaller lr. Tuning grid: `{os.path.basename(tune_h5)}`, wall time "
                f"{wall_s:.0f} s.\n\n"
                + md_table(["arm", "lr", "solved", "median loss/baseline", ""], table))
    return tuned_ini, markdown


def command_line(study, mode, args, extra=""):
    """The command that reproduces a driver's invocation (its mode, --null, --seed, `extra`
    options of its own, -j, --out), for the report."""
    flags = {"tiny": " --tiny", "full": " --full", "default": ""}[mode]
    flags += " --null" if args.null else ""
    flags += f" --seed {args.seed}" if args.seed is not None else ""
    return (f"/usr/bin/python3 {driver_of(study)}{flags}{extra} -j {args.jobs}"
            + (f" --out {args.out}" if args.out else ""))


def run_or_reuse(study, ini, h5, args):
    """Run the study's grid into h5 (a finished file reruns nothing), or with --analyse-only
    check that h5 is there; the grid's wall time in s (0 when nothing ran)."""
    if args.analyse_only:
        if not os.path.exists(h5):
            raise ReproError(f"{h5}: no results file to analyse (--analyse-only)")
        return 0.0
    shown = os.path.relpath(ini, ROOT) if ini.startswith(ROOT) else ini
    print(f"{study}: running {shown} -> {h5} (-j {args.jobs})", file=sys.stderr)
    wall_s = run_grid(ini, h5, args.jobs, force=args.force)
    print(f"{study}: grid finished in {wall_s:.0f} s", file=sys.stderr)
    return wall_s


def run_study(study, doc, tiny, full, analyse, design_of, argv=None):
    """The whole driver: parse args, check the design against the pre-registration, run the
    grid, call `analyse(df, report, mode, prereg)` for the declared CheckSpecs (or a pair
    (specs, rows) when the checks select from rows derived from the summary, as copy's
    per-budget rows), evaluate and print the verdict line then the check lines.

    `design_of(prereg)` returns the study's Design. Returns the exit status: 0 with a verdict
    (whatever it is), 1 when the grid or the analysis failed.
    """
    args = build_parser(study, doc).parse_args(argv)
    mode = mode_of(args)
    try:
        prereg = load_prereg(study)
        design = design_of(prereg)
        with open(experiment_path(study), encoding="utf-8") as fh:
            check_design(study, design, prereg, fh.read())
        directory = out_dir(args, study)
        ini = prepare_experiment(study, mode, directory, tiny=tiny, full=full, null=args.null,
                                 seed=args.seed)
        tuned = None
        if prereg.tuning is not None and not args.null:
            ini, tuned = tune_learning_rates(study, ini, prereg, directory, args)
        h5 = os.path.join(directory, f"{study}.h5")
        wall_s = run_or_reuse(study, ini, h5, args)
        df = load_summary(h5)
        report = Report(directory, study, doc.strip().splitlines()[0], CLAIMS[study], mode, h5,
                        null=args.null)
        if tuned is not None:
            report.text(tuned)
        specs = analyse(df, report, mode, prereg)
        if isinstance(specs, tuple):  # (specs, the rows they select from: e.g. copy's budgets)
            specs, checked = specs
        else:
            checked = df
        checks = evaluate(specs, checked)
        post_hoc = "; ".join(r for r in (prereg_status(prereg, h5), incomplete(h5)) if r)
        registered = prereg_number(prereg, "checks", int)
        if mode == "default" and not post_hoc and len(specs) != registered:
            post_hoc = f"{len(specs)} checks declared, {registered} pre-registered"
        lines = verdict_lines(study, checks, design, mode, post_hoc, args.null,
                              [s.group for s in specs])
        path = report.write(command_line(study, mode, args), os.path.relpath(ini, ROOT) if ini.startswith(ROOT) else ini,
                            wall_s, lines, df)
        print(f"{study}: report {path}", file=sys.stderr)
    except (ReproError, rr.ResultsError, OSError) as exc:
        print(f"{study}.py: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


# the claims, one line each with the citation (docs/reproductions.md repeats them)
CLAIMS = {
    "greff2015": "Greff et al. 2015/2017, *LSTM: A Search Space Odyssey*: removing the forget gate "
                 "(NFG) or the output activation (NOAF) hurts significantly, coupling the gates "
                 "(CIFG) or removing the peepholes (NP) does not (Welch's t-test vs V, p < 0.05, "
                 "unverified); the learning rate is the most important hyperparameter.",
    "hochreiter1997": "Hochreiter & Schmidhuber 1997, *Long Short-Term Memory*: LSTM solves the "
                      "adding problem at T = 100, 500, 1000 and temporal order; RNNs trained by "
                      "BPTT fail as the lag grows.",
    "forget-bias": "Jozefowicz, Zaremba & Sutskever 2015: initialise the LSTM forget-gate bias to "
                   "1 (it learns long dependencies faster / more reliably than bias 0).",
    "copy": "Arjovsky, Shah & Bengio 2016: on the copy task the tanh RNN stays at the baseline "
            "10·ln8/(T+20); LSTM beats it only at short delays (T = 100 in their runs).",
    "peephole-timing": "Gers, Schraudolph & Schmidhuber 2002: peephole connections are needed to "
                       "generate precisely timed spikes (counts unverified).",
    "greff-jsb": "Greff et al. 2015, *LSTM: A Search Space Odyssey* (arXiv 1503.04069), music "
                 "arm: on JSB Chorales removing the forget gate (NFG) or the output activation "
                 "(NOAF) makes the LSTM significantly worse; removing the input gate, output gate "
                 "or input activation (NIG, NOG, NIAF), coupling the gates (CIFG) or removing the "
                 "peepholes (NP) makes no significant difference; full gate recurrence (FGR) "
                 "brings no gain; the learning rate matters most (Welch's t-test against V over "
                 "each variant's 200 random-search trials; fANOVA).",
    "greff-continual": "Greff et al. 2015/2017, *LSTM: A Search Space Odyssey*, tested where the "
                       "removed part is needed (Gers, Schmidhuber & Cummins 2000: one unbroken "
                       "stream, no state reset): without the forget gate (NFG) the LSTM fails "
                       "where V (lstm-peep) succeeds; without the output activation (NOAF) it "
                       "does worse on a long stream.",
    "delay-sweep": "The common finding of the studies above: gated cells bridge much longer delays "
                   "than the Elman RNN; the sweep finds, per task, the longest delay each cell "
                   "solves.",
}


def ordered(series):
    """The distinct values of a column in order of first appearance."""
    return list(pd.unique(series))
