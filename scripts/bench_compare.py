#!/usr/bin/env python3
"""Run rnnbench's benchmark beside PyTorch and oneDNN's fused RNN primitive, interleaved, guarded.

`make bench` calls this. Before the rounds and after them the guard (scripts/bench_guard.py)
measures the GEMM ceiling (calibration loops through rnnbench's GEMM backend) and the load; its
verdict heads the table and every CSV row, and `--strict` exits 1 when it says busy.

Each round times every (workload, cell) with each implementation in turn, all pinned to the same
core, the order rotated by one each round (round r starts with the r-th implementation), so that
no program always runs first or last. At least 5 rounds. The table reports, per workload and
cell, the median over rounds of each one's median ms per step, and for each peer the median of the
per-round paired ratios (peer ms over rnnbench ms within the same round) with their min-max: not
a ratio of medians. oneDNN runs with its own allocation and with its buffers on 2 MiB pages; in
each round the faster of the two is its time.

The workloads and their cells are those `rnnbench bench --list-workloads` prints. PyTorch runs
with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (its best kernels);
rnnbench and oneDNN run with the environment as it is.

Example:
    /usr/bin/python3 scripts/bench_compare.py --rounds 5 --steps 20 --csv build/bench.csv
    /usr/bin/python3 scripts/bench_compare.py --workloads W4 --skip-grid --strict
"""
import argparse
import csv
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_guard  # noqa: E402  (the busy-machine guard)
import bench_workloads  # noqa: E402  (the workloads' shapes, from rnnbench itself)

PEER_CELLS = {"rnn", "lstm", "gru-ra"}
# cells written as equations (docs/cells.md), timed beside the native cell they copy:
# (workload, graph cell, the file defining it, the native cell)
GRAPH_CASES = (("W1", "eq-lstm-peep", os.path.join("experiments", "graph-cells.ini"), "lstm-peep"),
               ("W2", "eq-lstm-peep", os.path.join("experiments", "graph-cells.ini"), "lstm-peep"))
MIN_ROUNDS = 5
JSB_SEQUENCES = 229  # JSB Chorales' training set: one W4 step per sequence is one epoch
CSV_COLUMNS = ["verdict", "guard_note", "cpu_model", "backend", "ceiling_reference",
               "reference_source", "ceiling_before", "ceiling_after", "load_before", "load_after",
               "rounds", "workload", "cell", "rnnbench", "rnnbench_ms", "rnnbench_gflops", "peer",
               "peer_ms", "ratio_median", "ratio_min", "ratio_max", "onednn_impl"]


def pinned(cmd, core):
    """The command pinned to one core when taskset exists."""
    return (["taskset", "-c", str(core)] if shutil.which("taskset") else []) + cmd


def run_csv(cmd, env=None):
    """Run a benchmark command and return its CSV rows (header skipped) as dicts, and its stderr."""
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
    lines = [l for l in r.stdout.splitlines() if l and not l.startswith("workload,")]
    rows = []
    for line in lines:
        wl, cell, med, lo, hi, gf, rss = line.split(",")[:7]
        rows.append({"workload": wl, "cell": cell, "ms": float(med), "ms_min": float(lo),
                     "ms_max": float(hi), "gflops": float(gf), "rss_mb": float(rss)})
    return rows, r.stderr


MEMORY_RE = re.compile(r"memory (\S+) (\S+): peak ([\d.]+) MiB = ([\d.]+) before the run \+ ([\d.]+) the run; "
                       r"predicted ([\d.]+) = (.*)")
IMPL_RE = re.compile(r"bench_onednn: impl forward (.*); backward (.*)$", re.M)


def rnnbench_memory(stderr):
    """rnnbench bench's memory account (stderr in CSV mode): peak, run and predicted MiB, formula."""
    for line in stderr.splitlines():
        m = MEMORY_RE.match(line.strip())
        if m:
            return {"peak": float(m.group(3)), "run": float(m.group(5)), "predicted": float(m.group(6)),
                    "formula": m.group(7)}
    return None


def onednn_memory(stderr):
    """bench_onednn's workspace (MiB) and plain weights (bytes) from its stderr, as MiB."""
    ws = re.search(r"workspace ([\d.]+) MiB", stderr)
    wt = re.search(r"weights (\d+) bytes", stderr)
    if not ws or not wt:
        return None
    return {"workspace": float(ws.group(1)), "weights": int(wt.group(1)) / 1048576.0}


