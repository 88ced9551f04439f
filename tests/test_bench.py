"""`rnnbench bench`: its CSV contract, its memory account and the parsers of make bench.

Timing figures are not checked here (the machines are shared; `make bench` measures
them side by side); what is checked is that the command prints what scripts rely on,
that the memory it predicts from the shapes matches what the run takes, and that its
errors are one line with a non-zero exit.
"""
import importlib.util
import math
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


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "scripts", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------------------------
# flops: only the products that run are counted (no timing: the count is printed with --steps 1)

def flops_of(*args):
    r = bench(*args, "--format", "csv", "--steps", "1", "--warmup", "0")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^flops (\S+) (\S+): (\d+) per step \(dL/dx (computed|skipped), (.*)\)$", r.stderr, re.M)
    assert m, r.stderr
    return int(m.group(3)), m.group(4), m.group(5)


def test_flop_count_of_w4_lstm_by_hand():
    """W4: T=60, B=1, X=88, H=100, G=4, Y=88, every step scored. Forward 2*60*(88+100)*400;
    backward the weight gradients (as much again) and dL/dh (2*60*100*400); the readout
    2*60*100*88 forward and twice that backward; dL/dx (2*60*88*400) only with --with-dx."""
    forward = 2 * 60 * 188 * 400
    backward = forward + 2 * 60 * 100 * 400
    readout = 3 * 2 * 60 * 100 * 88
    dx = 2 * 60 * 88 * 400
    assert flops_of("--workload", "W4", "--cell", "lstm") == (
        forward + backward + readout, "skipped", "training step")
    assert flops_of("--workload", "W4", "--cell", "lstm", "--with-dx") == (
        forward + backward + readout + dx, "computed", "training step")
    # oneDNN's work: the layer with dL/dx, no readout; 3 times the forward, as bench_onednn counts
    assert flops_of("--workload", "W4", "--cell", "lstm", "--layer-only", "--with-dx") == (
        3 * forward, "computed", "layer only")


