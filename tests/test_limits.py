"""Size limits: the largest value of a size parameter that rnnbench accepts must also run.

For each limit (config_check in harness/config.c, the tasks' checks in harness/tasks/, the
integer range grid.c parses), a one-run experiment at the largest accepted value, every other
size small and one or two steps, runs in bin/rnnbench and bin/rnnbench-double with `-j 2` and
`seeds = 2` (two runs in parallel: the main thread and an OpenMP worker). It must exit 0 and
leave both runs finished ('done' or 'diverged') in the results file. The stacks are cut to
STACK_KIB (main thread: RLIMIT_STACK; workers: OMP_STACKSIZE), a sixteenth of Linux's usual
8 MiB: nothing as long as a sequence may be on a stack. (Evaluation's gradient flow was: with
it every delay case here died with SIGSEGV, and, on the usual stacks, timing and adding at
delay 10^6, then accepted.)
One past each limit is refused before any run: exit 2, one line `FILE:LINE: ...` naming the
line of the key and the value, no results file.
Run: /usr/bin/python3 -m pytest -q tests/test_limits.py
(RNNBENCH_SUFFIX=-asan: on bin/rnnbench-asan and bin/rnnbench-double-asan instead)
"""
import os
import resource
import subprocess

import h5py
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# RNNBENCH_SUFFIX=-asan runs the sanitizer builds (make SANITIZE=1 float double)
SUFFIX = os.environ.get("RNNBENCH_SUFFIX", "")
BINARIES = {
    "float": os.path.join(ROOT, "bin", "rnnbench" + SUFFIX),
    "double": os.path.join(ROOT, "bin", "rnnbench-double" + SUFFIX),
}
STACK_KIB = 512

# the limits, as the checks state them
MAX_DELAY = 100000             # harness/tasks/common.h TASK_MAX_DELAY (copy's n_symbols too)
MAX_HIDDEN = 1024              # harness/config.h CONFIG_MAX_HIDDEN
MAX_BATCH = 1000000            # harness/config.c
MAX_EVAL_SIZE = 1000000        # harness/config.c
MAX_STEPS = 100000000          # harness/config.h CONFIG_MAX_STEPS
MAX_EVAL_EVERY = 2 ** 31 - 1   # harness/grid.c: an int
MAX_CLASSES = 1000             # harness/tasks/recall.c RECALL_MAX_CLASSES
MAX_ALPHABET = 1000            # harness/tasks/copy.c COPY_MAX_ALPHABET

# every size small: a case overrides what it tests. Two steps and evaluations at 0 and 2
# (one step with evaluations at 0 and 1 overflows results.c's write_run_data, which sizes
# a buffer of eval steps by the training steps: seen by AddressSanitizer)
SMALL = {"task": "adding", "delay": 2, "cell": "rnn", "hidden": 1, "batch": 1, "steps": 2,
         "eval_every": 2, "eval_size": 1}

# name -> (the keys of the case, the keys it puts at their limit). Every task's longest
# sequence at the largest delay, each on another cell so that every kernel sees a long one.
LARGEST = {
    "delay-adding": ({"task": "adding", "delay": MAX_DELAY, "cell": "lstm"}, ["delay"]),
    "delay-adding-1997": ({"task": "adding", "form": 1997, "delay": MAX_DELAY, "cell": "gru"},
                          ["delay"]),
    # the longest sequence any task accepts: T + 2S = 3 * 10^5 steps
    "delay-copy": ({"task": "copy", "delay": MAX_DELAY, "n_symbols": MAX_DELAY, "cell": "rnn"},
                   ["delay", "n_symbols"]),
    "delay-recall": ({"task": "recall", "delay": MAX_DELAY, "cell": "lstm-cifg"}, ["delay"]),
    # 6b's sequences are as long as 6a's (T to 1.1 T); only its classes differ
    "delay-temporal-order": ({"task": "temporal-order", "form": "6b", "delay": MAX_DELAY,
                              "cell": "irnn"}, ["delay"]),
    "delay-multiplication": ({"task": "multiplication", "delay": MAX_DELAY, "cell": "lstm-fgr"},
                             ["delay"]),
    "delay-xor": ({"task": "xor", "delay": MAX_DELAY, "cell": "gru-ra"}, ["delay"]),
    "delay-reber": ({"task": "reber", "delay": MAX_DELAY, "cell": "lstm-peep"}, ["delay"]),
    "delay-timing": ({"task": "timing", "delay": MAX_DELAY, "cell": "rnn"}, ["delay"]),
    "delay-reber-continual": ({"task": "reber-continual", "delay": MAX_DELAY, "cell": "janet"},
                              ["delay"]),
    # adding-stream and multiplication-stream (10^6 steps at their limit, 20 s and 200 MB a run)
    # were run at their limit by hand, not here: too slow for the suite's 10 minutes
    "n_classes": ({"task": "recall", "n_classes": MAX_CLASSES}, ["n_classes"]),
    "alphabet": ({"task": "copy", "delay": 1, "n_symbols": 1, "alphabet": MAX_ALPHABET},
                 ["alphabet"]),
    # the cell with the most weights, 13 H^2
    "hidden": ({"hidden": MAX_HIDDEN, "cell": "lstm-fgr"}, ["hidden"]),
    "batch": ({"batch": MAX_BATCH}, ["batch"]),
    "eval_size": ({"eval_size": MAX_EVAL_SIZE}, ["eval_size"]),
    # every curve of the step budget is allocated; a learning rate of 1e300 makes the run
    # diverge at once, as 10^8 steps would take hours
    "steps": ({"steps": MAX_STEPS, "eval_every": 100, "lr": 1e300}, ["steps"]),
    "eval_every": ({"eval_every": MAX_EVAL_EVERY, "steps": 2}, ["eval_every"]),
}