def onednn_impl(stderr):
    """'forward <impl>, backward <impl>' as bench_onednn reports oneDNN's dispatch, None if absent."""
    m = IMPL_RE.search(stderr)
    return f"forward {m.group(1).strip()}, backward {m.group(2).strip()}" if m else None


def rotated(items, rnd):
    """items in the order round rnd runs them: rotated left by rnd."""
    k = rnd % len(items) if items else 0
    return items[k:] + items[:k]


def paired_ratio_stats(base, peer):
    """Median, min and max over rounds of peer[r] / base[r] (ms per step of the same round r),
    and the number of rounds both have: (median, min, max, n), NaNs when none."""
    ratios = [peer[r] / base[r] for r in sorted(base) if r in peer and base[r] > 0]
    if not ratios:
        nan = float("nan")
        return nan, nan, nan, 0
    return statistics.median(ratios), min(ratios), max(ratios), len(ratios)


def fastest_per_round(*variants):
    """{round: ms} keeping, in each round, the fastest of the variants that ran in it, and
    {round: index of that variant}."""
    best, which = {}, {}
    for i, v in enumerate(variants):
        for r, ms in v.items():
            if r not in best or ms < best[r]:
                best[r], which[r] = ms, i
    return best, which


def fmt_ratio(stats):
    med, lo, hi, n = stats
    if not n:
        return f"{'-':>20}"
    return f"{med:5.2f}x [{lo:.2f}-{hi:.2f}]".rjust(20)


