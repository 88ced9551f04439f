"""PyTorch peer of `rnnbench bench`: one training step of the same workloads on one thread.

One timed step is: optimizer.zero_grad() (gradients zeroed in place, as rnnbench does), the
forward of nn.RNN (tanh) / nn.LSTM / nn.GRU (one layer, batch_first=False, zero initial state)
over the whole sequence, the nn.Linear readout, the loss (MSE on the last step for W1,
cross-entropy on every step for W2 and W3, binary cross-entropy of Y sigmoid outputs on every
step for W4: F.binary_cross_entropy_with_logits, the mean over steps and outputs as rnnbench's
bce), backward through time, and a plain
torch.optim.SGD step (lr 0.01). The data are generated once, before any step; a few untimed
warm-up steps come first. PyTorch's GRU is the reset-after form, i.e. rnnbench's gru-ra.

It is single-threaded by construction: OPENBLAS_NUM_THREADS and OMP_NUM_THREADS must be 1 (they
are set to 1 before torch is imported when absent; any other value is an error, exit 2), and
torch.set_num_threads(1) is called. It does not set OPENBLAS_CORETYPE: the OpenBLAS core in use
is printed on stderr, since it decides the speed of every matrix product here.

Output: one CSV line on stdout, `workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb`: ms per
step over the timed steps, GFLOP/s of the matrix products autograd runs (see step_flops) at the median time, and the peak resident set (VmHWM) in MiB, which
includes the Python interpreter and the torch libraries. Configuration, BLAS core and thread
count go to stderr.

The shapes of the workloads come from `rnnbench bench --list-workloads` (bin/rnnbench, or
--rnnbench PATH), so this script and rnnbench always time the same shapes.

Example:
    taskset -c 1 /usr/bin/python3 scripts/bench_torch.py --workload W2 --cell lstm --steps 30 --warmup 5
"""
import argparse
import ctypes
import os
import resource
import statistics
import sys
import time

import bench_workloads  # the workloads' shapes, from `rnnbench bench --list-workloads`

# cell name -> (torch.nn class name, gate blocks G)
CELLS = {"rnn": ("RNN", 1), "lstm": ("LSTM", 4), "gru-ra": ("GRU", 3)}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
LR = 0.01


def require_single_thread_env():
    """Set the thread variables to 1 when absent; exit 2 when one asks for more threads.

    Must run before torch (and with it OpenBLAS and libgomp) is loaded: both read the
    environment once, at load time.
    """
    if "torch" in sys.modules:
        sys.exit("bench_torch: torch was imported before the thread variables were checked")
    for var in THREAD_VARS:
        value = os.environ.get(var)
        if value is None:
            os.environ[var] = "1"
        elif value.strip() != "1":
            print(f"bench_torch: {var}={value}, but this benchmark is single-threaded: "
                  f"unset it or set it to 1", file=sys.stderr)
            sys.exit(2)


def step_flops(wl, n_gates):
    """Matrix-product flops of one step, counting the products autograd runs: the layer's
    forward 2 T B (X+H) G H, its backward the weight gradients (as much again) and dL/dh_{t-1}
    (2 T B H G H; x does not require a gradient, so dL/dx is not computed); the readout 2 R H Y
    forward and twice that backward (R rows scored)."""
    T, B, X, H, Y = wl["T"], wl["B"], wl["X"], wl["H"], wl["Y"]
    rows = B if wl["last_step_only"] else T * B
    layer = 2.0 * T * B * (X + H) * n_gates * H
    recurrent = 2.0 * T * B * H * n_gates * H
    readout = 2.0 * rows * H * Y
    return 2 * layer + recurrent + 3 * readout


def proc_status_field(key):
    """An integer field of /proc/self/status ("VmHWM", "Threads"), None if unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mib():
    """Peak resident set in MiB: VmHWM as the C peers read it, else ru_maxrss (KiB on Linux)."""
    kib = proc_status_field("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0


def openblas_info():
    """(core name, threads) of the OpenBLAS loaded in this process, or None if there is none."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "openblas" in line and ".so" in line})
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode(), lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            continue
    return None


def make_batch(torch, wl, generator):
    """One fixed batch: x uniform in [-1, 1) of shape (T,B,X); targets (B,Y) in [0, 1) for the
    last-step MSE, (T,B,Y) notes on (1) or off (0), a quarter on, for BCE, else class indices
    (T,B)."""
    T, B, X, Y = wl["T"], wl["B"], wl["X"], wl["Y"]
    x = torch.rand(T, B, X, generator=generator) * 2 - 1
    if wl["last_step_only"]:
        target = torch.rand(B, Y, generator=generator)
    elif wl.get("loss") == "bce-all":
        target = (torch.rand(T, B, Y, generator=generator) < 0.25).float()
    else:
        target = torch.randint(Y, (T, B), generator=generator)
    return x, target


