"""Shared machinery of the reproduction drivers (scripts/repro/<study>.py).

A driver states a published claim, runs one experiment grid through `bin/rnnbench run`, reads the
summary back, writes DIR/report.md with compare.py's tables and plot.py's figures, and prints one
verdict line computed from its own measurements:

    REPRODUCED: ... | PARTLY: ... | NOT REPRODUCED: ...

This module offers the parts every driver shares: the command line (--out, --full, --tiny, -j,
--force), deriving the --tiny and --full variants of an experiment file (key overrides applied to
every [grid] section, written beside the results as DIR/<study>.ini), running the grid, loading
the summary, the table and figure helpers, the variance decomposition and the verdict line. It
does not decide any verdict itself: the thresholds live in each driver, next to the claim.

Example (what a driver does; run a driver, not this module):
    /usr/bin/python3 scripts/repro/hochreiter1997.py --tiny --out /tmp/h97
"""
import argparse
import contextlib
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
import rnnbench_results as rr

VERDICTS = ("REPRODUCED", "PARTLY", "NOT REPRODUCED")


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
                             f"{study}-tiny/ with --tiny, {study}-full/ with --full)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="paper-scale grid (hours to days on 2 cores; not run by default)")
    size.add_argument("--tiny", action="store_true",
                      help="seconds-long smoke version: tiny steps, hidden sizes and delays; the "
                           "verdict is still computed, but means nothing")
    parser.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                        help="parallel runs (bin/rnnbench run -j; default 2)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite DIR/<study>.h5 if it holds a different experiment")
    return parser


def mode_of(args):
    """Return "tiny", "full" or "default"."""
    return "tiny" if args.tiny else "full" if args.full else "default"


