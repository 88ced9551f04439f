"""`rnnbench bench`: its CSV contract, its memory account and the parsers of make bench.

Timing figures are not checked here (the machines are shared; `make bench` measures
them side by side); what is checked is that the command prints what scripts rely on,
that the memory it predicts from the shapes matches what the run takes, and that its
errors are one line with a non-zero exit.
"""
import importlib.util
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")


def bench(*args):
    return subprocess.run([RNNBENCH, "bench", *args], capture_output=True, text=True, timeout=300)


def load_compare():
    spec = importlib.util.spec_from_file_location("bench_compare",
                                                  os.path.join(ROOT, "scripts", "bench_compare.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_csv_has_the_documented_header_and_one_row_per_cell():
    r = bench("--workload", "W1", "--cell", "lstm,gru-ra", "--format", "csv", "--steps", "3",
              "--warmup", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb"
    assert [l.split(",")[:2] for l in lines[1:]] == [["W1", "lstm"], ["W1", "gru-ra"]]
    for line in lines[1:]:
        med, lo, hi, gf, rss = map(float, line.split(",")[2:])
        assert 0 < lo <= med <= hi and gf > 0 and rss > 0


def test_memory_account_adds_up_and_predicts_the_run():
    """One cell per process, as make bench runs it: the run's share of the peak resident
    memory is within 10 % (plus the GEMM library's buffers, a few MiB) of the prediction."""
    r = bench("--workload", "W2", "--cell", "lstm", "--format", "csv", "--steps", "2", "--warmup", "1")
    assert r.returncode == 0, r.stderr
    mod = load_compare()
    mem = mod.rnnbench_memory(r.stderr)
    assert mem is not None, r.stderr
    terms = [float(v) for v in re.findall(r"[\d.]+", mem["formula"])]
    assert len(terms) == 5 and sum(terms) == pytest.approx(mem["predicted"], abs=0.3)
    assert mem["predicted"] > 40  # W2 lstm caches 6 H-blocks per unit-step: about 50 MiB
    assert abs(mem["run"] - mem["predicted"]) < 0.10 * mem["predicted"] + 4, mem
    assert mem["peak"] >= mem["run"]


def test_onednn_parser_reads_workspace_and_weights():
    mod = load_compare()
    text = ("bench_onednn: weights 68608 bytes plain (ldigo/ldigo/ldgo); forward copy ...\n"
            "bench_onednn: workspace 15.15 MiB; scratchpad 16.68 MiB (forward 16.68)\n")
    m = mod.onednn_memory(text)
    assert m["workspace"] == pytest.approx(15.15)
    assert m["weights"] == pytest.approx(68608 / 1048576)
    assert mod.onednn_memory("nothing here") is None


@pytest.mark.parametrize("args,needle", [
    (["--workload", "W9"], "unknown workload 'W9'"),
    (["--cell", "lstm-bogus", "--workload", "W1"], "unknown cell 'lstm-bogus'"),
    (["--steps", "0"], "--steps: invalid value '0'"),
    (["--format", "xml"], "--format: invalid value 'xml'"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, needle):
    r = bench(*args, "--steps", "1") if "--steps" not in args else bench(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    err = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(err) == 1 and needle in err[0], r.stderr
