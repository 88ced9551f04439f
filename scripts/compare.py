"""Compare the variants of a results file, one table per (task, delay), with calibrated checks.

Several files (or glob patterns) are read as one table, as if their runs were in one file: a
study split over files, or grown into a second one. Files whose builds differ in precision or
GEMM backend are refused (--allow-mixed reads them anyway); a run in two files is read once.

For every (task, delay) group of the summary, and every value of the --by column in it (a
"variant": a cell by default), prints the number of runs, the median and quartiles of a metric,
its mean, the fraction of runs solved, the number that diverged and, when there are any, the
number that failed (or were cancelled): those have no result and are left out of every statistic
and of the runs counted as solved or not. With --baseline, each variant is compared with the
baseline variant of the same group by Welch's t-test (scipy.stats.ttest_ind, equal_var=False,
two-sided), as Greff et al. compared each LSTM variant with the vanilla LSTM; `*` marks p < 0.05
(no correction for multiple comparisons): the columns t and p, kept for continuity.

Under each table, every variant gets a check of scripts/rnnbench_stats.py with one of three
outcomes, HOLDS / FAILS / INCONCLUSIVE, its effect with a 95 % interval, p, p after Holm's
correction over every check printed, and the smallest effect its sample could detect at 80 %
power. Losses are compared on the log scale: Wilcoxon signed-rank, pair by pair, when the variant
and the baseline ran the same draws (seed_index, trial and hyperparameters match one to one),
Welch's t otherwise; steps_to_solve by a log-rank test with unsolved runs censored at the budget.
The claim is --claim differs (default: HOLDS or INCONCLUSIVE), greater or less (can FAIL), or
with --margin R "no difference beyond a ratio R" by TOST (HOLDS only when equivalence is shown).

No confounded comparisons: with --by cell, a variant that differs from the baseline in more than
one part of the cell (its flags, from the file: `lstm-nfg` against `lstm` changes the forget gate
AND the peepholes) gets no test and a CONFOUNDED note naming the base that isolates one part
(`lstm-peep` for Greff's single ablations); --allow-confounded tests it anyway, loudly. Cells of
different kinds (rnn, gru against an LSTM) are a comparison of architectures and are tested.

Metrics: final_loss (held-out loss at the last evaluation), best_eval (best_eval_loss, the lowest
held-out loss seen), steps_to_solve (the first evaluation step at which the task's criterion held;
a run that never solved counts as its step budget `steps`, a censored value: its true time is
longer, and a diverged run counts as never solving).

It does not plot (plot.py does).
A file that is not a usable results file (missing, damaged, another program's), bad arguments and
a --where matching nothing exit with status 2 and a one-line message.

Examples:
    /usr/bin/python3 scripts/compare.py results/quickstart.h5 --by cell --baseline lstm-peep
    /usr/bin/python3 scripts/compare.py results/greff.h5 --baseline lstm-peep \\
        --metric best_eval --where task=copy,delay=100 --format md
    /usr/bin/python3 scripts/compare.py results/quickstart.h5 --metric steps_to_solve --format csv
    /usr/bin/python3 scripts/compare.py results/greff.h5 --baseline lstm-peep --margin 1.25 \
        --where cell=lstm|lstm-cifg|lstm-peep --format checks
"""
import argparse
import csv
import io
import os
import sys
import textwrap

import numpy as np
import pandas as pd

import rnnbench_cells as rc
import rnnbench_results as rr
import rnnbench_stats as st

METRICS = ("final_loss", "best_eval", "steps_to_solve")
FORMATS = ("text", "md", "csv", "checks")
CLAIMS = ("differs", "greater", "less")
ALPHA = 0.05  # significance level of the mark '*'
GROUP_KEYS = ("task", "delay")
# parameters that, when they differ inside a group, mean the group pools unlike runs
POOLED_COLUMNS = ("section", "layers", "hidden", "batch", "steps", "optimizer", "lr", "momentum", "clip",
                  "forget_bias", "init_scale", "input_noise", "cell")
