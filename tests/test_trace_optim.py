"""Training's update rules against torch.optim, through `rnnbench trace --updates K`.

`trace --updates K` replays K updates of training on the trace's batch with the functions
`train` uses (harness/train.c: train_gradient, train_apply): Gaussian input noise drawn afresh
for each update, forward and backward, clipping, the optimiser's step. The trace stores the inputs
each update saw (updates/x) and the parameters after the last one (updates/params/<name>).
Here PyTorch repeats the same K updates from the trace's initial parameters on those inputs, with
torch.nn.LSTM and torch.optim, and the parameters must agree to 1e-10 (double build) relative to
the largest entry of each tensor.

What is covered, in the forms where rnnbench and PyTorch agree:
- Greff et al.'s protocol: SGD with Nesterov momentum, lr scaled by (1 - momentum)
  (torch.optim.SGD(nesterov=True) at lr x (1 - momentum)), plain momentum, plain SGD;
- Adam with a negligible epsilon: rnnbench adds epsilon to sqrt(v) before the bias correction
  (Kingma & Ba's "efficient" form), PyTorch to sqrt(v_hat) after it; with eps = 1e-30 the two
  are the same update to rounding;
- clipping by the global norm: rnnbench scales by clip / norm when norm > clip; torch's
  clip_grad_norm_ divides by norm + 1e-6, so the test clips in rnnbench's form by hand;
- the input noise: zero noise leaves the inputs exact; otherwise every update draws new noise,
  with mean 0 and the stated standard deviation.

Run: /usr/bin/python3 -m pytest -q tests/test_trace_optim.py
"""
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
DOUBLE = ROOT / "bin" / "rnnbench-double"
H, X, Y, T, B = 5, 3, 4, 9, 2
TOLERANCE = 1e-10


def trace_updates(tmp_path, updates, *options, cell="lstm", seed=3, dims=(H, X, Y, T, B)):
    """Run `rnnbench-double trace --updates` and return (initial params, x, target, mask, updates)."""
    h, x, y, t, b = dims
    out = tmp_path / "trace.h5"
    cmd = [str(DOUBLE), "trace", "--cell", cell, "--hidden", str(h), "--input", str(x),
           "--output", str(y), "--steps", str(t), "--batch", str(b), "--loss", "bce_sum",
           "--seed", str(seed), "--updates", str(updates), *map(str, options), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        params = {k: f["params"][k][()] for k in f["params"]}
        final = {k: f["updates/params"][k][()] for k in f["updates/params"]}
        upd = {"x": f["updates/x"][()], "loss": f["updates/loss"][()], "final": final,
               "attrs": dict(f["updates"].attrs)}
        return params, f["x"][()], f["target"][()], f["mask"][()], upd


def bce_sum_loss(logits, target, mask):
    """Binary cross-entropy summed over the outputs, averaged over the rows the mask keeps."""
    per_row = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="none").sum(-1)
    return (mask * per_row).sum() / mask.sum()


def torch_model(params):
    """torch.nn.LSTM + Linear readout holding the trace's parameters (the single bias in bias_ih)."""
    lstm = torch.nn.LSTM(X, H).double()
    readout = torch.nn.Linear(H, Y).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(params["weight_ih"]))
        lstm.weight_hh_l0.copy_(torch.tensor(params["weight_hh"]))
        lstm.bias_ih_l0.copy_(torch.tensor(params["bias"]))
        lstm.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor(params["readout.weight"]))
        readout.bias.copy_(torch.tensor(params["readout.bias"]))
    lstm.bias_hh_l0.requires_grad_(False)
    named = {"weight_ih": lstm.weight_ih_l0, "weight_hh": lstm.weight_hh_l0,
             "bias": lstm.bias_ih_l0, "readout.weight": readout.weight,
             "readout.bias": readout.bias}
    return lstm, readout, named