@pytest.mark.parametrize("mode", [["--with-dx"], ["--layer-only", "--with-dx"], ["--layer-only"]])
def test_with_dx_and_layer_only_keep_the_csv_columns(mode):
    r = bench("--workload", "W1", "--cell", "lstm,gru-ra", *mode, "--format", "csv", "--steps", "1",
              "--warmup", "0", "--length", "5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb"
    assert [l.split(",")[:2] for l in lines[1:]] == [["W1", "lstm"], ["W1", "gru-ra"]]


# ---------------------------------------------------------------------------------------------
# the guard's verdict, on injected measurements

def test_guard_quiet_when_ceiling_and_load_hold():
    g = load_script("bench_guard")
    v = g.judge([240, 243], [238, 241], load_before=0.1, load_after=1.1, elapsed_s=600, reference=243)
    # after 600 s of one pinned benchmark its own share of the 1-minute load is 1 - e^-10
    assert v.quiet and not v.reasons, v.reasons
    assert v.load_after == pytest.approx(1.1 - (1 - math.exp(-10)))
    assert v.headline().startswith("GUARD: quiet.")


def test_guard_flags_a_busy_ceiling():
    """The issue's case: 107 GFLOP/s on a CPU that reaches 243 idle."""
    g = load_script("bench_guard")
    v = g.judge([107, 110], [240], load_before=0.0, load_after=1.0, elapsed_s=600, reference=243)
    assert not v.quiet
    assert len(v.reasons) == 1 and "before the rounds 107 GFLOP/s is 44% of 243" in v.reasons[0]
    assert v.headline().startswith("GUARD: BUSY")


def test_guard_flags_a_high_load_before_or_after():
    g = load_script("bench_guard")
    v = g.judge([240], [240], load_before=2.0, load_after=1.0, elapsed_s=600, reference=243)
    assert not v.quiet and len(v.reasons) == 1 and "load before the rounds 2.00" in v.reasons[0]
    # after 30 s the benchmark accounts for only 1 - e^-0.5 = 0.39 of a load of 1.2: others 0.81
    v = g.judge([240], [240], load_before=0.0, load_after=1.2, elapsed_s=30, reference=243)
    assert not v.quiet and "load after the rounds 0.81" in v.reasons[0]


def test_guard_on_an_unknown_cpu_compares_with_the_best_calibration():
    g = load_script("bench_guard")
    v = g.judge([100, 98], [60], load_before=0.0, load_after=0.0, elapsed_s=100)
    assert v.reference == 100 and "best calibration of this run" in v.reference_source
    assert not v.quiet and "after the rounds 60 GFLOP/s is 60% of 100" in v.reasons[0]
    assert g.judge([100, 98], [95], 0.0, 0.0, 100).quiet


def test_guard_reads_cpu_model_load_and_reference(tmp_path):
    g = load_script("bench_guard")
    cpuinfo = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
               "model name\t: AMD EPYC 9575F 64-Core Processor\nstepping\t: 0\n\n"
               "processor\t: 1\nmodel name\t: something else\n")
    assert g.cpu_model(cpuinfo) == "AMD EPYC 9575F 64-Core Processor (cpu family 26, model 2, stepping 0)"
    with pytest.raises(ValueError):
        g.cpu_model("processor\t: 0\n")
    assert g.parse_loadavg("2.32 2.66 3.85 3/95 25427\n") == 2.32
    ref = tmp_path / "ref.csv"
    g.append_reference(str(ref), "CPU X (cpu family 1)", "onednn", "float", 2048, 243.04, "2026-11-30", "test")
    assert g.load_reference(str(ref)) == {("CPU X (cpu family 1)", "onednn", "float", 2048): (243.0, "2026-11-30")}
    ref.write_text("# comment\n" + ",".join(g.REFERENCE_COLUMNS) + "\nCPU,onednn,float,2048,fast,d,h\n")
    with pytest.raises(ValueError, match=r"ref.csv:3: .*'fast'"):
        g.load_reference(str(ref))


def test_the_shipped_reference_table_parses():
    g = load_script("bench_guard")
    for (cpu, backend, real, size), (gflops, date) in g.load_reference().items():
        assert cpu and backend and real in ("float", "double") and size > 0 and gflops > 0 and date


# ---------------------------------------------------------------------------------------------
# the paired-ratio statistic and make bench's run, on injected measurements

def test_paired_ratio_is_the_median_of_per_round_ratios():
    mod = load_compare()
    base = {0: 1.0, 1: 2.0, 2: 1.0, 3: 4.0, 4: 1.0}
    peer = {0: 1.5, 1: 2.0, 2: 3.0, 3: 4.0, 4: 1.2}
    # per round: 1.5, 1.0, 3.0, 1.0, 1.2 -> median 1.2, min 1.0, max 3.0 (the ratio of the
    # medians would be 2.0 / 1.0 = 2.0)
    assert mod.paired_ratio_stats(base, peer) == (pytest.approx(1.2), 1.0, 3.0, 5)
    # a round one of them missed is left out of the pairs
    assert mod.paired_ratio_stats({0: 1.0, 1: 2.0}, {1: 3.0})[3] == 1
    assert mod.paired_ratio_stats({}, {})[3] == 0


def test_rounds_rotate_and_onednn_takes_its_faster_allocation_per_round():
    mod = load_compare()
    assert [mod.rotated(list("abc"), r) for r in range(4)] == [list("abc"), list("bca"), list("cab"),
                                                               list("abc")]
    best, which = mod.fastest_per_round({0: 2.0, 1: 1.0}, {0: 1.5, 1: 3.0})
    assert best == {0: 1.5, 1: 1.0} and which == {0: 1, 1: 0}