# what must match for two runs to share a draw (the paired design): seed and trial indices and
# every hyperparameter of the summary
PAIR_COLUMNS = ("seed_index", "trial", "layers", "hidden", "batch", "steps", "optimizer", "lr", "momentum",
                "clip", "forget_bias", "init_scale", "input_noise")

FOOTNOTES = {
    "final_loss": "final_loss: loss on the held-out set at the last evaluation, in the task's "
                  "own unit; a diverged run keeps its last finite loss.",
    "best_eval": "best_eval: the lowest held-out loss over the run's evaluations "
                 "(best_eval_loss).",
    "steps_to_solve": "steps_to_solve: first evaluation step at which the task's solved criterion "
                      "held; a run that never solved counts as its step budget `steps` (censored: "
                      "its true time is longer), so when fewer than half of the runs solved the "
                      "median is the budget, a lower bound.",
}


class UsageError(Exception):
    """Bad arguments or a selection that leaves nothing to compare (exit status 2)."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def metric_values(df, metric):
    """Return the per-run values of `metric` for the rows of `df` (see the module docstring);
    NaN for a run without a result (failed or cancelled), whatever numbers its row holds."""
    if metric == "final_loss":
        values = df["final_loss"].astype(float)
    elif metric == "best_eval":
        values = df["best_eval_loss"].astype(float)
    elif metric == "steps_to_solve":
        solved = df["solved"].astype(int) != 0
        values = df["steps_to_solve"].where(solved, df["steps"]).astype(float)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    return values.where(rr.has_result(df))


def welch(a, b):
    """Return (t, p) of Welch's two-sided t-test of samples a and b, or (nan, nan) if undefined
    (fewer than two values on a side, or no variance on either side)."""
    return st.welch_t(a, b)


def pair_keys(rows, by):
    """Return each row's draw as a tuple of PAIR_COLUMNS (minus `by`): runs with equal keys ran
    the same seed and hyperparameters."""
    cols = [c for c in PAIR_COLUMNS if c in rows.columns and c != by]
    return [tuple("nan" if pd.isna(v) else v for v in row) for row in rows[cols].itertuples(
        index=False, name=None)]


def difference_check(variant_rows, base_rows, by, metric, name, claim="differs", margin=None):
    """Return the rnnbench_stats Check of a variant's runs against the baseline's (see the
    module docstring for which test): paired when the two share every draw one to one."""
    if metric == "steps_to_solve":
        def times(rows):
            solved = rows["solved"].astype(int).to_numpy() != 0
            steps = np.where(solved, rows["steps_to_solve"], rows["steps"]).astype(float)
            return steps, solved.astype(int)
        (tv, ev), (tb, eb) = times(variant_rows), times(base_rows)
        # the claim is about steps: more steps (greater) is a lower hazard of solving (less)
        flipped = {"greater": "less", "less": "greater"}.get(claim, claim)
        return st.time_to_solve(tv, ev, tb, eb, claim=flipped, name=name)
    v = metric_values(variant_rows, metric)
    b = metric_values(base_rows, metric)
    v_keys, b_keys = pair_keys(variant_rows, by), pair_keys(base_rows, by)
    paired = (len(set(v_keys)) == len(v_keys) == len(b_keys) == len(set(b_keys))
              and set(v_keys) == set(b_keys))
    if paired:
        by_key = dict(zip(b_keys, b.to_numpy()))
        pairs = np.array([(x, by_key[k]) for k, x in zip(v_keys, v.to_numpy())]).reshape(-1, 2)
        pairs = pairs[~np.isnan(pairs).any(axis=1)]
        if margin is not None:
            return st.equivalence(pairs[:, 0], pairs[:, 1], margin, name=name, paired=True)
        return st.paired_difference(pairs[:, 0], pairs[:, 1], claim=claim, name=name)
    v, b = v.dropna().to_numpy(), b.dropna().to_numpy()
    if margin is not None:
        return st.equivalence(v, b, margin, name=name)
    return st.unpaired_difference(v, b, claim=claim, name=name)


def cell_flags(res, df):
    """Return {cell name: flags} for every cell of the summary `df`, from the attributes of its
    first run (rnnbench_cells; the name when the file predates the `kind` attribute)."""
    flags = {}
    first = df.groupby("cell", sort=False)[["id", "layers"]].first()
    for cell, (run_id, layers) in first.iterrows():
        try:
            attrs = res.run(run_id).attrs
        except rr.ResultsError:
            attrs = {}
        found = rc.flags_from_attrs(attrs, cell.partition("*")[0])  # a stack reads NAME*L
        flags[cell] = dict(found, layers=int(layers)) if found is not None else None
    return flags


def format_value(value):
    """Return a variant or group value as text: integers without a decimal point."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "nan"
        if float(value).is_integer():
            return str(int(value))
        return f"{value:g}"
    return str(value)