def out_dir(args, study):
    """Return (and create) the output directory."""
    if args.out:
        path = args.out
    else:
        suffix = {"tiny": "-tiny", "full": "-full", "default": ""}[mode_of(args)]
        path = os.path.join(ROOT, "results", "repro", study + suffix)
    os.makedirs(path, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------------
# experiment files

_SECTION = re.compile(r"^\s*\[\s*([A-Za-z]+)(?:\s+([^\]]*?))?\s*\]\s*(?:[;#].*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z_]\w*)(\s*=\s*)(.*?)(\s*(?:;.*)?)$")


def experiment_path(study):
    """Return experiments/<study>.ini."""
    return os.path.join(ROOT, "experiments", f"{study}.ini")


def derive_ini(text, overrides, name_suffix, header):
    """Return experiment text with `overrides` applied.

    `overrides` maps a key to a value for every [grid] section, or a section name ("grid adding"
    style names: the part after `grid`) to such a dict for that section only. A key a section
    lacks is added at its end. The experiment name gets `name_suffix`; `header` (comment lines)
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
            if section == "grid":
                flush()
            section, sec_name = match.group(1), (match.group(2) or "")
            pending = dict(common, **per_section.get(sec_name, {})) if section == "grid" else {}
            out.append(line)
            continue
        key = _KEY.match(line)
        if key and not line.lstrip().startswith((";", "#")):
            indent, name, eq, _value, comment = key.groups()
            if section == "experiment" and name == "name":
                out.append(f"{indent}{name}{eq}{_value}{name_suffix}{comment}")
                continue
            if section == "grid" and name in pending:
                out.append(f"{indent}{name}{eq}{pending.pop(name)}")
                continue
        out.append(line)
    if section == "grid":
        flush()
    return "\n".join(out) + "\n"


def prepare_experiment(study, mode, directory, tiny=None, full=None):
    """Return the path of the experiment file to run, writing DIR/<study>.ini for every mode.

    Default mode runs experiments/<study>.ini itself (copied beside the results for the record);
    --tiny and --full apply the driver's overrides to it.
    """
    source = experiment_path(study)
    with open(source, encoding="utf-8") as fh:
        text = fh.read()
    written = os.path.join(directory, f"{study}.ini")
    if mode == "default":
        with open(written, "w", encoding="utf-8") as fh:
            fh.write(text)
        return source
    overrides = tiny if mode == "tiny" else full
    header = (f"{study}: --{mode} variant of experiments/{study}.ini, written by "
              f"scripts/repro/{study}.py\n"
              + ", ".join(f"{k} = {v}" for k, v in overrides.items()
                          if not isinstance(v, dict)))
    with open(written, "w", encoding="utf-8") as fh:
        fh.write(derive_ini(text, overrides, f"-{mode}", header))
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
# statistics

def censored_steps(rows):
    """Steps to solve with never-solved runs counted as their budget (compare.py's metric)."""
    return compare.metric_values(rows, "steps_to_solve")


def welch(a, b):
    """Welch's two-sided t-test (t, p); NaN when undefined (compare.py's implementation)."""
    return compare.welch(a, b)


def eta_squared(values, factor):
    """Share of the variance of `values` explained by the groups of `factor` (one-way ANOVA η²):
    between-group sum of squares over total sum of squares; 0 when there is no variance."""
    values = np.asarray(values, dtype=float)
    factor = np.asarray(factor)
    total = np.sum((values - values.mean()) ** 2)
    if total == 0:
        return 0.0
    between = 0.0
    for level in pd.unique(factor):
        group = values[factor == level]
        between += len(group) * (group.mean() - values.mean()) ** 2
    return float(between / total)


def bins_of(values, n_bins):
    """Quantile bins (0..n_bins-1) of a continuous hyperparameter, for eta_squared."""
    values = np.asarray(values, dtype=float)
    if len(np.unique(values)) <= n_bins:
        return values
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


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


# ------------------------------------------------------------------------------------------------
# the report

class Report:
    """DIR/report.md: a title, the claim, the command, tables and figures, the verdict."""

    def __init__(self, directory, study, title, claim, mode, h5):
        self.directory = directory
        self.study = study
        self.h5 = h5
        self.parts = [f"# {title}\n", f"**Claim.** {claim}\n"]
        if mode == "tiny":
            self.parts.append("**This is a --tiny smoke run: its numbers mean nothing.**\n")
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

    def write(self, command, ini, wall_s, verdict_line, df):
        """Write report.md with the command, run time and verdict at the top."""
        run_s = float(df["wall_s"].astype(float).sum())
        head = [self.parts[0], self.parts[1],
                f"**Command.** `{command}`  \n**Experiment file.** `{ini}`  \n"
                f"**Results.** `{self.h5}`  \n**Runs.** {len(df)}, {run_s:.0f} s of training "
                f"summed over runs; this invocation's grid wall time {wall_s:.0f} s (0 when the "
                f"results file was already complete)\n",
                f"**Verdict.** `{verdict_line}`\n"]
        path = os.path.join(self.directory, "report.md")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(head + self.parts[2:]))
        return path


def verdict_line(status, reason):
    """Return the one verdict line; `status` is one of VERDICTS."""
    if status not in VERDICTS:
        raise ValueError(f"unknown verdict {status!r}")
    return f"{status}: {' '.join(reason.split())}"


def grade(n_hold, n_claims):
    """REPRODUCED if every sub-claim held, NOT REPRODUCED if none did, else PARTLY."""
    if n_hold == n_claims:
        return "REPRODUCED"
    if n_hold == 0:
        return "NOT REPRODUCED"
    return "PARTLY"


def verdict(checks, notes, what="checks hold"):
    """The status and the verdict line, "k/n <what>: note; note", of a list of check results."""
    return grade(sum(checks), len(checks)), f"{sum(checks)}/{len(checks)} {what}: " + "; ".join(notes)


def run_study(study, doc, tiny, full, analyse, argv=None):
    """The whole driver: parse args, run the grid, call `analyse(df, report, mode)`, print.

    `analyse` fills the report with tables and figures and returns (status, reason). Returns the
    exit status: 0 with a verdict (whatever it is), 1 when the grid or the analysis failed.
    """
    args = build_parser(study, doc).parse_args(argv)
    mode = mode_of(args)
    try:
        directory = out_dir(args, study)
        ini = prepare_experiment(study, mode, directory, tiny=tiny, full=full)
        h5 = os.path.join(directory, f"{study}.h5")
        print(f"{study}: running {os.path.relpath(ini, ROOT)} -> {h5} (-j {args.jobs})",
              file=sys.stderr)
        wall_s = run_grid(ini, h5, args.jobs, force=args.force)
        print(f"{study}: grid finished in {wall_s:.0f} s", file=sys.stderr)
        df = load_summary(h5)
        report = Report(directory, study, doc.strip().splitlines()[0], CLAIMS[study], mode, h5)
        status, reason = analyse(df, report, mode)
        line = verdict_line(status, reason)
        flags = {"tiny": " --tiny", "full": " --full", "default": ""}[mode]
        command = (f"/usr/bin/python3 scripts/repro/{study.replace('-', '_')}.py{flags} "
                   f"-j {args.jobs}" + (f" --out {args.out}" if args.out else ""))
        path = report.write(command, os.path.relpath(ini, ROOT) if ini.startswith(ROOT) else ini,
                            wall_s, line, df)
        print(f"{study}: report {path}", file=sys.stderr)
    except (ReproError, rr.ResultsError, OSError) as exc:
        print(f"{study}.py: {exc}", file=sys.stderr)
        return 1
    print(line)
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
    "delay-sweep": "The common finding of the studies above: gated cells bridge much longer delays "
                   "than the Elman RNN; the sweep finds, per task, the longest delay each cell "
                   "solves.",
}


def ordered(series):
    """The distinct values of a column in order of first appearance."""
    return list(pd.unique(series))