def bench(wl, cell, steps, warmup):
    """Time `steps` training steps after `warmup` untimed ones; returns (times_s, n_gates)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(1)
    class_name, n_gates = CELLS[cell]
    T, B, X, H, Y = wl["T"], wl["B"], wl["X"], wl["H"], wl["Y"]
    rnn = getattr(nn, class_name)(X, H, num_layers=1, batch_first=False)
    readout = nn.Linear(H, Y)
    params = list(rnn.parameters()) + list(readout.parameters())
    optimizer = torch.optim.SGD(params, lr=LR)
    x, target = make_batch(torch, wl, torch.Generator().manual_seed(2))

    def train_step():
        optimizer.zero_grad(set_to_none=False)
        h, _ = rnn(x)                                   # (T,B,H)
        if wl["last_step_only"]:
            loss = F.mse_loss(readout(h[-1]), target)   # (B,Y) against (B,Y)
        elif wl.get("loss") == "bce-all":
            loss = F.binary_cross_entropy_with_logits(readout(h), target)  # (T,B,Y)
        else:
            logits = readout(h.reshape(T * B, H))       # (T*B,Y)
            loss = F.cross_entropy(logits, target.reshape(T * B))
        loss.backward()
        optimizer.step()
        return loss

    times = []
    for s in range(-warmup, steps):
        t0 = time.perf_counter()
        loss = train_step()
        dt = time.perf_counter() - t0
        if s >= 0:
            times.append(dt)
    if not torch.isfinite(loss):
        print(f"bench_torch: loss is {loss.item()}", file=sys.stderr)
        sys.exit(1)
    return times, n_gates, loss.item()


def main():
    parser = argparse.ArgumentParser(
        description="Time one training step of nn.RNN/LSTM/GRU + nn.Linear + SGD on one thread; "
                    "prints workload,cell,ms_median,ms_min,ms_max,gflops,peak_rss_mb.",
        epilog="Example: taskset -c 1 /usr/bin/python3 scripts/bench_torch.py --workload W1 --cell lstm")
    parser.add_argument("--workload", required=True, help="a workload of rnnbench bench --list-workloads")
    parser.add_argument("--cell", required=True, choices=list(CELLS))
    parser.add_argument("--steps", type=int, default=30, help="timed steps (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--rnnbench", default=bench_workloads.DEFAULT_RNNBENCH,
                        help="the rnnbench binary whose workloads to run (default bin/rnnbench)")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup at least 0")
    # read before torch is loaded: the listing runs rnnbench in a child process
    workloads = bench_workloads.load(args.rnnbench)
    if args.workload not in workloads:
        parser.error(f"--workload: '{args.workload}' is not one of {', '.join(workloads)}")

    require_single_thread_env()
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if torch.get_num_threads() != 1:
        print(f"bench_torch: torch.get_num_threads() is {torch.get_num_threads()}", file=sys.stderr)
        return 1

    wl = workloads[args.workload]
    times, n_gates, last_loss = bench(wl, args.cell, args.steps, args.warmup)
    median = statistics.median(times)
    gflops = step_flops(wl, n_gates) / median * 1e-9
    rss = peak_rss_mib()

    blas = openblas_info()
    blas_text = f"OpenBLAS core {blas[0]}, {blas[1]} thread(s)" if blas else "no OpenBLAS loaded"
    threads = proc_status_field("Threads")
    print(f"bench_torch: torch {torch.__version__}, {blas_text}, OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          + ", ".join(f"{v}={os.environ[v]}" for v in THREAD_VARS)
          + f", torch threads {torch.get_num_threads()}", file=sys.stderr)
    print(f"bench_torch: {args.workload} {args.cell}: T={wl['T']} X={wl['X']} H={wl['H']} "
          f"B={wl['B']} Y={wl['Y']} G={n_gates}, "
          f"{ {'mse-last': 'MSE at the last step', 'bce-all': 'BCE of sigmoid outputs at every step'}.get(wl.get('loss'), 'cross-entropy at every step')}, "
          f"SGD lr {LR}, {args.warmup} warm-up + {args.steps} timed steps; last loss {last_loss:.6g}; "
          f"threads in process: {threads}", file=sys.stderr)
    if blas and blas[1] != 1:
        print(f"bench_torch: OpenBLAS runs {blas[1]} threads, expected 1", file=sys.stderr)
        return 1
    if threads is not None and threads != 1:
        print(f"bench_torch: the process ran {threads} threads, expected 1", file=sys.stderr)
        return 1
    print(f"{args.workload},{args.cell},{median * 1e3:.4f},{min(times) * 1e3:.4f},"
          f"{max(times) * 1e3:.4f},{gflops:.2f},{rss:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