def ordered_unique(series):
    """Return the distinct values of `series` in order of first appearance."""
    return list(pd.unique(series))


def group_keys(by):
    """Return the columns that split the table into groups: task and delay, minus --by."""
    return [k for k in GROUP_KEYS if k != by]


def group_rows(df, keys):
    """Yield (key dict, rows) for the distinct values of `keys`: every key in file order but
    delay, which goes ascending. compare.py and plot.py both group this way."""
    if not keys:
        yield {}, df
        return
    combos = df[keys].drop_duplicates()
    if "delay" in keys:
        first = {k: {v: i for i, v in enumerate(ordered_unique(df[k]))}
                 for k in keys if k != "delay"}
        combos = combos.assign(**{f"_{k}": combos[k].map(first[k]) for k in first})
        combos = combos.sort_values([f"_{k}" if k != "delay" else k for k in keys])
    for _, combo in combos.iterrows():
        mask = pd.Series(True, index=df.index)
        for k in keys:
            mask &= df[k] == combo[k]
        yield {k: combo[k] for k in keys}, df[mask]


def iter_groups(df, by):
    """Yield (key dict, rows) for each group: tasks in file order, delays ascending."""
    return group_rows(df, group_keys(by))


def group_title(key):
    """Return a group's heading, e.g. "copy, delay 100"."""
    parts = []
    if "task" in key:
        parts.append(str(key["task"]))
    if "delay" in key:
        parts.append(f"delay {format_value(key['delay'])}")
    return ", ".join(parts) if parts else "all runs"


def quartiles(values):
    """Return {median, q1, q3, mean} of a sample (NaN when empty; an infinite value, which a
    damaged file can hold, gives NaN or inf quietly)."""
    if len(values) == 0:
        return {"median": np.nan, "q1": np.nan, "q3": np.nan, "mean": np.nan}
    with np.errstate(invalid="ignore"):
        return {"median": np.median(values), "q1": np.percentile(values, 25),
                "q3": np.percentile(values, 75), "mean": np.mean(values)}


def confound_of(label, baseline, by, flags, present):
    """Return the CONFOUNDED note of a variant against the baseline, or None."""
    if by != "cell" or not flags or flags.get(label) is None or flags.get(baseline) is None:
        return None
    return rc.confound_message(label, flags[label], baseline, flags[baseline], present)