def experiment(tmp_path, keys, seeds=2):
    """Writes an experiment of one grid point ({**SMALL, **keys}, seeds runs); returns its
    path and the line number of each key."""
    lines = ["[experiment]", "name = limits", "seed = 7", "", "[grid]"]
    line_of = {}
    for k, v in {**SMALL, **keys}.items():
        lines.append(f"{k} = {v}")
        line_of[k] = len(lines)
    lines.append(f"seeds = {seeds}")
    path = tmp_path / "limits.ini"
    path.write_text("\n".join(lines) + "\n")
    return str(path), line_of


def small_stacks():
    """In the child before exec: the main thread's stack limit."""
    resource.setrlimit(resource.RLIMIT_STACK, (STACK_KIB * 1024, STACK_KIB * 1024))


def rnnbench(precision, *args):
    env = {**os.environ, "OMP_STACKSIZE": f"{STACK_KIB}K"}
    return subprocess.run([BINARIES[precision], *args], capture_output=True, text=True,
                          timeout=120, env=env, preexec_fn=small_stacks)


@pytest.mark.parametrize("precision", sorted(BINARIES))
@pytest.mark.parametrize("case", sorted(LARGEST))
def test_largest_accepted_value_runs(tmp_path, case, precision):
    exp, _ = experiment(tmp_path, LARGEST[case][0])
    out = str(tmp_path / "out.h5")
    r = rnnbench(precision, "run", exp, "-o", out, "-j", "2", "--quiet")
    assert r.returncode == 0, f"{case} ({precision}) exited {r.returncode}:\n{r.stderr}"
    with h5py.File(out, "r") as f:
        status = [s.decode() for s in f["summary"]["status"]]
    assert len(status) == 2 and set(status) <= {"done", "diverged"}, status


ONE_PAST = {f"{case}-{key}": (keys, key) for case, (keys, at_limit) in LARGEST.items()
            for key in at_limit}


@pytest.mark.parametrize("case", sorted(ONE_PAST))
def test_one_past_the_limit_is_refused_with_file_line_and_value(tmp_path, case):
    keys, key = ONE_PAST[case]
    keys = {**keys, key: keys[key] + 1}
    exp, line_of = experiment(tmp_path, keys)
    out = str(tmp_path / "out.h5")
    r = rnnbench("float", "run", exp, "-o", out, "--quiet")
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) == 1, (r.returncode, r.stderr)
    assert lines[0].startswith(f"{exp}:{line_of[key]}: "), lines[0]
    assert str(keys[key]) in lines[0], lines[0]
    assert not os.path.exists(out) and not os.path.exists(out + ".parts")


def test_batch_times_sequence_length_past_an_int_fails_the_run_before_allocating(tmp_path):
    """The cells index a batch's T*B rows with an int: 10^6 sequences of 2148 steps are
    2.148e9 rows (more memory than the machine has, too): a failed run with its reason,
    not a wrapped index."""
    exp, _ = experiment(tmp_path, {"batch": MAX_BATCH, "delay": 2148}, seeds=1)
    out = str(tmp_path / "out.h5")
    r = rnnbench("float", "run", exp, "-o", out, "--quiet")
    assert r.returncode == 1, r.stderr
    assert "2148000000 rows, more than the 2147483647" in r.stderr, r.stderr
    with h5py.File(out, "r") as f:
        assert [s.decode() for s in f["summary"]["status"]] == ["failed"]