def test_onednn_dispatch_string_is_parsed():
    mod = load_compare()
    err = "bench_onednn: oneDNN 2.6.3 ...\nbench_onednn: impl forward ref; backward jit:avx2\n"
    assert mod.onednn_impl(err) == "forward ref, backward jit:avx2"
    assert mod.onednn_impl("nothing") is None


def fake_bench(monkeypatch, mod, cal_before, cal_after, loads):
    """make bench's measurements replaced by fixed figures: rnnbench 1.0 ms, its layer 1.1, PyTorch 8.0,
    oneDNN 1.3 (2 MiB pages 1.25); the calibrations and loads given."""
    calibrations = iter([(c, "onednn") for c in cal_before] + [(c, "onednn") for c in cal_after])
    load_values = iter(loads)
    monkeypatch.setattr(mod.bench_guard, "calibrate", lambda *a, **k: next(calibrations))
    monkeypatch.setattr(mod.bench_guard, "read_loadavg", lambda *a, **k: next(load_values))
    monkeypatch.setattr(mod.bench_guard, "read_cpu_model", lambda *a, **k: "Test CPU (cpu family 0)")
    monkeypatch.setattr(mod.bench_workloads, "load", lambda *a, **k: {
        "W4": dict(T=60, X=88, H=100, B=1, Y=88, loss="bce-all", last_step_only=False, cells=["lstm"])})
    monkeypatch.setattr(mod.os.path, "exists", lambda p: True)

    def run_csv(cmd, env=None):
        if "bench_torch.py" in " ".join(cmd):
            ms, err = 8.0, ""
        elif any("bench_onednn" in c for c in cmd):
            ms = 1.25 if "--huge-pages" in cmd else 1.3
            err = "bench_onednn: impl forward ref; backward ref\n"
        else:
            ms, err = (1.1 if "--layer-only" in cmd and "--with-dx" in cmd else 1.0), ""
        return [{"workload": "W4", "cell": "lstm", "ms": ms, "ms_min": ms, "ms_max": ms,
                 "gflops": 20.0, "rss_mb": 20.0}], err
    monkeypatch.setattr(mod, "run_csv", run_csv)


def read_csv_rows(path):
    import csv
    with open(path) as f:
        return list(csv.DictReader(f))