def torch_replay(params, xs, target, mask, make_optimizer, clip=0.0, sum_over_time=False):
    """The K updates in PyTorch on the inputs rnnbench saw; return (losses, final params).

    sum_over_time: the gradient of the loss summed over each sequence's steps and averaged over
    the sequences (Greff et al.'s PyLSTM), the recorded loss still the per-step mean."""
    lstm, readout, named = torch_model(params)
    optimizer = make_optimizer(list(named.values()))
    target_t, mask_t = torch.tensor(target), torch.tensor(mask)
    losses = []
    for x in xs:
        optimizer.zero_grad()
        h_seq, _ = lstm(torch.tensor(x))
        loss = bce_sum_loss(readout(h_seq), target_t, mask_t)
        trained = loss * mask_t.sum() / mask_t.shape[1] if sum_over_time else loss
        trained.backward()
        losses.append(loss.item())
        if clip > 0:
            # rnnbench's form: scale by clip / norm when the global norm exceeds clip
            norm = torch.sqrt(sum((p.grad ** 2).sum() for p in named.values()))
            if norm > clip:
                for p in named.values():
                    p.grad.mul_(clip / norm)
        optimizer.step()
    return np.array(losses), {k: v.detach().numpy() for k, v in named.items()}


def assert_same_params(ours, theirs, label):
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    for name, ref in theirs.items():
        err = np.max(np.abs(ours[name] - ref)) / max(np.max(np.abs(ref)), 1e-300)
        assert err <= TOLERANCE, f"{label}: {name} differs by {err:.3g} (relative to its largest entry)"


requires_double = pytest.mark.skipif(not DOUBLE.exists(), reason="build with `make double`")

SGD_CASES = {
    # Greff et al.'s protocol: Nesterov momentum, lr x (1 - momentum), input noise
    "greff": (("--optimizer", "sgd", "--lr", "0.3", "--momentum", "0.9", "--nesterov",
               "--lr-scale-momentum", "--input-noise", "0.4", "--clip", "0"),
              lambda ps: torch.optim.SGD(ps, lr=0.3 * (1 - 0.9), momentum=0.9, nesterov=True), 0.0),
    "nesterov-unscaled": (("--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.7", "--nesterov",
                           "--clip", "0"),
                          lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7, nesterov=True), 0.0),
    "momentum": (("--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.7", "--clip", "0"),
                 lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7), 0.0),
    "plain-clipped": (("--optimizer", "sgd", "--lr", "0.5", "--clip", "0.05"),
                      lambda ps: torch.optim.SGD(ps, lr=0.5), 0.05),
    "adam": (("--optimizer", "adam", "--lr", "0.01", "--beta1", "0.8", "--beta2", "0.95",
              "--adam-eps", "1e-30", "--clip", "0"),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-30), 0.0),
}


@requires_double
@pytest.mark.parametrize("case", sorted(SGD_CASES))
def test_updates_match_torch_optim(tmp_path, case):
    options, make_optimizer, clip = SGD_CASES[case]
    params, _x, target, mask, upd = trace_updates(tmp_path, 6, *options)
    losses, final = torch_replay(params, upd["x"], target, mask, make_optimizer, clip)
    np.testing.assert_allclose(upd["loss"], losses, rtol=1e-11, err_msg=f"{case}: losses")
    assert_same_params(upd["final"], final, case)
    # the updates moved the parameters (a test of nothing would pass here too)
    moved = max(np.max(np.abs(upd["final"][k] - params[k])) for k in params)
    assert moved > 1e-4, f"{case}: parameters moved by only {moved:.3g}"


@requires_double
def test_sum_over_time_trains_on_the_per_sequence_sum(tmp_path):
    """Greff et al.'s loss scale: summed over a sequence's steps, mean over sequences."""
    options = ("--optimizer", "sgd", "--lr", "0.002", "--momentum", "0.9", "--nesterov",
               "--lr-scale-momentum", "--sum-over-time", "--clip", "0")
    params, _x, target, mask, upd = trace_updates(tmp_path, 5, *options)
    make = lambda ps: torch.optim.SGD(ps, lr=0.002 * 0.1, momentum=0.9, nesterov=True)
    losses, final = torch_replay(params, upd["x"], target, mask, make, sum_over_time=True)
    np.testing.assert_allclose(upd["loss"], losses, rtol=1e-11)
    assert_same_params(upd["final"], final, "sum_over_time")
    _, per_step = torch_replay(params, upd["x"], target, mask, make)
    worst = max(np.max(np.abs(upd["final"][k] - per_step[k])) for k in per_step)
    assert worst > 1e-4, f"summing over time made no difference ({worst:.3g})"
    assert upd["attrs"]["sum_over_time"] == 1


