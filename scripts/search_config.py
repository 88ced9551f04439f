"""The search's configuration file (docs/search.md): an INI file with one [search] section, one
[task NAME] section per task of the suite (the keys of an experiment file's [grid], `lr` a list: the
per-candidate learning-rate search) and the seed population as [cell NAME] sections (docs/cells.md).

Read line by line, so that every error names the file, the line and the value; what the keys of a
[task] section mean is checked by `rnnbench run --plan` on a copy of the file with the same line
numbers (`probe_text`), so that its errors point into this file too.

Example:
    /usr/bin/python3 -c "import sys; sys.path.insert(0, 'scripts'); import search_config as c; \
print(c.read_config('experiments/search.ini'))"
"""
from dataclasses import dataclass, field

# [search] keys: (type, default, lowest value); None as default: required
SEARCH_KEYS = {
    "name": (str, None, None),
    "seed": (int, 1, 0),
    "generations": (int, 10, 0),
    "population": (int, 8, 1),
    "children": (int, 8, 1),
    "max_mutations": (int, 2, 1),
    "max_attempts": (int, 0, 0),
    "reference": (str, None, None),
    "loss_floor": (float, 0.01, 0.0),
}
# keys a [task] section may not set: the search sets them
TASK_FORBIDDEN = {"cell": "the search sets the cells", "layers": "cells are searched in one layer",
                  "trials": "the lr list is the search over learning rates",
                  "draws": "the lr list is the search over learning rates"}


class ConfigError(Exception):
    """A bad configuration: the message names the file, the line and the value."""


@dataclass
class Config:
    path: str
    name: str
    seed: int
    generations: int
    population: int
    children: int
    max_mutations: int
    max_attempts: int
    reference: str
    loss_floor: float
    tasks: dict = field(default_factory=dict)   # name -> [(key, value, line)]
    cells: dict = field(default_factory=dict)   # name -> equation text ("key = value\n" lines)
    cell_lines: dict = field(default_factory=dict)
    text: str = ""

    def lrs(self, task):
        """The learning rates of a task, as written (the grid resolves them)."""
        for key, value, _ in self.tasks[task]:
            if key == "lr":
                return [v.strip() for v in value.split(",")]
        return ["0.01"]

    def identity(self):
        """What a resumed search must share with the one that wrote the file: everything but the
        number of generations (a search may be extended)."""
        lines = []
        for raw in self.text.splitlines():
            s = raw.split(";")[0].strip() if not raw.lstrip().startswith(("#", ";")) else ""
            if s.replace(" ", "").startswith("generations="):
                continue
            if s:
                lines.append(s)
        return "\n".join(lines)


def _fail(path, line, msg):
    raise ConfigError(f"{path}:{line}: {msg}")


def _strip_comment(s):
    """A value without its trailing ` ; comment` (as the experiment files)."""
    for mark in (" ;", "\t;", " #", "\t#"):
        k = s.find(mark)
        if k >= 0:
            s = s[:k]
    return s.strip()


def read_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    section, name = None, None
    search = {}
    tasks, cells, cell_lines = {}, {}, {}
    seen_sections = {}
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            if not s.endswith("]"):
                _fail(path, n, f"expected [section], got '{s}'")
            head = s[1:-1].split()
            if not head:
                _fail(path, n, "empty section name")
            if head[0] == "search" and len(head) == 1:
                section, name = "search", None
            elif head[0] in ("task", "cell") and len(head) == 2:
                section, name = head[0], head[1]
            else:
                _fail(path, n, f"unknown section '{s}' ([search], [task NAME] or [cell NAME])")
            key = (section, name)
            if key in seen_sections:
                _fail(path, n, f"section '{s}' given twice (first on line {seen_sections[key]})")
            seen_sections[key] = n
            if section == "task":
                tasks[name] = []
            if section == "cell":
                cells[name] = ""
                cell_lines[name] = n
            continue
        if "=" not in s:
            _fail(path, n, f"expected key = value, got '{s}'")
        if section is None:
            _fail(path, n, "a key before any section ([search], [task NAME] or [cell NAME])")
        key, value = (p.strip() for p in s.split("=", 1))
        value = _strip_comment(value)
        if section == "search":
            if key not in SEARCH_KEYS:
                _fail(path, n, f"unknown key '{key}' in [search] (known: {', '.join(SEARCH_KEYS)})")
            if key in search:
                _fail(path, n, f"'{key}' given twice (first on line {search[key][1]})")
            kind, _, lowest = SEARCH_KEYS[key]
            try:
                v = kind(value)
            except ValueError:
                _fail(path, n, f"{key}: expected {'an integer' if kind is int else 'a number'}, got '{value}'")
            if kind is str and not v:
                _fail(path, n, f"{key}: empty")
            if lowest is not None and v < lowest:
                _fail(path, n, f"{key}: expected at least {lowest}, got '{value}'")
            search[key] = (v, n)
        elif section == "task":
            if key in TASK_FORBIDDEN:
                _fail(path, n, f"[task {name}]: '{key}' cannot be set here: {TASK_FORBIDDEN[key]}")
            tasks[name].append((key, value, n))
        else:
            cells[name] += f"{key} = {value}\n"
    if "search" not in {s for s, _ in seen_sections}:
        raise ConfigError(f"{path}: no [search] section")
    for key, (_, default, _) in SEARCH_KEYS.items():
        if key not in search:
            if default is None:
                raise ConfigError(f"{path}:{seen_sections[('search', None)]}: [search] needs '{key}'")
            search[key] = (default, 0)
    if not tasks:
        raise ConfigError(f"{path}: no [task NAME] section: the suite is empty")
    if not cells:
        raise ConfigError(f"{path}: no [cell NAME] section: the population needs seeds")
    ref, ref_line = search["reference"]
    if ref not in cells:
        _fail(path, ref_line, f"reference: '{ref}' is not one of the [cell] sections ({', '.join(cells)})")
    for t, lines in tasks.items():
        if not any(k == "task" for k, _, _ in lines):
            _fail(path, seen_sections[("task", t)], f"[task {t}]: needs 'task = ...' (bin/rnnbench list tasks)")
    values = {k: v for k, (v, _) in search.items()}
    if values["max_attempts"] == 0:
        values["max_attempts"] = 20 * values["children"]
    return Config(path=path, tasks=tasks, cells=cells, cell_lines=cell_lines, text=text, **values)


def probe_text(cfg):
    """The file with [task NAME] as [grid NAME] and [search] commented out, line for line, so that
    `rnnbench run --plan` checks the task keys and reports this file's line numbers."""
    out, in_search = [], False
    for raw in cfg.text.splitlines():
        s = raw.strip()
        if s.startswith("["):
            head = s[1:-1].split()
            in_search = head == ["search"]
            if in_search:
                out.append(f"[experiment]  ; {s}")
                continue
            if head and head[0] == "task":
                out.append(f"[grid {head[1]}]")
                continue
        if in_search and s and s[0] not in ";#":
            key = s.split("=", 1)[0].strip()
            out.append(f"name = probe" if key == "name" else f"; {raw}")
            continue
        out.append(raw)
    return "\n".join(out) + "\n"