def summarize_group(rows, by, metric, baseline, flags=None, claim="differs", margin=None,
                    allow_confounded=False):
    """Return (variant rows, notes) for one group: a dict of statistics per variant; a variant
    tested against the baseline has its rnnbench_stats Check under "check" (None otherwise)."""
    values = metric_values(rows, metric)
    variants = ordered_unique(rows[by])
    labels = [format_value(v) for v in variants]
    notes = []
    base_values = None
    if baseline is not None:
        if baseline in labels:
            base_mask = rows[by].map(format_value) == baseline
            base_values = values[base_mask].dropna().to_numpy()
        else:
            notes.append(f"baseline {baseline!r} has no runs in this group: no t-test.")
    with_result = rr.has_result(rows)
    table = []
    for variant, label in zip(variants, labels):
        mask = rows[by] == variant
        counted = mask & with_result  # the runs that count: a failed one has no result
        v = values[counted].dropna().to_numpy()
        n_missing = int(values[counted].isna().sum())
        row = {"variant": label, "n": len(v), "n_missing": n_missing,
               **quartiles(v),
               "n_runs": int(counted.sum()),
               "n_solved": int((rows.loc[counted, "solved"].astype(int) != 0).sum()),
               "n_diverged": int((rows.loc[counted, "status"] == "diverged").sum()),
               "n_failed": int((mask & ~with_result).sum()),
               "is_baseline": baseline is not None and label == baseline,
               "t": np.nan, "p": np.nan, "check": None, "confounded": None}
        if n_missing:
            notes.append(f"{label}: {n_missing} run(s) without a {metric} value left out.")
        confound = None
        if base_values is not None and not row["is_baseline"]:
            confound = confound_of(label, baseline, by, flags, labels)
            row["confounded"] = confound
        if confound:
            notes.append(confound + (" Tested anyway (--allow-confounded)." if allow_confounded
                                     else " Not tested (--allow-confounded to test anyway)."))
        if base_values is not None and not row["is_baseline"] and \
                (not confound or allow_confounded):
            row["t"], row["p"] = welch(v, base_values)
            base_rows = rows[base_mask & with_result]
            name = f"{label} vs {baseline}" + (" (CONFOUNDED)" if confound else "")
            row["check"] = difference_check(rows[counted], base_rows, by, metric, name, claim,
                                            margin)
            if np.isnan(row["p"]):
                why = ("fewer than 2 runs on a side" if min(len(v), len(base_values)) < 2
                       else "no variance on either side")
                notes.append(f"{label}: {why}, no t-test.")
        table.append(row)
    pooled, between = [], []
    for col in POOLED_COLUMNS:
        if col == by or col in GROUP_KEYS or col not in rows.columns:
            continue
        distinct = rows[col].dropna().unique() if rows[col].notna().any() else []
        n_values = len(distinct) + (1 if rows[col].isna().any() else 0)
        if n_values <= 1:
            continue
        if (rows.groupby(by, sort=False)[col].nunique(dropna=False) <= 1).all():
            # one value per variant: not pooled, but a second difference between the variants
            # (a drivers' per-arm tuned lr); a section name alone is bookkeeping
            if col != "section":
                firsts = rows.groupby(by, sort=False)[col].first()
                between.append(f"{col} (" + ", ".join(f"{format_value(v)} {format_value(x)}"
                                                      for v, x in firsts.items()) + ")")
            continue
        shown = ", ".join(format_value(x) for x in sorted(distinct)[:4])
        more = ", ..." if n_values > 4 else ""
        pooled.append(f"{col} ({shown}{more})")
    if between:
        notes.append(f"the {by}s also differ in " + "; ".join(between)
                     + ": each ran at its own setting (as the drivers' per-arm tuned learning "
                       "rates), so a difference is the variant's at its own setting.")
    if pooled:
        notes.append("pools runs that differ in " + "; ".join(pooled)
                     + ": narrow with --where to compare like with like.")
    return table, notes


def summarize(df, by, metric, baseline, flags=None, claim="differs", margin=None,
              allow_confounded=False):
    """Return a list of (key, table, notes), one per group (see summarize_group), the checks
    Holm-corrected together (every check of the comparison is one family)."""
    groups = [(key,) + summarize_group(rows, by, metric, baseline, flags, claim, margin,
                                       allow_confounded)
              for key, rows in iter_groups(df, by)]
    rows = [r for _, table, _ in groups for r in table if r["check"] is not None]
    for r, check in zip(rows, st.holm([r["check"] for r in rows])):
        r["check"] = check
    return groups


def all_checks(groups):
    """The checks of every group, in table order."""
    return [r["check"] for _, table, _ in groups for r in table if r["check"] is not None]


