"""scripts/slurm/project_wall_time.py: a grid's wall time on P cores from its `--plan` (longest
first, each run on the core that frees first, as rank 0 hands runs out) and a measured speed.

Covers: the schedule on a small plan whose answer is known by hand, a real plan from
`rnnbench run --plan`, and one-line errors for a file that is not a plan.
Run: /usr/bin/python3 -m pytest -q tests/test_project_wall_time.py
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "slurm", "project_wall_time.py")
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")

sys.path.insert(0, os.path.dirname(SCRIPT))
import project_wall_time  # noqa: E402

PLAN = """order id               cell                     task             delay  hidden cost (Gmadd)
1     0000000000000001 lstm                     adding             10      32        3.000
2     0000000000000002 lstm                     adding             10      32        3.000
3     0000000000000003 rnn                      adding             10      32        2.000
4     0000000000000004 rnn                      adding             10      32        2.000
5     0000000000000005 rnn                      adding             10      32        2.000
5 runs, 12.000 Gmadd in all
"""


def project(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def test_longest_first_on_the_core_that_frees_first():
    # 3 | 3, then 2 on each (5 | 5), then the last 2 on the first: 7
    assert project_wall_time.makespan([3, 2, 3, 2, 2], 2) == 7
    assert project_wall_time.makespan([3, 2, 3, 2, 2], 1) == 12
    assert project_wall_time.makespan([3, 2, 3, 2, 2], 10) == 3  # the longest run bounds it


def test_a_plan_file(tmp_path):
    plan = tmp_path / "p.plan"
    plan.write_text(PLAN)
    r = project(str(plan), "--seconds-per-gmadd", "60", "--cores", "1", "2", "10")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("5 runs, 0.2 core-hours; the longest run 3.0 min")
    assert "    1 cores: 12.0 min" in r.stdout
    assert "    2 cores: 7.0 min" in r.stdout
    assert "   10 cores: 3.0 min" in r.stdout


def test_the_plan_rnnbench_prints(tmp_path):
    plan = tmp_path / "quickstart.plan"
    with open(plan, "w") as f:
        subprocess.run([RNNBENCH, "run", os.path.join(ROOT, "experiments", "quickstart.ini"), "--plan"],
                       stdout=f, check=True)
    r = project(str(plan), "--seconds-per-gmadd", "0.4", "--cores", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("48 runs, ")


def test_not_a_plan(tmp_path):
    bad = tmp_path / "bad.plan"
    bad.write_text("order id\n1 2 3\n")
    r = project(str(bad), "--seconds-per-gmadd", "1")
    assert r.returncode != 0 and f"{bad}:2: not a line of `rnnbench run --plan`" in r.stderr
    bad.write_text("1     0000000000000001 lstm adding 10 32 three\n")
    r = project(str(bad), "--seconds-per-gmadd", "1")
    assert r.returncode != 0 and f"{bad}:1: cost 'three' is not a number" in r.stderr
    r = project(str(bad), "--seconds-per-gmadd", "-1")
    assert r.returncode != 0 and "--seconds-per-gmadd > 0" in r.stderr
