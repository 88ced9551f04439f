"""The guard of `make bench`: is the machine quiet enough for its ratios to be evidence?

On a shared machine the programs of a benchmark slow down unevenly, so a table taken on a busy
host misleads. The guard measures, before and after the rounds, two things:

* the GEMM ceiling: `rnnbench bench --gemm` (the project's GEMM backend, cells/gemm.h, one
  thread, pinned), a few calibration loops, each the best of a few products;
* the load: the 1-minute load average of /proc/loadavg. That average remembers the last minute,
  so a benchmark or a build that has just finished would make a quiet machine read busy: before
  the rounds the guard waits (settle_load, up to a stated time) for it to fall below MAX_LOAD, and
  a machine still busy after that is called busy.

The machine is called busy when a calibration loop reaches less than MIN_FRACTION of what this
CPU reaches idle, or when the load that is not the benchmark's own exceeds MAX_LOAD. What "idle"
means comes from scripts/bench_reference.csv, keyed by the CPU model read from /proc/cpuinfo
(model name, family, model, stepping); on a CPU the table does not list, it is the best
calibration loop of the same run, which catches a machine whose speed changed during the run
but not one that was slow throughout (the verdict says which reference it used).

The benchmark's own share of the load after the rounds: one pinned process that ran for
`elapsed` seconds adds 1 - exp(-elapsed / 60) to the 1-minute average; that much is subtracted.

Everything here takes its measurements as arguments, so the verdict is tested on injected
figures (tests/test_bench.py); bench_compare.py does the measuring.
"""
import csv
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_CSV = os.path.join(ROOT, "scripts", "bench_reference.csv")
REFERENCE_COLUMNS = ["cpu_model", "backend", "real", "size", "gflops", "date", "how"]

MIN_FRACTION = 0.85  # a calibration below this fraction of the idle ceiling: busy
MAX_LOAD = 0.5       # more runnable processes than this besides the benchmark's own: busy
CAL_SIZE = 2048      # N of the N x N x N calibration product
CAL_REPS = 5         # products per calibration loop (its best counts)