def checks_summary(groups, claim, margin):
    """Return the line counting the outcomes of the checks, or None when there are none."""
    checks = all_checks(groups)
    if not checks:
        return None
    counts = st.outcome_counts(checks)
    what = (f"equivalence within a ratio of {margin:g} (TOST)" if margin is not None
            else f"claim: each variant {claim} from the baseline" if claim == "differs"
            else f"claim: each variant {claim} than the baseline")
    return (f"checks ({what}; Holm over {len(checks)}): "
            + ", ".join(f"{counts[o]} {o}" for o in st.OUTCOMES))


# ------------------------------------------------------------------------------------------------
# output

def fmt_metric(x, metric):
    """Return a metric value as text: steps as integers, losses with 4 significant digits."""
    if x is None or np.isnan(x):
        return "-"
    if metric == "steps_to_solve":
        return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"
    return f"{x:.4g}"


def fmt_p(p):
    """Return a p-value as text with its mark."""
    if np.isnan(p):
        return "-"
    mark = " *" if p < ALPHA else ""
    return f"{p:.3g}{mark}"


def any_failed(groups):
    """True if a variant of any group has failed runs (the tables then get a `failed` column)."""
    return any(r["n_failed"] for _, table, _ in groups for r in table)


def display_rows(table, metric, by, with_test, with_failed=False):
    """Return the header and the text cells of a group's table."""
    header = [by, "n", "median", "q1", "q3", "mean", "solved", "div"]
    if with_failed:
        header.append("failed")
    if with_test:
        header += ["t", "p"]
    rows = []
    for r in table:
        cells = [r["variant"], str(r["n"]), fmt_metric(r["median"], metric),
                 fmt_metric(r["q1"], metric), fmt_metric(r["q3"], metric),
                 fmt_metric(r["mean"], metric), f"{r['n_solved']}/{r['n_runs']}",
                 str(r["n_diverged"])]
        if with_failed:
            cells.append(str(r["n_failed"]))
        if with_test:
            if r["is_baseline"]:
                cells += ["baseline", ""]
            else:
                cells += ["-" if np.isnan(r["t"]) else f"{r['t']:.3g}", fmt_p(r["p"])]
        rows.append(cells)
    return header, rows


def footnotes(metric, baseline, by, with_failed=False):
    """Return the explanatory lines printed under the tables."""
    lines = [FOOTNOTES[metric],
             "n: runs with a value; median, q1, q3: median and quartiles over runs; "
             "solved: runs that met the task's criterion; div: runs that diverged."
             + (" failed: runs that failed or were cancelled; they have no result and are "
                "left out of every other column." if with_failed else "")]
    if baseline is not None:
        lines.append(f"t, p: Welch's t-test (scipy.stats.ttest_ind, equal_var=False, two-sided) "
                     f"of each {by} against {baseline} on the {metric} values of the same group; "
                     f"* p < {ALPHA:g}, not corrected for multiple comparisons.")
        lines.append("checks: rnnbench_stats, on log values (losses) or times to solve censored "
                     "at the budget (log-rank); effect [95 % interval], test, n, p, Holm p over "
                     "every check printed, and the effect the sample could detect at 80 % power. "
                     "HOLDS / FAILS at alpha 0.05 after Holm; INCONCLUSIVE otherwise: the sample "
                     "cannot tell.")
    return lines


def render_text(groups, metric, by, baseline, header_line, summary=None):
    """Return the comparison as aligned plain text."""
    out = [header_line, ""]
    with_failed = any_failed(groups)
    for key, table, notes in groups:
        header, rows = display_rows(table, metric, by, baseline is not None, with_failed)
        widths = [max(len(row[j]) for row in [header] + rows) for j in range(len(header))]
        out.append(group_title(key))
        for row in [header] + rows:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
            out.append("  ".join(cells).rstrip())
        for note in notes:
            out += textwrap.wrap(f"note: {note}", width=100, initial_indent="  ",
                                 subsequent_indent="    ")
        out.append("")
        checks = [r["check"] for r in table if r["check"] is not None]
        if checks:
            for check in checks:
                out += textwrap.wrap(check.line(), width=100, initial_indent="  ",
                                     subsequent_indent="      ")
            out.append("")
    if summary:
        out += [summary, ""]
    for line in footnotes(metric, baseline, by, with_failed):
        out += textwrap.wrap(line, width=100, subsequent_indent="  ")
    return "\n".join(out) + "\n"


