#!/usr/bin/env python3
"""Run rnnbench's benchmark beside PyTorch and oneDNN's fused RNN primitive, interleaved.

`make bench` calls this. For each round, every (workload, cell) is timed by each
implementation in turn (A, B, C, A, B, C, ...), each process pinned to the same core,
so that machine noise hits all alike; the workloads and their cells are those
`rnnbench bench --list-workloads` prints, which every program reads. The table reports,
per workload and cell, the median over rounds of each one's median ms per training step and the ratios.
PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment
(its best kernels); rnnbench and oneDNN run with the environment as it is.

Example:
    /usr/bin/python3 scripts/bench_compare.py --rounds 3 --steps 20
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_workloads  # noqa: E402  (the workloads' shapes, from rnnbench itself)

PEER_CELLS = {"rnn", "lstm", "gru-ra"}


def pinned(cmd, core):
    """The command pinned to one core when taskset exists."""
    return (["taskset", "-c", str(core)] if shutil.which("taskset") else []) + cmd


def run_csv(cmd, env=None):
    """Run a benchmark command and return its CSV rows (header skipped) as dicts."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--skip-grid", action="store_true")
    args = ap.parse_args()

    rnnbench = os.path.join(ROOT, "bin", "rnnbench")
    onednn = os.path.join(ROOT, "build", "bench_onednn")
    torch_script = os.path.join(ROOT, "scripts", "bench_torch.py")
    one = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    torch_env = {k: v for k, v in one.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    # every workload with its default cells, in the order rnnbench lists them
    cases = [(wl, cell) for wl, shape in bench_workloads.load(rnnbench).items() for cell in shape["cells"]]

    results = {}  # (impl, wl, cell) -> list of rows
    notes = {}
    memory = {}  # (impl, wl, cell) -> memory account of the last round
    for rnd in range(args.rounds):
        for wl, cell in cases:
            impls = [("rnnbench", pinned([rnnbench, "bench", "--workload", wl, "--cell", cell,
                                          "--steps", str(args.steps), "--format", "csv"], args.core), one)]
            if cell in PEER_CELLS:
                impls.append(("pytorch", pinned([args.python, torch_script, "--workload", wl, "--cell", cell,
                                                 "--steps", str(args.steps), "--rnnbench", rnnbench],
                                                args.core), torch_env))
                if os.path.exists(onednn):
                    # oneDNN as the library allocates, and on 2 MiB pages as rnnbench's
                    # cache is: the table keeps whichever was faster (its best)
                    for variant, extra in (("onednn", []), ("onednn-huge", ["--huge-pages"])):
                        impls.append((variant, pinned([onednn, "--workload", wl, "--cell", cell,
                                                       "--steps", str(args.steps), "--rnnbench", rnnbench]
                                                      + extra, args.core), one))
            for name, cmd, env in impls:
                try:
                    rows, err = run_csv(cmd, env)
                except RuntimeError as e:
                    notes[(name, wl, cell)] = str(e)
                    continue
                results.setdefault((name, wl, cell), []).extend(rows)
                mem = {"rnnbench": rnnbench_memory, "onednn": onednn_memory,
                       "onednn-huge": onednn_memory}.get(name, lambda e: None)(err)
                if mem:
                    memory[(name, wl, cell)] = mem
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)

    ceiling_rows = subprocess.run(pinned([rnnbench, "bench", "--gemm", "--format", "csv"], args.core),
                                  capture_output=True, text=True, env=one).stdout.splitlines()
    backend, _, ceiling = ceiling_rows[-1].split(",")
    ceiling = float(ceiling)

    def med(name, wl, cell, key="ms"):
        rows = results.get((name, wl, cell))
        return statistics.median(r[key] for r in rows) if rows else float("nan")

    # oneDNN at its best: per case, the faster of its two allocations
    onednn_pick = {}
    for wl, cell in cases:
        plain, huge = med("onednn", wl, cell), med("onednn-huge", wl, cell)
        onednn_pick[(wl, cell)] = "onednn-huge" if huge < plain else "onednn"

    print(f"One training step, one core (pinned to core {args.core}), median of {args.rounds} "
          f"interleaved rounds of {args.steps} steps each. rnnbench GEMM backend: {backend}, "
          f"measured single-core ceiling {ceiling:.0f} GFLOP/s.")
    print("oneDNN times the recurrent layer only (no readout, no update); PyTorch and rnnbench "
          "the whole step. oneDNN ran with its own allocation and with its buffers on 2 MiB pages "
          "(as rnnbench's cache is); each row shows the faster.")
    hdr = (f"{'wl':3} {'cell':10} {'rnnbench ms':>11} {'GFLOP/s':>8} {'%ceil':>6} {'MB':>6} "
           f"{'torch ms':>9} {'MB':>6} {'oneDNN ms':>9} {'MB':>6} {'vs torch':>8} {'vs oneDNN':>9}")
    print(hdr)
    for wl, cell in cases:
        r_ms, r_gf = med("rnnbench", wl, cell), med("rnnbench", wl, cell, "gflops")
        pick = onednn_pick[(wl, cell)]
        t_ms, o_ms = med("pytorch", wl, cell), med(pick, wl, cell)
        print(f"{wl:3} {cell:10} {r_ms:11.3f} {r_gf:8.1f} {100 * r_gf / ceiling:5.0f}% "
              f"{med('rnnbench', wl, cell, 'rss_mb'):6.0f} {t_ms:9.3f} {med('pytorch', wl, cell, 'rss_mb'):6.0f} "
              f"{o_ms:9.3f} {med(pick, wl, cell, 'rss_mb'):6.0f} {t_ms / r_ms:7.2f}x {o_ms / r_ms:8.2f}x"
              f"{'  (oneDNN on 2 MiB pages)' if pick == 'onednn-huge' else ''}")
    print("vs torch / vs oneDNN: their time over rnnbench's (above 1: rnnbench is faster).")

    print()
    print("Memory, MiB. rnnbench: the process's peak resident memory, the run's share of it (peak "
          "minus what the process held before the run allocated: libraries), and the run's share "
          "predicted from the shapes. oneDNN: its peak, and its workspace + weights.")
    print(f"{'wl':3} {'cell':10} {'peak':>7} {'run':>7} {'predict':>7} {'oneDNN peak':>11} "
          f"{'ws+weights':>10} {'run/(ws+w)':>10} {'peak/peak':>9}")
    for wl, cell in cases:
        r, o = memory.get(("rnnbench", wl, cell)), memory.get((onednn_pick[(wl, cell)], wl, cell))
        if not r:
            continue
        line = f"{wl:3} {cell:10} {r['peak']:7.1f} {r['run']:7.1f} {r['predicted']:7.1f}"
        if o:
            o_peak = med(onednn_pick[(wl, cell)], wl, cell, "rss_mb")
            ws = o["workspace"] + o["weights"]
            line += (f" {o_peak:11.1f} {ws:10.1f} {r['run'] / ws:10.2f} {r['peak'] / o_peak:9.2f}")
        print(line)
    for (impl, wl, cell), r in sorted(memory.items()):
        if impl == "rnnbench" and wl in ("W2", "W3"):
            print(f"predicted {wl} {cell}: {r['predicted']:.1f} MiB = {r['formula']}")
    for k, v in notes.items():
        print(f"note: {k}: {v}")

    if not args.skip_grid:
        exp = os.path.join(ROOT, "experiments", "grid16.ini")
        times = {}
        for j in (1, os.cpu_count() or 1):
            out = os.path.join(ROOT, "build", f"bench-grid-j{j}.h5")
            for p in (out,):
                if os.path.exists(p):
                    os.remove(p)
            t0 = time.time()
            subprocess.run([rnnbench, "run", exp, "-o", out, "-j", str(j), "--quiet", "--force"],
                           check=True, stdout=subprocess.DEVNULL, env=dict(os.environ))
            times[j] = time.time() - t0
        n = max(times)
        print(f"grid (experiments/grid16.ini, 16 W1 lstm runs of 200 steps): -j 1 {times[1]:.1f} s, "
              f"-j {n} {times[n]:.1f} s, parallel efficiency {times[1] / (n * times[n]) * 100:.0f}%")


if __name__ == "__main__":
    main()