def cpu_model(cpuinfo_text):
    """The CPU model of the first processor in /proc/cpuinfo's text: its model name, with
    family, model and stepping (a virtual machine's model name may be as vague as 'AMD EPYC')."""
    fields = {}
    for line in cpuinfo_text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name")
    if not name:
        raise ValueError("/proc/cpuinfo has no 'model name' line")
    extra = [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
    return f"{name} ({', '.join(extra)})" if extra else name


def read_cpu_model(path="/proc/cpuinfo"):
    with open(path) as f:
        return cpu_model(f.read())


def parse_loadavg(text):
    """The 1-minute load average from /proc/loadavg's text."""
    parts = text.split()
    try:
        return float(parts[0])
    except (IndexError, ValueError):
        raise ValueError(f"/proc/loadavg: cannot read a load average from {text.strip()!r}")


def read_loadavg(path="/proc/loadavg"):
    with open(path) as f:
        return parse_loadavg(f.read())


def read_loadavg_or_nan(path="/proc/loadavg"):
    """read_loadavg, or NaN where the file cannot be read: for the records of long runs (the
    zoo's, the search's), which must not fail for it."""
    try:
        return read_loadavg(path)
    except (OSError, ValueError):
        return float("nan")


def load_reference(path=REFERENCE_CSV):
    """{(cpu_model, backend, real, size): (gflops, date)} from the reference table; lines starting
    with '#' are comments. A malformed row is an error naming the file and line."""
    table = {}
    with open(path) as f:
        rows = [(n, line) for n, line in enumerate(f, 1) if line.strip() and not line.startswith("#")]
    if not rows:
        raise ValueError(f"{path}: empty (the header {','.join(REFERENCE_COLUMNS)} is missing)")
    header = next(csv.reader([rows[0][1]]))
    if header != REFERENCE_COLUMNS:
        raise ValueError(f"{path}:{rows[0][0]}: header is {','.join(header)}, "
                         f"expected {','.join(REFERENCE_COLUMNS)}")
    for n, line in rows[1:]:
        cols = next(csv.reader([line]))
        if len(cols) != len(REFERENCE_COLUMNS):
            raise ValueError(f"{path}:{n}: {len(cols)} columns, expected {len(REFERENCE_COLUMNS)}")
        try:
            size, gflops = int(cols[3]), float(cols[4])
        except ValueError:
            raise ValueError(f"{path}:{n}: size '{cols[3]}' or gflops '{cols[4]}' is not a number")
        if not gflops > 0:
            raise ValueError(f"{path}:{n}: gflops '{cols[4]}' must be positive")
        table[(cols[0], cols[1], cols[2], size)] = (gflops, cols[5])
    return table


def append_reference(path, cpu, backend, real, size, gflops, date, how):
    """Add one row to the reference table (creating it with its header when absent)."""
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(REFERENCE_COLUMNS)
        w.writerow([cpu, backend, real, size, f"{gflops:.1f}", date, how])


def settle_load(read, sleep, max_load=MAX_LOAD, timeout_s=90.0, step_s=5.0):
    """The 1-minute load before the rounds: read() again every step_s seconds (through sleep)
    while it is above max_load, for at most timeout_s. Returns (load, seconds waited)."""
    load, waited = read(), 0.0
    while load > max_load and waited + step_s <= timeout_s:
        sleep(step_s)
        waited += step_s
        load = read()
    return load, waited


def own_load(elapsed_s):
    """What one process running throughout the last `elapsed_s` seconds adds to the 1-minute
    load average (an exponentially damped average with a 60 s time constant)."""
    return 1.0 - math.exp(-max(elapsed_s, 0.0) / 60.0)


@dataclass
class Verdict:
    quiet: bool
    reference: float          # GFLOP/s the calibrations were compared with
    reference_source: str     # "table (<date>)" or "best calibration of this run"
    ceiling_before: float     # worst calibration loop before the rounds
    ceiling_after: float      # worst calibration loop after them
    load_before: float        # others' load before the rounds
    load_after: float         # others' load after them (own share subtracted)
    reasons: list = field(default_factory=list)

    def headline(self):
        """The line at the top of the table."""
        figures = (f"GEMM ceiling {self.ceiling_before:.0f} GFLOP/s before / {self.ceiling_after:.0f} "
                   f"after the rounds against {self.reference:.0f} ({self.reference_source}); other "
                   f"load {self.load_before:.2f} before / {self.load_after:.2f} after")
        if self.quiet:
            return f"GUARD: quiet. {figures}."
        return (f"GUARD: BUSY, the ratios below are not evidence: {'; '.join(self.reasons)}. "
                f"({figures}.)")


def judge(cal_before, cal_after, load_before, load_after, elapsed_s, reference=None,
          reference_date="", min_fraction=MIN_FRACTION, max_load=MAX_LOAD):
    """The verdict on the measurements: cal_before/cal_after are the GFLOP/s of the calibration
    loops before and after the rounds, load_before/load_after the 1-minute load averages read
    then, elapsed_s the seconds the rounds took (their own load is subtracted after),
    reference the idle ceiling of this CPU from the table (None: not listed)."""
    if not cal_before or not cal_after:
        raise ValueError("the guard needs at least one calibration loop before and one after the rounds")
    if any(not (c > 0) for c in list(cal_before) + list(cal_after)):
        raise ValueError(f"a calibration loop gave no GFLOP/s: {cal_before} / {cal_after}")
    if reference is not None:
        source = f"this CPU's idle reference, {reference_date}" if reference_date else "this CPU's idle reference"
    else:
        reference = max(list(cal_before) + list(cal_after))
        source = "best calibration of this run: CPU not in scripts/bench_reference.csv"
    others_after = max(0.0, load_after - own_load(elapsed_s))
    v = Verdict(True, reference, source, min(cal_before), min(cal_after), load_before, others_after)
    for when, ceiling in (("before", v.ceiling_before), ("after", v.ceiling_after)):
        if ceiling < min_fraction * reference:
            v.reasons.append(f"GEMM ceiling {when} the rounds {ceiling:.0f} GFLOP/s is "
                             f"{100 * ceiling / reference:.0f}% of {reference:.0f}, below "
                             f"{100 * min_fraction:.0f}%")
    for when, load in (("before", load_before), ("after", others_after)):
        if load > max_load:
            v.reasons.append(f"load {when} the rounds {load:.2f} besides the benchmark, above {max_load}")
    v.quiet = not v.reasons
    return v


def calibrate(rnnbench, core, size=CAL_SIZE, reps=CAL_REPS, env=None):
    """One calibration loop: GFLOP/s of the best of `reps` size^3 products through rnnbench's
    GEMM backend, pinned to `core`. Returns (gflops, backend)."""
    cmd = [rnnbench, "bench", "--gemm", "--size", str(size), "--reps", str(reps), "--format", "csv"]
    if core is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core)] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != 2 or lines[0] != "backend,size,gflops":
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
    backend, _, gflops = lines[1].split(",")
    return float(gflops), backend