@requires_double
def test_scaled_lr_is_not_the_unscaled_one(tmp_path):
    """lr_scale_momentum changes the step: the unscaled torch optimiser must NOT match it."""
    options, _, _ = SGD_CASES["greff"]
    params, _x, target, mask, upd = trace_updates(tmp_path, 4, *options)
    _, unscaled = torch_replay(params, upd["x"], target, mask,
                               lambda ps: torch.optim.SGD(ps, lr=0.3, momentum=0.9, nesterov=True))
    worst = max(np.max(np.abs(upd["final"][k] - unscaled[k])) for k in unscaled)
    assert worst > 1e-3, worst
    assert upd["attrs"]["lr_scale_momentum"] == 1 and upd["attrs"]["nesterov"] == 1


@requires_double
def test_input_noise_is_fresh_gaussian_with_the_stated_std(tmp_path):
    dims = (4, 6, 2, 40, 10)  # 2 400 noise values per update
    _p, x, _t, _m, noisy = trace_updates(tmp_path, 3, "--optimizer", "sgd", "--lr", "0.01",
                                         "--input-noise", "0.5", dims=dims)
    noise = noisy["x"] - x[None]
    for k in range(3):
        n = noise[k].ravel()
        # std of the sample std of 2 400 normals is about 0.5 / sqrt(4 800) = 0.007
        assert abs(n.std() - 0.5) < 0.05, (k, n.std())
        assert abs(n.mean()) < 0.05, (k, n.mean())
    assert not np.array_equal(noise[0], noise[1]), "the same noise twice"
    _p, x0, _t, _m, clean = trace_updates(tmp_path, 2, "--optimizer", "sgd", "--lr", "0.01", dims=dims)
    assert np.array_equal(clean["x"], np.stack([x0, x0])), "noise 0 changed the inputs"
    assert noisy["attrs"]["input_noise"] == 0.5


def test_update_options_are_checked_as_train_checks_them(tmp_path):
    for options, expected in [(("--momentum", "1.5"), "--momentum: "),
                              (("--optimizer", "sdg"), "--optimizer: expected sgd or adam, got 'sdg'"),
                              (("--updates", "-1"), "--updates: ")]:
        proc = subprocess.run([str(ROOT / "bin" / "rnnbench"), "trace", "--cell", "lstm", "--updates",
                               "2", *options, "-o", str(tmp_path / "t.h5")],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (options, proc.stderr)
        assert proc.stderr.startswith("rnnbench trace: " + expected), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "t.h5").exists()


@requires_double
def test_bce_sum_nll_of_a_trained_model_matches_numpy(tmp_path):
    """jsb's NLL (bce_sum) recomputed in numpy from a trained model's outputs.

    200 updates on one batch make the outputs confident (logits far from 0), where a careless
    log(sigmoid) loses digits or overflows; numpy's own stable form must agree to 1e-12."""
    out = tmp_path / "trained.h5"
    proc = subprocess.run([str(DOUBLE), "trace", "--cell", "lstm", "--hidden", "16", "--input", "6",
                           "--output", "10", "--steps", "12", "--batch", "3", "--loss", "bce_sum",
                           "--updates", "200", "--optimizer", "adam", "--lr", "0.05", "--clip", "0",
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        logits, target, mask = f["updates/y"][()], f["target"][()], f["mask"][()]
        ours, first = float(f["updates/final_loss"][()]), float(f["loss"][()])
    # -log p(target) per key with p = sigmoid(logit), in the form that never overflows
    per_key = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    nll = (mask * per_key.sum(-1)).sum() / mask.sum()
    assert abs(ours - nll) <= 1e-12 * nll, (ours, nll)
    assert np.max(np.abs(logits)) > 8, "the model did not become confident: the test checks little"
    assert ours < 0.5 * first, (first, ours)