def test_make_bench_quiet_run_writes_the_csv(monkeypatch, tmp_path, capsys):
    mod = load_compare()
    fake_bench(monkeypatch, mod, [100, 99, 100], [98, 100, 99], [0.1, 0.2])
    out = tmp_path / "bench.csv"
    assert mod.main(["--skip-grid", "--strict", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("GUARD: quiet.")
    assert "its API cannot skip it" in text and "no readout, no loss, no update" in text
    assert "W4 lstm: forward ref, backward ref" in text
    with open(out) as f:
        assert f.readline().strip() == ",".join(mod.CSV_COLUMNS)
    rows = read_csv_rows(out)
    assert [(r["rnnbench"], r["peer"]) for r in rows] == [("step", "pytorch"), ("step", "onednn"),
                                                          ("layer+dx", "onednn")]
    assert all(r["verdict"] == "quiet" and r["cpu_model"] == "Test CPU (cpu family 0)" for r in rows)
    assert float(rows[0]["ratio_median"]) == pytest.approx(8.0)
    assert float(rows[1]["ratio_median"]) == pytest.approx(1.25)       # the faster oneDNN
    assert float(rows[2]["ratio_median"]) == pytest.approx(1.25 / 1.1, abs=1e-4)
    assert rows[1]["onednn_impl"] == "forward ref, backward ref" and rows[0]["onednn_impl"] == ""
    assert rows[0]["rounds"] == "5"


@pytest.mark.parametrize("cal_after,loads,reason", [
    ([50, 60, 55], [0.1, 0.2], "GEMM ceiling after the rounds 50 GFLOP/s is 50% of 100"),
    ([100, 99, 98], [3.0, 0.2], "load before the rounds 3.00"),
])
def test_make_bench_busy_run_is_flagged_and_strict_exits_1(monkeypatch, tmp_path, capsys, cal_after,
                                                           loads, reason):
    mod = load_compare()
    out = tmp_path / "bench.csv"
    fake_bench(monkeypatch, mod, [100, 99, 100], cal_after, loads)
    assert mod.main(["--skip-grid", "--strict", "--settle", "0", "--csv", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("GUARD: BUSY") and reason in captured.out
    assert "--strict" in captured.err
    rows = read_csv_rows(out)
    assert rows and all(r["verdict"] == "busy" and reason in r["guard_note"] for r in rows)
    # without --strict the same run reports and exits 0
    fake_bench(monkeypatch, mod, [100, 99, 100], cal_after, loads)
    assert mod.main(["--skip-grid", "--settle", "0", "--csv", str(out)]) == 0


def test_guard_waits_for_the_load_average_to_settle():
    """The 1-minute average remembers the last minute (a benchmark just run): the guard reads it
    again while it is high, up to its timeout; a load that stays high is reported as it is."""
    g = load_script("bench_guard")
    slept = []
    reads = iter([1.4, 0.9, 0.45, 0.1])
    load, waited = g.settle_load(lambda: next(reads), slept.append, 0.5, 90, 5)
    assert (load, waited, slept) == (0.45, 10, [5, 5])
    slept.clear()
    load, waited = g.settle_load(lambda: 2.0, slept.append, 0.5, 12, 5)
    assert (load, waited, slept) == (2.0, 10, [5, 5])
    load, waited = g.settle_load(lambda: 2.0, slept.append, 0.5, 0, 5)
    assert (load, waited) == (2.0, 0)


def test_make_bench_waits_for_a_falling_load_and_calls_it_quiet(monkeypatch, tmp_path, capsys):
    mod = load_compare()
    fake_bench(monkeypatch, mod, [100, 99, 100], [98, 100, 99], [0.9, 0.6, 0.3, 0.2])
    slept = []
    monkeypatch.setattr(mod.time, "sleep", slept.append)
    assert mod.main(["--skip-grid", "--strict", "--csv", str(tmp_path / "b.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("GUARD: quiet.") and slept == [5.0, 5.0]
    assert "waited 10 s" in captured.err


def test_make_bench_refuses_fewer_than_5_rounds():
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "bench_compare.py"), "--rounds", "3"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "at least 5" in r.stderr


def test_make_bench_times_the_graph_lstm_against_the_native_one(monkeypatch, tmp_path, capsys):
    """W1 gains the native lstm-peep and eq-lstm-peep (experiments/graph-cells.ini, passed with
    --cell-file); the line reports the graph cell's time over the native's, paired per round."""
    mod = load_compare()
    fake_bench(monkeypatch, mod, [100, 99, 100], [98, 100, 99], [0.1, 0.2])
    monkeypatch.setattr(mod.bench_workloads, "load", lambda *a, **k: {
        "W1": dict(T=100, X=2, H=64, B=32, Y=1, loss="mse-last", last_step_only=True, cells=["rnn"])})
    seen = []

    def run_csv(cmd, env=None):
        seen.append(cmd)
        graph = "--cell-file" in cmd
        ms = 1.2 if graph else 1.0
        return [{"workload": "W1", "cell": "x", "ms": ms, "ms_min": ms, "ms_max": ms,
                 "gflops": 20.0, "rss_mb": 20.0}], ""
    monkeypatch.setattr(mod, "run_csv", run_csv)
    assert mod.main(["--skip-grid", "--csv", str(tmp_path / "b.csv")]) == 0
    text = capsys.readouterr().out
    assert "W1 eq-lstm-peep" in text and "against the native lstm-peep" in text and "1.20x" in text
    graph_cmds = [c for c in seen if "eq-lstm-peep" in c]
    assert graph_cmds and all(c[c.index("--cell-file") + 1].endswith("experiments/graph-cells.ini")
                              for c in graph_cmds)
