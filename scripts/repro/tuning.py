"""Learning rates tuned per arm before a study's runs, so that no cell is judged at another's.

A shared learning rate can decide a comparison by itself: in the delay sweep the shared lr = 0.01
was the Elman RNN's best, and the LSTM (best at 0.001) lost recall to it at T >= 20 for that
reason alone. A study whose pre-registration has a [tuning] section therefore runs, before its
own grid, a small search per arm and runs each arm at the learning rate it picked:

    [tuning]
    lr = 0.001, 0.003, 0.01, 0.03    ; the candidates
    seeds = 2                        ; runs per arm and candidate
    seed = 1001                      ; the tuning grid's experiment seed (not the study's: the
                                     ; runs that pick an lr are never the runs that are judged)
    delay = adding:40, recall:20     ; where to tune, per task (or one number for every task)
    per = cell                       ; what an arm is besides its task (e.g. cell, forget_bias)

An arm is a task and one value of each `per` key. Its tuning runs are the study's grid at the
tuning delay (the listed one when the mode's grid has it, else the longest of the mode's delays:
--tiny and --full change the delays; the longest is where a study's claims are decided),
`seeds` seeds, every candidate lr. The pick: the most runs solved; among those, the lowest median
final loss / baseline (a diverged run counts as infinitely bad); among those, the smaller lr.
The study's own grid is then written with one [grid] section per arm and its lr (DIR/<study>.ini),
the tuning grid beside it (DIR/<study>-tune.ini, .h5). The rule and the candidates live in the
pre-registration, which the results file hashes.
"""
import dataclasses
import itertools
import math
import re

import numpy as np

_SECTION = re.compile(r"^\s*\[\s*([A-Za-z]+)(?:\s+([^\]]*?))?\s*\]\s*(?:[;#].*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z_]\w*)(\s*=\s*)(.*?)(\s*(?:;.*)?)$")


class TuningError(Exception):
    """A [tuning] section or an experiment file the tuning cannot use (message names which)."""


@dataclasses.dataclass
class Tuning:
    """A pre-registration's [tuning] section."""
    lrs: list            # candidate learning rates, as written
    seeds: int
    seed: int            # the tuning grid's experiment seed
    delay: dict          # task -> preferred tuning delay; "" -> for every task
    per: list            # the keys besides task that make an arm


def from_section(section, path):
    """The Tuning of a [tuning] SectionProxy; TuningError naming the file, key and value."""
    def need(key):
        if key not in section:
            raise TuningError(f"{path}: [tuning] lacks {key}")
        return section[key].strip()

    lrs = [v.strip() for v in need("lr").split(",") if v.strip()]
    for lr in lrs:
        try:
            if not float(lr) > 0:
                raise ValueError
        except ValueError:
            raise TuningError(f"{path}: [tuning] lr: {lr!r} is not a positive number") from None
    if len(lrs) < 2:
        raise TuningError(f"{path}: [tuning] lr: give at least two candidates, got {need('lr')!r}")
    numbers = {}
    for key in ("seeds", "seed"):
        try:
            numbers[key] = int(need(key))
        except ValueError:
            raise TuningError(f"{path}: [tuning] {key} = {need(key)!r} is not an integer") from None
    if numbers["seeds"] < 1:
        raise TuningError(f"{path}: [tuning] seeds = {numbers['seeds']}: at least 1")
    delay = {}
    for item in need("delay").split(","):
        task, _, value = item.strip().rpartition(":")
        try:
            delay[task.strip()] = int(value)
        except ValueError:
            raise TuningError(f"{path}: [tuning] delay: {item.strip()!r} is not TASK:T or T") \
                from None
    per = [k.strip() for k in section.get("per", "cell").split(",") if k.strip()]
    return Tuning(lrs, numbers["seeds"], numbers["seed"], delay, per)


# ------------------------------------------------------------------------------------------------
# experiment text: sections as lists of lines

def sections(text):
    """[(kind, name, lines)] of an experiment file's text; kind None for the lines before the
    first section header; lines include the header."""
    out = [(None, None, [])]
    for line in text.splitlines():
        match = _SECTION.match(line)
        if match:
            out.append((match.group(1), match.group(2) or "", [line]))
        else:
            out[-1][2].append(line)
    return out


def values(lines, key):
    """The comma-separated values of `key` in a section's lines (None when it is not set)."""
    for line in lines:
        match = _KEY.match(line)
        if match and not line.lstrip().startswith((";", "#")) and match.group(2) == key:
            return [v.strip() for v in match.group(4).split(",") if v.strip()]
    return None


def with_values(lines, header, assign):
    """A copy of a section's lines under `header` with each key of `assign` set to its value
    (added after the last non-blank line when the section lacks it)."""
    out, pending = [header], dict(assign)
    for line in lines[1:]:
        match = _KEY.match(line)
        if match and not line.lstrip().startswith((";", "#")) and match.group(2) in pending:
            out.append(f"{match.group(1)}{match.group(2)}{match.group(3)}"
                       f"{pending.pop(match.group(2))}")
        else:
            out.append(line)
    at = len(out)
    while at > 1 and not out[at - 1].strip():
        at -= 1
    out[at:at] = [f"{k} = {v}" for k, v in pending.items()]
    return out


def tuning_delay(tuning, task, delays):
    """The delay to tune `task` at, from the mode's `delays` (strings)."""
    if not delays:
        return None
    wanted = tuning.delay.get(task, tuning.delay.get(""))
    if wanted is not None and str(wanted) in delays:
        return str(wanted)
    return max(delays, key=float)