def fmt_ms(ms):
    """ms for a table column of 9, '-' for a program that did not run the case."""
    return f"{'-':>9}" if ms != ms else f"{ms:9.3f}"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=MIN_ROUNDS, help=f"at least {MIN_ROUNDS} (default)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--workloads", default="all", help="comma-separated workloads (default all)")
    ap.add_argument("--skip-grid", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the guard calls the machine busy")
    ap.add_argument("--csv", default=os.path.join(ROOT, "build", "bench.csv"),
                    help="where the CSV goes (default build/bench.csv)")
    ap.add_argument("--calibrations", type=int, default=3,
                    help="calibration loops before and after the rounds (default 3)")
    ap.add_argument("--min-fraction", type=float, default=bench_guard.MIN_FRACTION)
    ap.add_argument("--max-load", type=float, default=bench_guard.MAX_LOAD)
    ap.add_argument("--settle", type=float, default=90.0,
                    help="seconds to wait at most, before the rounds, for the 1-minute load to fall "
                         "to --max-load (default 90; 0: read it once)")
    ap.add_argument("--reference", default=bench_guard.REFERENCE_CSV)
    ap.add_argument("--record-reference", action="store_true",
                    help="when the load was quiet before and after and this CPU has no row yet, add "
                         "the best calibration loop to the reference table")
    args = ap.parse_args(argv)
    if args.rounds < MIN_ROUNDS:
        ap.error(f"--rounds: {args.rounds}, at least {MIN_ROUNDS} are needed for a paired median")
    if args.steps < 1 or args.calibrations < 1:
        ap.error("--steps and --calibrations must be at least 1")
    if not 0 < args.min_fraction <= 1 or args.max_load < 0:
        ap.error("--min-fraction must be in (0, 1] and --max-load at least 0")
    if not args.settle >= 0:
        ap.error(f"--settle: {args.settle}, must be at least 0 (seconds)")
    return args


def main(argv=None):
    args = parse_args(argv)
    rnnbench = os.path.join(ROOT, "bin", "rnnbench")
    onednn = os.path.join(ROOT, "build", "bench_onednn")
    torch_script = os.path.join(ROOT, "scripts", "bench_torch.py")
    one = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    torch_env = {k: v for k, v in one.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    shapes = bench_workloads.load(rnnbench)
    wanted = list(shapes) if args.workloads == "all" else args.workloads.split(",")
    for w in wanted:
        if w not in shapes:
            print(f"bench_compare: --workloads: '{w}' is not one of {', '.join(shapes)}", file=sys.stderr)
            return 2
    cases = [(wl, cell) for wl in wanted for cell in shapes[wl]["cells"]]
    cell_files = {}  # graph cell -> the file that defines it
    for wl, graph, path, native in GRAPH_CASES:
        if wl in wanted:
            cases += [(wl, c) for c in (native, graph) if (wl, c) not in cases]
            cell_files[graph] = os.path.join(ROOT, path)
    cpu = bench_guard.read_cpu_model()
    reference_table = bench_guard.load_reference(args.reference)

    # the guard, before
    load_before, waited = bench_guard.settle_load(bench_guard.read_loadavg, time.sleep, args.max_load, args.settle)
    if waited:
        print(f"guard: waited {waited:.0f} s for the 1-minute load to fall (now {load_before:.2f})", file=sys.stderr)
    cal_before = [bench_guard.calibrate(rnnbench, args.core, env=one) for _ in range(args.calibrations)]
    backend = cal_before[0][1]
    started = time.monotonic()

    times = {}    # (impl, wl, cell) -> {round: median ms}
    gflops = {}   # (impl, wl, cell) -> {round: GFLOP/s}
    rss = {}      # (impl, wl, cell) -> {round: peak MiB}
    notes, memory, impls_seen = {}, {}, {}
    for rnd in range(args.rounds):
        for wl, cell in cases:
            base = [rnnbench, "bench", "--workload", wl, "--cell", cell, "--steps", str(args.steps),
                    "--format", "csv"] + (["--cell-file", cell_files[cell]] if cell in cell_files else [])
            impls = [("rnnbench", pinned(base, args.core), one)]
            if cell in PEER_CELLS:
                impls.append(("rnnbench-layer", pinned(base + ["--layer-only", "--with-dx"], args.core), one))
                impls.append(("pytorch", pinned([args.python, torch_script, "--workload", wl, "--cell", cell,
                                                 "--steps", str(args.steps), "--rnnbench", rnnbench],
                                                args.core), torch_env))
                if os.path.exists(onednn):
                    for variant, extra in (("onednn", []), ("onednn-huge", ["--huge-pages"])):
                        impls.append((variant, pinned([onednn, "--workload", wl, "--cell", cell,
                                                       "--steps", str(args.steps), "--rnnbench", rnnbench]
                                                      + extra, args.core), one))
            for name, cmd, env in rotated(impls, rnd):
                try:
                    rows, err = run_csv(cmd, env)
                except RuntimeError as e:
                    notes[(name, wl, cell)] = str(e)
                    continue
                if len(rows) != 1:
                    notes[(name, wl, cell)] = f"{len(rows)} CSV rows, expected 1"
                    continue
                key = (name, wl, cell)
                times.setdefault(key, {})[rnd] = rows[0]["ms"]
                gflops.setdefault(key, {})[rnd] = rows[0]["gflops"]
                rss.setdefault(key, {})[rnd] = rows[0]["rss_mb"]
                mem = {"rnnbench": rnnbench_memory, "onednn": onednn_memory,
                       "onednn-huge": onednn_memory}.get(name, lambda e: None)(err)
                if mem:
                    memory[key] = mem
                impl = onednn_impl(err) if name.startswith("onednn") else None
                if impl:
                    impls_seen[key] = impl
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)

    # the guard, after
    elapsed = time.monotonic() - started
    cal_after = [bench_guard.calibrate(rnnbench, args.core, env=one)[0] for _ in range(args.calibrations)]
    load_after = bench_guard.read_loadavg()
    ref_key = (cpu, backend, "float", bench_guard.CAL_SIZE)
    ref = reference_table.get(ref_key)
    verdict = bench_guard.judge([c for c, _ in cal_before], cal_after, load_before, load_after, elapsed,
                                reference=ref[0] if ref else None, reference_date=ref[1] if ref else "",
                                min_fraction=args.min_fraction, max_load=args.max_load)
    measured_ceiling = max([c for c, _ in cal_before] + cal_after)

    def med(name, wl, cell, table=times):
        v = table.get((name, wl, cell))
        return statistics.median(v.values()) if v else float("nan")

    print(verdict.headline())
    print(f"CPU: {cpu} (from /proc/cpuinfo). One training step, one core (pinned to core {args.core}), "
          f"{args.rounds} rounds of {args.steps} steps, order rotated each round. rnnbench GEMM backend "
          f"{backend}, best calibration {measured_ceiling:.0f} GFLOP/s ({bench_guard.CAL_SIZE}^3).")
    print("Asymmetries. oneDNN times the recurrent layer alone: forward + backward including dL/dx "
          "(its API cannot skip it), no readout, no loss, no update, and not the weight reorders an "
          "update would need. rnnbench and PyTorch time the whole training step (layer, readout, "
          "loss, backward, SGD update); rnnbench skips dL/dx, which training never reads. 'layer' is "
          "rnnbench --layer-only --with-dx: oneDNN's work exactly (the layer's forward and backward "
          "with dL/dx under a fixed upstream gradient, no readout, loss or update). GFLOP/s count "
          "only the products that run.")
    print("Ratios: the median over rounds of the peer's ms over rnnbench's in the same round, "
          "[min-max] over rounds; above 1, rnnbench is faster. oneDNN: in each round the faster of "
          "its own allocation and 2 MiB pages.")
    print(f"{'wl':3} {'cell':10} {'rnnbench ms':>11} {'GFLOP/s':>8} {'%ceil':>6} {'layer ms':>9} "
          f"{'torch ms':>9} {'oneDNN ms':>9} {'vs torch':>20} {'vs oneDNN':>20} {'layer vs oneDNN':>20}")
    csv_rows = []
    guard_cols = {"verdict": "quiet" if verdict.quiet else "busy", "guard_note": "; ".join(verdict.reasons),
                  "cpu_model": cpu, "backend": backend, "ceiling_reference": f"{verdict.reference:.1f}",
                  "reference_source": verdict.reference_source,
                  "ceiling_before": f"{verdict.ceiling_before:.1f}",
                  "ceiling_after": f"{verdict.ceiling_after:.1f}", "load_before": f"{verdict.load_before:.2f}",
                  "load_after": f"{verdict.load_after:.2f}", "rounds": args.rounds}
    for wl, cell in cases:
        r = times.get(("rnnbench", wl, cell), {})
        rdx = times.get(("rnnbench-layer", wl, cell), {})
        t = times.get(("pytorch", wl, cell), {})
        o, which = fastest_per_round(times.get(("onednn", wl, cell), {}),
                                     times.get(("onednn-huge", wl, cell), {}))
        vs_t, vs_o, dx_vs_o = paired_ratio_stats(r, t), paired_ratio_stats(r, o), paired_ratio_stats(rdx, o)
        r_ms, r_gf = med("rnnbench", wl, cell), med("rnnbench", wl, cell, gflops)
        o_ms = statistics.median(o.values()) if o else float("nan")
        print(f"{wl:3} {cell:10} {r_ms:11.3f} {r_gf:8.1f} {100 * r_gf / measured_ceiling:5.0f}% "
              f"{fmt_ms(med('rnnbench-layer', wl, cell))} {fmt_ms(med('pytorch', wl, cell))} {fmt_ms(o_ms)} "
              f"{fmt_ratio(vs_t)} {fmt_ratio(vs_o)} {fmt_ratio(dx_vs_o)}"
              + (f"  (oneDNN on 2 MiB pages in {sum(which.values())}/{len(which)} rounds)"
                 if which and any(which.values()) else ""))
        impl = impls_seen.get(("onednn", wl, cell)) or impls_seen.get(("onednn-huge", wl, cell)) or ""
        pairs = [("step", "rnnbench", "none", {}, None)]
        if cell in PEER_CELLS:
            pairs = [("step", "rnnbench", "pytorch", t, vs_t), ("step", "rnnbench", "onednn", o, vs_o),
                     ("layer+dx", "rnnbench-layer", "onednn", o, dx_vs_o)]
        for variant, impl_name, peer, peer_times, stats in pairs:
            stats = stats or (float("nan"),) * 3 + (0,)
            csv_rows.append(dict(guard_cols, workload=wl, cell=cell, rnnbench=variant,
                                 rnnbench_ms=f"{med(impl_name, wl, cell):.4f}",
                                 rnnbench_gflops=f"{med(impl_name, wl, cell, gflops):.2f}", peer=peer,
                                 peer_ms=f"{statistics.median(peer_times.values()):.4f}" if peer_times else "",
                                 ratio_median=f"{stats[0]:.4f}", ratio_min=f"{stats[1]:.4f}",
                                 ratio_max=f"{stats[2]:.4f}", onednn_impl=impl if peer == "onednn" else ""))
    if "W4" in wanted and times.get(("rnnbench", "W4", "lstm")):
        w4 = shapes["W4"]
        print(f"W4 is one JSB sequence per step (T={w4['T']}, B={w4['B']}); an epoch of JSB "
              f"({JSB_SEQUENCES} sequences) at this speed: rnnbench "
              f"{JSB_SEQUENCES * med('rnnbench', 'W4', 'lstm') / 1e3:.2f} s, PyTorch "
              f"{JSB_SEQUENCES * med('pytorch', 'W4', 'lstm') / 1e3:.2f} s.")
    for wl, graph, path, native in GRAPH_CASES:
        if (wl, graph) in cases:
            stats = paired_ratio_stats(times.get(("rnnbench", wl, native), {}),
                                       times.get(("rnnbench", wl, graph), {}))
            print(f"{wl} {graph} ({path}, written as equations) against the native {native}: "
                  f"{fmt_ms(med('rnnbench', wl, graph))} ms against {fmt_ms(med('rnnbench', wl, native))} ms, "
                  f"time ratio {fmt_ratio(stats)} (target: at most 1.5)")
    print("oneDNN dispatch (dnnl_query_impl_info_str per primitive):")
    for wl, cell in cases:
        impl = impls_seen.get(("onednn", wl, cell)) or impls_seen.get(("onednn-huge", wl, cell))
        if impl:
            print(f"  {wl} {cell}: {impl}")

    print()
    print("Memory, MiB. rnnbench: the process's peak resident memory, the run's share of it (peak "
          "minus what the process held before the run allocated: libraries), and the run's share "
          "predicted from the shapes. oneDNN: its peak, and its workspace + weights.")
    print(f"{'wl':3} {'cell':10} {'peak':>7} {'run':>7} {'predict':>7} {'oneDNN peak':>11} "
          f"{'ws+weights':>10} {'run/(ws+w)':>10} {'peak/peak':>9}")
    for wl, cell in cases:
        r = memory.get(("rnnbench", wl, cell))
        if not r:
            continue
        line = f"{wl:3} {cell:10} {r['peak']:7.1f} {r['run']:7.1f} {r['predicted']:7.1f}"
        o = memory.get(("onednn", wl, cell)) or memory.get(("onednn-huge", wl, cell))
        if o:
            o_peak = med("onednn", wl, cell, rss)
            ws = o["workspace"] + o["weights"]
            line += f" {o_peak:11.1f} {ws:10.1f} {r['run'] / ws:10.2f} {r['peak'] / o_peak:9.2f}"
        print(line)
    for (impl, wl, cell), r in sorted(memory.items()):
        if impl == "rnnbench" and wl in ("W2", "W3"):
            print(f"predicted {wl} {cell}: {r['predicted']:.1f} MiB = {r['formula']}")
    for k, v in notes.items():
        print(f"note: {k}: {v}")

    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(csv_rows)
    print(f"CSV: {args.csv}")

    if args.record_reference and ref is None:
        load_quiet = not any(reason.startswith("load") for reason in verdict.reasons)
        if load_quiet:
            bench_guard.append_reference(args.reference, cpu, backend, "float", bench_guard.CAL_SIZE,
                                         measured_ceiling, datetime.date.today().isoformat(),
                                         f"best of {2 * args.calibrations} calibration loops of make bench, "
                                         f"load {verdict.load_before:.2f} / {verdict.load_after:.2f}")
            print(f"reference: {cpu} {measured_ceiling:.1f} GFLOP/s added to {args.reference}")
        else:
            print("reference: not recorded, the load was not quiet", file=sys.stderr)

    if not args.skip_grid:
        exp = os.path.join(ROOT, "experiments", "grid16.ini")
        grid_times = {}
        for j in (1, os.cpu_count() or 1):
            out = os.path.join(ROOT, "build", f"bench-grid-j{j}.h5")
            if os.path.exists(out):
                os.remove(out)
            t0 = time.time()
            subprocess.run([rnnbench, "run", exp, "-o", out, "-j", str(j), "--quiet", "--force"],
                           check=True, stdout=subprocess.DEVNULL, env=dict(os.environ))
            grid_times[j] = time.time() - t0
        n = max(grid_times)
        print(f"grid (experiments/grid16.ini, 16 W1 lstm runs of 200 steps): -j 1 {grid_times[1]:.1f} s, "
              f"-j {n} {grid_times[n]:.1f} s, parallel efficiency "
              f"{grid_times[1] / (n * grid_times[n]) * 100:.0f}%")

    if args.strict and not verdict.quiet:
        print("bench_compare: --strict: the guard called the machine busy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, ValueError, OSError) as e:  # a failed calibration, a bad reference table
        print(f"bench_compare: {e}", file=sys.stderr)
        sys.exit(1)