def render_md(groups, metric, by, baseline, header_line, summary=None):
    """Return the comparison as Markdown: a heading and a table per group."""
    out = [header_line, ""]
    with_failed = any_failed(groups)
    for key, table, notes in groups:
        header, rows = display_rows(table, metric, by, baseline is not None, with_failed)
        out.append(f"### {group_title(key)}")
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for row in rows:
            cells = [c.replace("|", "\\|") for c in row]
            cells[0] = f"**{cells[0]}**" if row[-2:] == ["baseline", ""] else cells[0]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out += [f"*Note: {n}*" for n in notes]
        if notes:
            out.append("")
        checks = [r["check"] for r in table if r["check"] is not None]
        out += [f"- `{check.line()}`" for check in checks]
        if checks:
            out.append("")
    if summary:
        out += [f"**{summary}**", ""]
    for line in footnotes(metric, baseline, by, with_failed):
        out += [line, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_csv(groups, metric, by, baseline):
    """Return the comparison as CSV: one header line, one row per group and variant."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = group_keys(by)
    writer.writerow(keys + [by, "metric", "n", "median", "q1", "q3", "mean", "n_runs",
                            "n_solved", "solved_fraction", "n_diverged", "n_failed", "baseline",
                            "t", "p", "significant"])

    def number(x):
        return "" if x is None or np.isnan(x) else repr(float(x))

    for key, table, _ in groups:
        for r in table:
            tested = not np.isnan(r["p"])
            writer.writerow([format_value(key[k]) for k in keys] + [
                r["variant"], metric, r["n"], number(r["median"]), number(r["q1"]),
                number(r["q3"]), number(r["mean"]), r["n_runs"], r["n_solved"],
                number(r["n_solved"] / r["n_runs"]) if r["n_runs"] else "", r["n_diverged"],
                r["n_failed"], baseline or "", number(r["t"]), number(r["p"]),
                int(r["p"] < ALPHA) if tested else ""])
    return buffer.getvalue()


def render_checks(groups, by, baseline, metric):
    """Return the checks as CSV: one row per group and tested variant."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = group_keys(by)
    writer.writerow(keys + [by, "baseline", "metric", "claim", "test", "n", "unit", "effect",
                            "ci_low", "ci_high", "p", "p_holm", "mde", "outcome"])
    for key, table, _ in groups:
        for r in table:
            c = r["check"]
            if c is None:
                continue
            writer.writerow([format_value(key[k]) for k in keys] + [
                r["variant"], baseline, metric, c.claim, c.test, "/".join(map(str, c.n)),
                c.unit, repr(c.effect), repr(c.ci_low), repr(c.ci_high), repr(c.p),
                repr(c.p_adjusted), repr(c.mde), c.outcome])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------

def build_parser():
    """Return the command-line parser."""
    parser = OneLineParser(
        prog="compare.py",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: compare.py results/quickstart.h5 --by cell --baseline lstm-peep "
               "--format md")
    parser.add_argument("results", nargs="+",
                        help="results file(s) written by `rnnbench run` (.h5), or glob patterns "
                             "('results/study-*.h5'): several are read as one table")
    parser.add_argument("--by", default="cell",
                        help="summary column whose values are the variants (default: cell)")
    parser.add_argument("--baseline", help="variant the others are t-tested against "
                                           "(default: none, no t-test)")
    parser.add_argument("--metric", choices=METRICS, default="final_loss",
                        help="final_loss (default), best_eval or steps_to_solve")
    parser.add_argument("--where", action="append", metavar="COND",
                        help="keep runs whose summary columns match, e.g. task=copy,delay=100; "
                             "also !=, <, <=, >, >= and alternatives cell=lstm|gru "
                             "(repeatable; all must hold)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (aligned, default), md (Markdown), csv (the table, for "
                             "scripts) or checks (the checks as CSV)")
    parser.add_argument("--claim", choices=CLAIMS, default="differs",
                        help="what each check claims of a variant against the baseline: differs "
                             "(default), greater or less (its metric's values)")
    parser.add_argument("--margin", type=float, metavar="RATIO",
                        help="check equivalence instead: the variant's loss within a ratio RATIO "
                             "(> 1, e.g. 1.25) of the baseline's, by TOST")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="read files whose builds differ in precision or GEMM backend as one "
                             "table (refused by default: their numbers differ in the last bits)")
    parser.add_argument("--allow-confounded", action="store_true",
                        help="test a variant that differs from the baseline in more than one "
                             "part of the cell (marked CONFOUNDED)")
    return parser


