"""The benchmark workloads are defined once (harness/bench_workloads.c) and read by every program
of `make bench` from `rnnbench bench --list-workloads`: the listing's format, that `--help` shows the
same shapes, and that the PyTorch peer takes its workload names from it."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_workloads  # noqa: E402


def test_listing_parses_into_every_workload_with_its_cells():
    workloads = bench_workloads.load(RNNBENCH)
    assert list(workloads) == ["W1", "W2", "W3", "W4"]
    for name, w in workloads.items():
        assert min(w["T"], w["X"], w["H"], w["B"], w["Y"]) >= 1, name
        assert w["cells"] and all(w["cells"]), name
    assert workloads["W1"]["last_step_only"] and not workloads["W2"]["last_step_only"]
    assert [w["loss"] for w in workloads.values()] == ["mse-last", "xent-all", "xent-all", "bce-all"]


def test_w4_is_greffs_online_training_on_the_jsb_shape():
    """88 piano keys in, 100 hidden units, one sequence of 60 steps per update, 88 sigmoid
    outputs scored with binary cross-entropy at every step: matrix-vector work."""
    w4 = bench_workloads.load(RNNBENCH)["W4"]
    assert (w4["T"], w4["X"], w4["H"], w4["B"], w4["Y"]) == (60, 88, 100, 1, 88)
    assert w4["loss"] == "bce-all" and not w4["last_step_only"] and "lstm" in w4["cells"]


def test_help_shows_the_listed_shapes():
    workloads = bench_workloads.load(RNNBENCH)
    help_text = subprocess.run([RNNBENCH, "bench", "--help"], capture_output=True, text=True).stdout
    shown = re.findall(r"^  (W\d): T=(\d+), input (\d+), hidden (\d+), batch (\d+), .*\(cells (\S+)\)$",
                       help_text, re.M)
    assert [(n, int(T), int(X), int(H), int(B), cells) for n, T, X, H, B, cells in shown] == [
        (n, w["T"], w["X"], w["H"], w["B"], ",".join(w["cells"])) for n, w in workloads.items()]


def test_a_bad_listing_is_refused():
    for text in ["", "W1 100 2 64 32 1 mse-last lstm\n",
                 "workload T X H B Y loss cells\nW1 100 2 64 32 1 huber lstm\n"]:
        try:
            bench_workloads.parse(text)
        except ValueError:
            continue
        raise AssertionError(f"accepted: {text!r}")


def test_torch_peer_knows_only_the_listed_workloads():
    """Refused before torch is loaded, so this runs without importing torch."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_torch.py"),
                        "--workload", "W9", "--cell", "lstm", "--rnnbench", RNNBENCH],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "'W9' is not one of W1, W2, W3, W4" in r.stderr, r.stderr