def arms_of(lines, tuning):
    """[(task, {per key: value})] of one [grid] section, in the section's order."""
    tasks = values(lines, "task") or [""]
    per_values = [values(lines, key) or [None] for key in tuning.per]
    return [(task, dict(zip(tuning.per, combo)))
            for task in tasks for combo in itertools.product(*per_values)]


def arm_key(task, arm):
    """A hashable name of an arm: (task, (key, value), ...)."""
    return (task,) + tuple(sorted((k, str(v)) for k, v in arm.items() if v is not None))


def arm_parts(task, arm):
    """An arm's words for a section name: ["adding", "lstm"], ["adding", "lstm", "1"]."""
    return [task] + [str(v) for v in arm.values() if v is not None]


def section_name(name, parts):
    """A section's name joined with the words of what it was split by, each once, as one word:
    ("adding", ["adding", "lstm"]) -> "adding-lstm"."""
    words = [name] + [p for p in parts if p != name]
    return "-".join(re.sub(r"[^\w.*+-]", "_", w) for w in words if w)


def tuning_text(text, tuning, name_suffix="-tune"):
    """The tuning grid: every [grid] section at its tuning delay per task, `seeds` seeds, all
    candidate lrs, the tuning seed; the experiment renamed with `name_suffix`."""
    out = []
    for kind, name, lines in sections(text):
        if kind == "experiment":
            renamed = []
            for line in lines:
                match = _KEY.match(line)
                if match and match.group(2) == "name":
                    line = f"{match.group(1)}name{match.group(3)}{match.group(4)}{name_suffix}"
                renamed.append(line)
            out += with_values(renamed, renamed[0], {"seed": tuning.seed})
        elif kind == "grid":
            tasks = values(lines, "task") or [""]
            delays = values(lines, "delay")
            for task in tasks:
                assign = {"lr": ", ".join(tuning.lrs), "seeds": tuning.seeds}
                if task:
                    assign["task"] = task
                delay = tuning_delay(tuning, task, delays)
                if delay is not None:
                    assign["delay"] = delay
                header = f"[grid {section_name(name, [task]) or 'tune'}]"
                out += with_values(lines, header, assign) + [""]
        else:
            out += lines
    return "\n".join(out) + "\n"


def tuned_text(text, picks, tuning, header=""):
    """The study's grid with one [grid] section per arm at the lr `picks` maps its arm_key to.

    Every other line is kept, so the run settings (and with them the runs' ids and seeds) are
    those of the study's file but for the lr."""
    out = [f"; {line}" for line in header.splitlines()]
    for kind, name, lines in sections(text):
        if kind != "grid":
            out += lines
            continue
        for task, arm in arms_of(lines, tuning):
            key = arm_key(task, arm)
            if key not in picks:
                raise TuningError(f"no learning rate was picked for {describe(key)}")
            assign = {k: v for k, v in arm.items() if v is not None}
            if task:
                assign["task"] = task
            assign["lr"] = picks[key]
            out += with_values(lines, f"[grid {section_name(name, arm_parts(task, arm))}]",
                               assign) + [""]
    return "\n".join(out) + "\n"


def describe(key):
    """An arm_key as text: "task=adding cell=lstm"."""
    task, rest = key[0], key[1:]
    return " ".join([f"task={task}"] * bool(task) + [f"{k}={v}" for k, v in rest])


# ------------------------------------------------------------------------------------------------
# the pick

def score(rows):
    """(runs solved, median final loss / baseline with diverged runs infinite, runs) of an arm's
    runs at one lr."""
    solved = int((rows["solved"].astype(int) != 0).sum())
    ratio = rows["loss_over_baseline"].astype(float).to_numpy().copy()
    ratio[(rows["status"] == "diverged").to_numpy() | ~np.isfinite(ratio)] = math.inf
    return solved, float(np.median(ratio)) if len(ratio) else math.inf, len(rows)


def pick(df, text, tuning):
    """{arm_key: lr} and the table rows [arm, lr, solved/runs, median ratio, picked] from the
    tuning grid's summary `df`, for the arms of the study's `text`."""
    picks, table = {}, []
    for kind, _name, lines in sections(text):
        if kind != "grid":
            continue
        for task, arm in arms_of(lines, tuning):
            key = arm_key(task, arm)
            if key in picks:
                continue
            mask = np.ones(len(df), dtype=bool)
            if task:
                mask &= (df["task"] == task).to_numpy()
            for column, value in arm.items():
                if value is not None:
                    mask &= np.isclose(df[column].astype(float), float(value)) \
                        if _numeric(value) else (df[column].astype(str) == value).to_numpy()
            rows = df[mask]
            scored = []
            for lr in tuning.lrs:
                at = rows[np.isclose(rows["lr"].astype(float), float(lr))]
                if len(at) == 0:
                    raise TuningError(f"the tuning grid has no run of {describe(key)} at lr {lr}")
                scored.append((lr,) + score(at))
            best = min(scored, key=lambda s: (-s[1], s[2], float(s[0])))
            picks[key] = best[0]
            for lr, solved, ratio, n in scored:
                table.append([describe(key), lr, f"{solved}/{n}",
                              "inf" if math.isinf(ratio) else f"{ratio:.3g}",
                              "**picked**" if lr == best[0] else ""])
    return picks, table


def _numeric(value):
    try:
        float(value)
        return True
    except ValueError:
        return False