def compare(path, by="cell", baseline=None, metric="final_loss", where=None, fmt="text",
            claim="differs", margin=None, allow_confounded=False, warn=None, allow_mixed=False):
    """Return the comparison of a results file as text in format `fmt` (see main); `path` is a
    file or a list of files and glob patterns, read as one table (allow_mixed: even files of
    different builds); `warn`, if given, is called with each CONFOUNDED message and each note of
    the reader (a run found in two files)."""
    if margin is not None and (not margin > 1 or metric == "steps_to_solve"):
        raise UsageError("--margin needs a ratio > 1 and a loss metric (final_loss, best_eval)")
    flags = None
    with rr.open_results(path, allow_mixed=allow_mixed) as res:
        df = rr.label_stacks(res.summary)
        experiment = res.attr_text("experiment_name")
        complete = res.complete
        names = res.names
        if warn is not None:
            for note in getattr(res, "notes", []):
                warn(note)
        if baseline is not None and by == "cell":
            flags = cell_flags(res, df)
    if by not in df.columns:
        raise UsageError(f"--by {by}: no such summary column (columns: {', '.join(df.columns)})")
    conditions = rr.parse_where(where)
    selected = rr.apply_where(df, conditions)
    if selected.empty:
        raise UsageError(f"no runs match --where {rr.where_text(conditions)} "
                         f"(of {len(df)} runs in {names})")
    if baseline is not None:
        present = [format_value(v) for v in ordered_unique(selected[by])]
        if baseline not in present:
            raise UsageError(f"--baseline {baseline!r} is not a {by} of the selected runs "
                             f"({', '.join(present)})")
    groups = summarize(selected, by, metric, baseline, flags, claim, margin, allow_confounded)
    if warn is not None:
        for _, table, _ in groups:
            for r in table:
                if r["confounded"]:
                    warn(r["confounded"])
    if fmt == "csv":
        return render_csv(groups, metric, by, baseline)
    if fmt == "checks":
        return render_checks(groups, by, baseline, metric)
    summary = checks_summary(groups, claim, margin)
    header_line = (f"{names}: experiment {experiment}, "
                   f"{len(selected)} of {len(df)} runs"
                   + (f" (where {rr.where_text(conditions)})" if conditions else "")
                   + f", metric {metric}, by {by}"
                   + (f", baseline {baseline}" if baseline is not None else "")
                   + ("" if complete else "; the grid had not finished"))
    if fmt == "md":
        return render_md(groups, metric, by, baseline, header_line, summary)
    return render_text(groups, metric, by, baseline, header_line, summary)


def main(argv=None):
    """Parse the command line, print the comparison; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        warned = set()

        def warn(message):
            if message not in warned:  # once per pair, not once per (task, delay)
                warned.add(message)
                print(f"compare.py: WARNING: {message}", file=sys.stderr)

        sys.stdout.write(compare(args.results, by=args.by, baseline=args.baseline,
                                 metric=args.metric, where=args.where, fmt=args.format,
                                 claim=args.claim, margin=args.margin,
                                 allow_confounded=args.allow_confounded, warn=warn,
                                 allow_mixed=args.allow_mixed))
    except (rr.ResultsError, UsageError, rr.WhereError) as exc:
        print(f"compare.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
