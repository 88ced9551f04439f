"""Check `rnnbench trace` (forward, loss and every gradient) against PyTorch in float64.

Example:
    cd /work/main && make float double && /usr/bin/python3 -m pytest -q tests/test_trace_torch.py

What is tested
- `rnn`, `irnn`, `lstm`, `gru-ra` against `torch.nn.RNN/LSTM/GRU` loaded with the trace's weights
  (the single `bias` goes to `bias_ih` with `bias_hh = 0`; gru-ra's `bias_rn` to `bias_hh[2H:]`):
  loss, y, h, every grads/<name>, dx, dh0, and dc0 for the LSTM.
- Every cell of `rnnbench list cells` plus a few flag combinations against a short autograd
  implementation of the equations of docs/cells.md driven by the trace's attributes: the same
  tensors plus flow_h and flow_c (batch mean of the norm of the total gradient w.r.t. h_t / c_t,
  taken from autograd with retain_grad on each step's h_t and c_t).
  The further cells (indrnn, janet, mgu, mut1-3, cwrnn) are dispatched on the trace's `kind`
  attribute; janet's β, the MUT variant and cwrnn's modules and periods come from its attributes
  too. cwrnn is traced at hidden 8 (its modules divide it), with CWRNN_OPTIONS besides.
- Stacks (`--layers L`, cells.md "Stacked layers"): rnn, lstm, gru-ra at 2 and 3 layers against
  torch.nn's num_layers=L modules (weights `<name>_l<k>`, dh0/dc0 of shape (L, B, H)), and
  lstm-peep, mgu, cwrnn, janet and dglstm (the depth gate, at 2 and 3 layers) against the
  equations reference run layer by layer, with the flow of every layer.
- The parameter names and shapes of the trace against the layout that the attributes imply.
- That the equations reference itself equals torch.nn (to 1e-12) where torch has the cell.
  A listed cell the reference does not know fails (NotImplementedError): nothing is skipped.
- All three losses (mse, xent, bce), both binaries (bin/rnnbench float32, bin/rnnbench-double).
- That a perturbed gradient in a trace file is caught, and the error of an unknown cell name.

Tolerance. The reference is computed in float64 from the trace's own stored inputs and
parameters (float32 values upcast exactly for the float build), so any difference is the C code's
arithmetic. Per tensor we require the norm-relative error
    ||a - ref||_inf / ||ref||_inf  <=  1e-5 (float build), 1e-10 (double build)
which is cells.md's "within 1e-5 relative in float32, 1e-10 in double" read per tensor: an
element-wise relative error is not a meaningful target for float32 on gradient entries many orders
of magnitude below the tensor's largest (their absolute error is set by the large terms they are
summed from). The scalar loss uses plain relative error; a reference tensor that is exactly zero is
compared in absolute error. The element-wise relative error
|a - ref| / max(|ref|, 1e-300) is printed alongside for information.
"""
import os
import re
import subprocess
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

TOLERANCE = {"float": 1e-5, "double": 1e-10}
PRECISIONS = ("float", "double")
LOSSES = ("mse", "xent", "bce")
DIMS = {"hidden": 5, "input": 3, "output": 4, "steps": 20, "batch": 3}
# combinations of LSTM ablations checked besides the named cells of `rnnbench list cells`
COMBINATIONS = ("lstm+cifg", "lstm-peep+nfg+noaf", "lstm+fgr+nog", "lstm-peep+niaf+noaf",
                "lstm+nig+nog")
# Clockwork RNN options besides the listed `cwrnn` (4 modules): 2 modules; periods 1, 3 and 2, 5
# (T = 20 is a multiple of neither 3 nor 5: the last steps leave the slow module resting, and
# module 0 of p2.5 rests at odd steps); 8 modules of one unit, periods up to 128 > T (most run
# only at t = 0)
CWRNN_OPTIONS = ("cwrnn+m2", "cwrnn+p1.3", "cwrnn+p2.5", "cwrnn+m8")
TORCH_NN_CELLS = ("rnn", "irnn", "lstm", "gru-ra")
# (cell, layers) checked as stacks: against torch.nn, and against the equations layer by layer
TORCH_NN_STACKS = (("rnn", 2), ("rnn", 3), ("lstm", 2), ("lstm", 3), ("gru-ra", 2), ("gru-ra", 3))
EQUATION_STACKS = (("lstm-peep", 2), ("lstm-peep", 3), ("mgu", 2), ("cwrnn", 2), ("janet", 3),
                   ("dglstm", 2), ("dglstm", 3), ("lstm+cifg+fgr", 2))
# the fewest layers a kind builds with (dglstm is a stack by definition)
MIN_LAYERS = {"dglstm": 2}
LSTM_GATES = ("i", "f", "z", "o")


# ---------------------------------------------------------------------------------------------
# running the binary and reading its trace

def repo_root():
    """The repository root: the parent of this file's directory."""
    return Path(__file__).resolve().parent.parent


def binary_path(precision):
    """Path of the rnnbench binary built for `precision` ('float' or 'double')."""
    name = "rnnbench" if precision == "float" else "rnnbench-double"
    return repo_root() / "bin" / name


def require_binary(precision):
    """Return the binary for `precision`, failing the test with a hint if it is not built."""
    path = binary_path(precision)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run `make float double` in {repo_root()}")
    return path


def list_cells():
    """First column of `rnnbench list cells` between the header and the first blank line."""
    for precision in PRECISIONS:
        path = binary_path(precision)
        if os.access(path, os.X_OK):
            break
    else:
        return []
    out = subprocess.run([str(path), "list", "cells"], capture_output=True, text=True,
                         check=True).stdout
    cells = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        cells.append(line.split()[0])
    return cells


def pytest_generate_tests(metafunc):
    """Parametrize `any_cell` with every listed cell plus COMBINATIONS (asks the binary)."""
    if "any_cell" in metafunc.fixturenames:
        cells = list_cells() or ["<rnnbench not built>"]
        extra = [c for c in COMBINATIONS + CWRNN_OPTIONS if c not in cells]
        metafunc.parametrize("any_cell", cells + extra)


def hidden_for(cell):
    """The trace's hidden size: DIMS's, or 8 for cwrnn, whose modules (up to 8) must divide it."""
    return 8 if cell.startswith("cwrnn") else DIMS["hidden"]


def seed_for(cell, loss):
    """A fixed seed per (cell, loss), so that cases differ but every run is reproducible."""
    return zlib.crc32(f"{cell}/{loss}".encode()) % 100000 + 1


def run_trace(tmp_path, precision, cell, loss, layers=None):
    """Run `rnnbench trace` for one case into tmp_path and return the file's path. `layers`
    defaults to the fewest the cell builds with (1, or 2 for dglstm)."""
    binary = require_binary(precision)
    layers = layers or MIN_LAYERS.get(cell, 1)
    out = tmp_path / f"{cell}-{loss}-{precision}-l{layers}.h5"
    cmd = [str(binary), "trace", "--cell", cell, "--layers", str(layers),
           "--hidden", str(hidden_for(cell)),
           "--input", str(DIMS["input"]), "--output", str(DIMS["output"]),
           "--steps", str(DIMS["steps"]), "--batch", str(DIMS["batch"]), "--loss", loss,
           "--seed", str(seed_for(cell, loss)), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}"
    return out


def decode(value):
    """An HDF5 attribute as a plain Python value (bytes -> str, numpy scalar -> int/float)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_trace(path):
    """Read a trace file: {'attrs': {...}, 'data': {name: float64 array}} (params/, grads/ too)."""
    with h5py.File(path, "r") as f:
        attrs = {k: decode(v) for k, v in f.attrs.items()}
        data = {}
        f.visititems(lambda name, obj: data.__setitem__(name, np.asarray(obj[()], np.float64))
                     if isinstance(obj, h5py.Dataset) else None)
    return {"attrs": attrs, "data": data}


def check_header(trace, precision, loss):
    """The attributes agree with the command line and the binary's precision."""
    a = trace["attrs"]
    assert a["precision"] == precision
    assert a["loss_kind"] == loss
    assert (a["hidden"], a["input_size"], a["output_size"], a["steps"], a["batch"]) == (
        hidden_for(a["cell"]), DIMS["input"], DIMS["output"], DIMS["steps"], DIMS["batch"])
    assert a["layers"] >= MIN_LAYERS.get(a["cell"], 1)


# ---------------------------------------------------------------------------------------------
# readout and losses shared by both references

def readout_and_loss(h_seq, weight, bias, target, mask, kind):
    """y_t = V h_t + d for h_seq (T,B,H); return (y, loss) with the masked loss of cells.md."""
    y = h_seq @ weight.T + bias
    n_out = y.shape[-1]
    if kind == "mse":
        per_step = ((y - target) ** 2).sum(-1)
        return y, (mask * per_step).sum() / (mask.sum() * n_out)
    if kind == "xent":
        per_step = -(target * torch.log_softmax(y, dim=-1)).sum(-1)
        return y, (mask * per_step).sum() / mask.sum()
    if kind == "bce":
        per_elem = torch.nn.functional.binary_cross_entropy_with_logits(y, target,
                                                                         reduction="none")
        return y, (mask * per_elem.sum(-1)).sum() / (mask.sum() * n_out)
    raise ValueError(f"unknown loss kind {kind!r}")


def inputs_of(trace):
    """x (requires grad), target and mask of a trace as float64 tensors."""
    d = trace["data"]
    x = torch.tensor(d["x"], dtype=torch.float64, requires_grad=True)
    return x, torch.tensor(d["target"]), torch.tensor(d["mask"])


# ---------------------------------------------------------------------------------------------
# reference 1: torch.nn modules

def torch_nn_reference(trace):
    """Recompute rnn/irnn/lstm/gru-ra with torch.nn; return {tensor name: float64 array}."""
    a, d = trace["attrs"], trace["data"]
    cell, H, X, B = a["cell"], a["hidden"], a["input_size"], a["batch"]
    L = a.get("layers", 1)
    p = {k[len("params/"):]: torch.tensor(v) for k, v in d.items() if k.startswith("params/")}
    is_lstm = "input_gate" in a
    if is_lstm:
        module = torch.nn.LSTM(X, H, num_layers=L)
    elif "reset_after" in a:
        assert a["reset_after"] == 1, f"{cell}: torch.nn.GRU only has the reset-after form"
        module = torch.nn.GRU(X, H, num_layers=L)
    else:
        module = torch.nn.RNN(X, H, num_layers=L, nonlinearity=a["activation"])
    module = module.double()
    # the trace's names carry torch's _l<k> suffix in a stack and none with one layer
    sfx = [f"_l{k}" if L > 1 else "" for k in range(L)]
    with torch.no_grad():
        for k in range(L):
            getattr(module, f"weight_ih_l{k}").copy_(p[f"weight_ih{sfx[k]}"])
            getattr(module, f"weight_hh_l{k}").copy_(p[f"weight_hh{sfx[k]}"])
            getattr(module, f"bias_ih_l{k}").copy_(p[f"bias{sfx[k]}"])
            getattr(module, f"bias_hh_l{k}").zero_()
            if f"bias_rn{sfx[k]}" in p:
                getattr(module, f"bias_hh_l{k}")[2 * H:] = p[f"bias_rn{sfx[k]}"]
    readout = torch.nn.Linear(H, a["output_size"]).double()
    with torch.no_grad():
        readout.weight.copy_(p["readout.weight"])
        readout.bias.copy_(p["readout.bias"])

    x, target, mask = inputs_of(trace)
    h0 = torch.zeros(L, B, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.zeros(L, B, H, dtype=torch.float64, requires_grad=True)
    h_seq, _ = module(x, (h0, c0) if is_lstm else h0)
    y, loss = readout_and_loss(h_seq, readout.weight, readout.bias, target, mask, a["loss_kind"])
    loss.backward()

    def per_layer(g):  # (L, B, H) in a stack, (B, H) with one layer, as the trace stores them
        return g.numpy() if L > 1 else g[0].numpy()

    ref = {"loss": loss.detach().numpy(), "y": y.detach().numpy(), "h": h_seq.detach().numpy(),
           "dx": x.grad.numpy(), "dh0": per_layer(h0.grad),
           "grads/readout.weight": readout.weight.grad.numpy(),
           "grads/readout.bias": readout.bias.grad.numpy()}
    for k in range(L):
        ref[f"grads/weight_ih{sfx[k]}"] = getattr(module, f"weight_ih_l{k}").grad.numpy()
        ref[f"grads/weight_hh{sfx[k]}"] = getattr(module, f"weight_hh_l{k}").grad.numpy()
        ref[f"grads/bias{sfx[k]}"] = getattr(module, f"bias_ih_l{k}").grad.numpy()
        if f"bias_rn{sfx[k]}" in p:
            ref[f"grads/bias_rn{sfx[k]}"] = getattr(module, f"bias_hh_l{k}").grad[2 * H:].numpy()
    if is_lstm:
        ref["dc0"] = per_layer(c0.grad)
    return ref


# ---------------------------------------------------------------------------------------------
# reference 2: the equations of cells.md, driven by the trace's attributes

def lstm_structure(a):
    """Gate blocks (order i, f, z, o), peephole gates and FGR gates that the LSTM flags imply."""
    has = {"i": a["input_gate"] == 1, "f": a["forget_gate"] == 1 and a["coupled"] == 0,
           "z": True, "o": a["output_gate"] == 1}
    blocks = [g for g in LSTM_GATES if has[g]]
    gated = [g for g in ("i", "f", "o") if has[g]]
    peeps = gated if a["peepholes"] == 1 else []
    fgr = gated if a["full_gate_recurrence"] == 1 else []
    return blocks, peeps, fgr


def layer_shapes(a, layer, X):
    """{parameter name: shape} of one layer (input width X) of the cell that attributes `a`
    describe (docs/cells.md layout, names without the layer suffix)."""
    H = a["hidden"]
    if a.get("kind") == "dglstm":
        if layer == 0:  # a plain lstm (NP)
            return {"weight_ih": (4 * H, X), "weight_hh": (4 * H, H), "bias": (4 * H,)}
        return {"weight_ih": (4 * H, X), "weight_d": (H, X), "weight_hh": (4 * H, H),
                "bias": (4 * H,), "bias_d": (H,), "peep_cd": (H,), "peep_ld": (H,)}
    if "input_gate" in a:
        blocks, peeps, fgr = lstm_structure(a)
        G = len(blocks)
        shapes = {"weight_ih": (G * H, X), "weight_hh": (G * H, H), "bias": (G * H,)}
        shapes.update({f"peep_{g}": (H,) for g in peeps})
        if fgr:
            shapes["weight_gg"] = (len(fgr) * H, len(fgr) * H)
        return shapes
    if "reset_after" in a:
        shapes = {"weight_ih": (3 * H, X), "weight_hh": (3 * H, H), "bias": (3 * H,)}
        if a["reset_after"] == 1:
            shapes["bias_rn"] = (H,)
        return shapes
    if a.get("kind") in FURTHER_SHAPES:
        return FURTHER_SHAPES[a["kind"]](a, H, X)
    if "activation" in a:
        return {"weight_ih": (H, X), "weight_hh": (H, H), "bias": (H,)}
    raise NotImplementedError(f"no reference for cell {a['cell']!r}: extend this test")


def layer_suffix(a, layer):
    """`_l<k>` in a stack of two or more layers, '' with one (cells.md's names)."""
    return f"_l{layer}" if a.get("layers", 1) > 1 else ""


def expected_shapes(a):
    """{parameter name: shape} of every layer and the readout, as the trace should name them."""
    H = a["hidden"]
    shapes = {"readout.weight": (a["output_size"], H), "readout.bias": (a["output_size"],)}
    for layer in range(a.get("layers", 1)):
        X = a["input_size"] if layer == 0 else H
        sfx = layer_suffix(a, layer)
        shapes.update({name + sfx: shape for name, shape in layer_shapes(a, layer, X).items()})
    return shapes


def activation(name):
    """The element-wise function that an activation attribute names."""
    return {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda v: v}[name]


def blocks_of(v, names, H):
    """Split the last axis of v into H-wide blocks named in order."""
    return dict(zip(names, torch.split(v, H, dim=-1)))


def rnn_step(p, a, x_t, h):
    """Elman step: h_t = act(W x + R h + b). Returns (h_t, None)."""
    return activation(a["activation"])(x_t @ p["weight_ih"].T + h @ p["weight_hh"].T
                                       + p["bias"]), None


def gru_step(p, a, x_t, h):
    """GRU step, reset before (gru) or after (gru-ra) the recurrent product. Returns (h_t, None)."""
    H = a["hidden"]
    gi = blocks_of(x_t @ p["weight_ih"].T + p["bias"], "run", H)
    R = dict(zip("run", torch.split(p["weight_hh"], H, dim=0)))
    r = torch.sigmoid(gi["r"] + h @ R["r"].T)
    u = torch.sigmoid(gi["u"] + h @ R["u"].T)
    if a["reset_after"] == 1:
        n = torch.tanh(gi["n"] + r * (h @ R["n"].T + p["bias_rn"]))
    else:
        n = torch.tanh(gi["n"] + (r * h) @ R["n"].T)
    return (1 - u) * n + u * h, None


# the further cells of cells.md, each written from its equations there; dispatched on `kind`

def indrnn_step(p, a, x_t, h):
    """IndRNN: h_t = relu(W x + u ⊙ h + b), u = weight_hh a vector. Returns (h_t, None)."""
    return torch.relu(x_t @ p["weight_ih"].T + p["weight_hh"] * h + p["bias"]), None


def janet_step(p, a, x_t, h):
    """JANET, blocks f, c: h_t = c_t = σ(s) ⊙ c_{t-1} + (1 − σ(s − β)) ⊙ tanh(c̃ pre)."""
    pre = blocks_of(x_t @ p["weight_ih"].T + h @ p["weight_hh"].T + p["bias"], "fc", a["hidden"])
    beta = float(a["beta"])
    s = pre["f"]
    return torch.sigmoid(s) * h + (1 - torch.sigmoid(s - beta)) * torch.tanh(pre["c"]), None


def mgu_step(p, a, x_t, h):
    """MGU, blocks f, n: n = tanh(W_n x + R_n (f ⊙ h) + b_n), h_t = (1 − f) h + f n."""
    H = a["hidden"]
    gi = blocks_of(x_t @ p["weight_ih"].T + p["bias"], "fn", H)
    R = dict(zip("fn", torch.split(p["weight_hh"], H, dim=0)))
    f = torch.sigmoid(gi["f"] + h @ R["f"].T)
    n = torch.tanh(gi["n"] + (f * h) @ R["n"].T)
    return (1 - f) * h + f * n, None


def mut_step(p, a, x_t, h):
    """MUT1/2/3 of Jozefowicz et al. 2015 with W_h x for the paper's raw x (cells.md)."""
    H, variant = a["hidden"], a["variant"]
    W = dict(zip("zrh", torch.split(p["weight_ih"], H, dim=0)))
    b = dict(zip("zrh", torch.split(p["bias"], H, dim=0)))
    R = dict(zip("rh" if variant == 1 else "zrh", torch.split(p["weight_hh"], H, dim=0)))
    if variant == 1:
        z = torch.sigmoid(x_t @ W["z"].T + b["z"])
    elif variant == 2:
        z = torch.sigmoid(x_t @ W["z"].T + h @ R["z"].T + b["z"])
    else:
        z = torch.sigmoid(x_t @ W["z"].T + torch.tanh(h) @ R["z"].T + b["z"])
    r = torch.sigmoid(x_t @ W["r"].T + h @ R["r"].T + b["r"])
    inp = torch.tanh(x_t @ W["h"].T) if variant == 1 else x_t @ W["h"].T
    cand = torch.tanh((r * h) @ R["h"].T + inp + b["h"])
    return cand * z + h * (1 - z), None


def cwrnn_step(p, a, t, x_t, h):
    """Clockwork RNN at step t (numbered from 0): module k (of `modules`, H/g units each) runs when
    t mod T_k = 0, from h of the modules j >= k only; a resting module keeps its value. The
    blocks j < k of weight_hh enter through a mask, so autograd gives them a zero gradient."""
    H, g = a["hidden"], a["modules"]
    periods = [int(v) for v in str(a["periods"]).split(",")]
    assert len(periods) == g, f"periods {a['periods']!r} for {g} modules"
    m = H // g
    module = torch.arange(H) // m  # the module of each unit
    upper = (module[None, :] >= module[:, None]).double()  # R[i, j] is used when k(j) >= k(i)
    new = torch.tanh(x_t @ p["weight_ih"].T + h @ (p["weight_hh"] * upper).T + p["bias"])
    runs = torch.tensor([t % periods[k] == 0 for k in range(g)])[module]
    return torch.where(runs, new, h)


FURTHER_STEPS = {"indrnn": indrnn_step, "janet": janet_step, "mgu": mgu_step, "mut": mut_step}
FURTHER_SHAPES = {
    "indrnn": lambda a, H, X: {"weight_ih": (H, X), "weight_hh": (H,), "bias": (H,)},
    "janet": lambda a, H, X: {"weight_ih": (2 * H, X), "weight_hh": (2 * H, H), "bias": (2 * H,)},
    "mgu": lambda a, H, X: {"weight_ih": (2 * H, X), "weight_hh": (2 * H, H), "bias": (2 * H,)},
    "cwrnn": lambda a, H, X: {"weight_ih": (H, X), "weight_hh": (H, H), "bias": (H,)},
    "mut": lambda a, H, X: {"weight_ih": (3 * H, X),
                            "weight_hh": ((2 if a["variant"] == 1 else 3) * H, H),
                            "bias": (3 * H,)},
}


def lstm_step(p, a, x_t, h, c, prev_gates):
    """One LSTM step of the Greff family; returns (h_t, c_t, gate activations for FGR)."""
    H = a["hidden"]
    blocks, peeps, fgr = lstm_structure(a)
    pre = blocks_of(x_t @ p["weight_ih"].T + h @ p["weight_hh"].T + p["bias"], blocks, H)
    if fgr:  # gates also see R_gg [i;f;o]_{t-1}, the previous step's gate activations
        pre_rec = blocks_of(prev_gates @ p["weight_gg"].T, fgr, H)
        pre = {g: pre[g] + pre_rec[g] if g in pre_rec else pre[g] for g in pre}
    g_act = activation(a["input_activation"])
    k_act = activation(a["output_activation"])

    def peep(g, state):
        return p[f"peep_{g}"] * state if g in peeps else 0.0

    z = g_act(pre["z"])
    i = torch.sigmoid(pre["i"] + peep("i", c)) if "i" in pre else 1.0
    if a["coupled"] == 1:
        f = 1.0 - i
    elif "f" in pre:
        f = torch.sigmoid(pre["f"] + peep("f", c))
    else:
        f = 1.0
    c_new = i * z + f * c
    o = torch.sigmoid(pre["o"] + peep("o", c_new)) if "o" in pre else 1.0
    # `* o` with o = 1.0 still makes h_t a node of its own, distinct from c_t
    h_new = k_act(c_new) * o
    gates = {"i": i, "f": f, "o": o}
    return h_new, c_new, torch.cat([gates[g] for g in fgr], dim=-1) if fgr else None


# dglstm's layer 0 is a plain lstm (NP): the flags lstm_step reads
DGLSTM_LAYER0 = {"input_gate": 1, "forget_gate": 1, "output_gate": 1, "coupled": 0,
                 "peepholes": 0, "full_gate_recurrence": 0, "input_activation": "tanh",
                 "output_activation": "tanh"}


def dglstm_step(p, a, x_t, h, c, c_below):
    """A depth-gated layer (l >= 1): an lstm (NP) whose c_t also takes d ⊙ c_t of the layer below,
    d = σ(W_d x + p_cd ⊙ c_{t-1} + p_ld ⊙ c_below + b_d) (cells.md "dglstm")."""
    pre = blocks_of(x_t @ p["weight_ih"].T + h @ p["weight_hh"].T + p["bias"], LSTM_GATES,
                    a["hidden"])
    i, f, o = torch.sigmoid(pre["i"]), torch.sigmoid(pre["f"]), torch.sigmoid(pre["o"])
    z = torch.tanh(pre["z"])
    d = torch.sigmoid(x_t @ p["weight_d"].T + p["peep_cd"] * c + p["peep_ld"] * c_below
                      + p["bias_d"])
    c_new = d * c_below + f * c + i * z
    return o * torch.tanh(c_new), c_new


def layer_sequence(p, a, layer, xs, h0, c0, cs_below):
    """Run one layer over the inputs xs (T tensors (B, X)) from h0, c0; cs_below is the cell state
    sequence of the layer below (dglstm reads it). Returns (hs, cs); cs is empty for a cell
    without c. Every state keeps its gradient (retain_grad) for the flow."""
    dglstm = a.get("kind") == "dglstm"
    if dglstm and layer == 0:
        a = dict(a, **DGLSTM_LAYER0)
    is_lstm = "input_gate" in a and not (dglstm and layer > 0)
    if is_lstm:
        _, _, fgr = lstm_structure(a)
        gates = torch.zeros(h0.shape[0], len(fgr) * a["hidden"], dtype=torch.float64)
    h, c = h0, c0
    hs, cs = [], []
    for t, x_t in enumerate(xs):
        if dglstm and layer > 0:
            h, c = dglstm_step(p, a, x_t, h, c, cs_below[t])
        elif is_lstm:
            h, c, gates = lstm_step(p, a, x_t, h, c, gates)
        elif a.get("kind") == "cwrnn":
            h = cwrnn_step(p, a, t, x_t, h)
        elif a.get("kind") in FURTHER_STEPS:
            h, _ = FURTHER_STEPS[a["kind"]](p, a, x_t, h)
        else:
            h, _ = (gru_step if "reset_after" in a else rnn_step)(p, a, x_t, h)
        h.retain_grad()
        hs.append(h)
        if is_lstm or dglstm:
            c.retain_grad()
            cs.append(c)
    return hs, cs


def equations_reference(trace):
    """Recompute a trace from the cells.md equations, layer by layer in a stack; return
    {tensor name: float64 array}."""
    a, d = trace["attrs"], trace["data"]
    H, B, T, L = a["hidden"], a["batch"], a["steps"], a.get("layers", 1)
    shapes = expected_shapes(a)
    p = {name: torch.tensor(d[f"params/{name}"], requires_grad=True) for name in shapes}
    x, target, mask = inputs_of(trace)
    h0 = [torch.zeros(B, H, dtype=torch.float64, requires_grad=True) for _ in range(L)]
    c0 = [torch.zeros(B, H, dtype=torch.float64, requires_grad=True) for _ in range(L)]
    xs, cs_below, hs_all, cs_all = list(x), None, [], []
    for layer in range(L):
        sfx = layer_suffix(a, layer)
        p_layer = {name[:len(name) - len(sfx)]: v for name, v in p.items()
                   if not name.startswith("readout.") and name.endswith(sfx)}
        hs, cs = layer_sequence(p_layer, a, layer, xs, h0[layer], c0[layer], cs_below)
        hs_all.append(hs)
        cs_all.append(cs)
        xs, cs_below = hs, cs
    h_seq = torch.stack(hs_all[-1])
    y, loss = readout_and_loss(h_seq, p["readout.weight"], p["readout.bias"], target, mask,
                               a["loss_kind"])
    loss.backward()

    def flow(states):  # batch mean over b of ||dL/ds_t[b]||, total gradient through time
        return np.array([s.grad.norm(dim=-1).mean().item() for s in states])

    def per_layer(arrays):  # (L, ...) in a stack, the one layer's array otherwise
        return np.stack(arrays) if L > 1 else arrays[0]

    ref = {"loss": loss.detach().numpy(), "y": y.detach().numpy(), "h": h_seq.detach().numpy(),
           "dx": x.grad.numpy(), "dh0": per_layer([g.grad.numpy() for g in h0]),
           "flow_h": per_layer([flow(hs) for hs in hs_all])}
    ref.update({f"grads/{name}": p[name].grad.numpy() for name in p})
    if cs_all[0]:
        ref["dc0"] = per_layer([g.grad.numpy() for g in c0])
        ref["flow_c"] = per_layer([flow(cs) for cs in cs_all])
    return ref


# ---------------------------------------------------------------------------------------------
# comparison

def compare(trace, ref, label, error_table=None):
    """Compare every tensor of `ref` with the trace; print the worst errors, assert tolerance.

    Also asserts that the trace holds exactly the parameters and gradients that the reference
    has (a missing or extra tensor is an error, not a skip).
    """
    data, precision = trace["data"], trace["attrs"]["precision"]
    tol = TOLERANCE[precision]
    ref_grads = {k for k in ref if k.startswith("grads/")}
    trace_grads = {k for k in data if k.startswith("grads/")}
    assert trace_grads == ref_grads, f"{label}: gradients in trace {sorted(trace_grads)}, " \
                                     f"expected {sorted(ref_grads)}"
    rows, failures, worst = [], [], (0.0, "")
    for name in sorted(ref):
        assert name in data, f"{label}: trace has no dataset {name!r}"
        got, want = np.asarray(data[name]), np.asarray(ref[name])
        assert got.shape == want.shape, f"{label}: {name} has shape {got.shape}, " \
                                        f"expected {want.shape}"
        scale = np.max(np.abs(want)) if want.size else 0.0
        diff = np.abs(got - want)
        max_diff = np.max(diff) if diff.size else 0.0
        err = max_diff / scale if scale > 0 else max_diff
        elem = np.max(diff / np.maximum(np.abs(want), 1e-300)) if diff.size else 0.0
        if not np.all(np.isfinite(got)):
            err = np.inf
        rows.append(f"  {name:<22} norm-rel {err:9.2e}  elem-rel {elem:9.2e}  "
                    f"max|diff| {max_diff:9.2e}  max|ref| {scale:9.2e}")
        if not err <= tol:
            failures.append(f"{name} ({err:.2e})")
        if err > worst[0]:
            worst = (err, name)
    print(f"{label}: worst error per tensor (tolerance {tol:.0e}, norm-relative)")
    print("\n".join(rows))
    if error_table is not None:  # keyed by reference kind and precision, e.g. "torch.nn float"
        key = f"{label.split(' [')[0]} {precision}"
        if key not in error_table or worst[0] >= error_table[key][0]:
            error_table[key] = (worst[0], tol, f"{label}: {worst[1]}")
    assert not failures, f"{label}: beyond {tol:.0e}: " + ", ".join(failures) + \
                         "\n" + "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# tests

@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cell", TORCH_NN_CELLS)
def test_matches_torch_nn(tmp_path, cell, precision, loss, error_table):
    """rnn, irnn, lstm, gru-ra against torch.nn.RNN/LSTM/GRU with the trace's weights."""
    trace = load_trace(run_trace(tmp_path, precision, cell, loss))
    check_header(trace, precision, loss)
    compare(trace, torch_nn_reference(trace), f"torch.nn [{cell} {loss} {precision}]",
            error_table)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_matches_equations(tmp_path, any_cell, precision, loss, error_table):
    """Every listed cell and COMBINATIONS against an autograd version of cells.md."""
    trace = load_trace(run_trace(tmp_path, precision, any_cell, loss))
    check_header(trace, precision, loss)
    a = trace["attrs"]
    shapes = {k[len("params/"):]: v.shape for k, v in trace["data"].items()
              if k.startswith("params/")}
    assert shapes == expected_shapes(a), f"{any_cell}: parameter layout differs from cells.md"
    compare(trace, equations_reference(trace), f"equations [{any_cell} {loss} {precision}]",
            error_table)


@pytest.mark.parametrize("cell", TORCH_NN_CELLS)
def test_equations_reference_agrees_with_torch_nn(tmp_path, cell):
    """The cells.md reference itself equals torch.nn (to rounding) where torch has the cell."""
    trace = load_trace(run_trace(tmp_path, "double", cell, "xent"))
    nn_ref, eq_ref = torch_nn_reference(trace), equations_reference(trace)
    for name, want in nn_ref.items():
        err = np.max(np.abs(eq_ref[name] - want)) / max(np.max(np.abs(want)), 1e-300)
        assert err <= 1e-12, f"{cell}: equations reference differs from torch.nn on {name}: {err}"


@pytest.mark.parametrize("precision", PRECISIONS)
def test_perturbed_gradient_is_caught(tmp_path, precision):
    """Nudging one entry of any gradient by 3x the tolerance makes the comparison fail."""
    path = run_trace(tmp_path, precision, "lstm-fgr", "xent")
    trace = load_trace(path)
    ref = equations_reference(trace)
    compare(trace, ref, f"unperturbed [lstm-fgr {precision}]")
    tol = TOLERANCE[precision]
    for name in sorted(k for k in ref if k.startswith("grads/")) + ["dx", "dh0", "dc0"]:
        perturbed = {"attrs": trace["attrs"], "data": dict(trace["data"])}
        values = perturbed["data"][name].copy()
        idx = np.unravel_index(np.argmin(np.abs(values)), values.shape)
        values[idx] += 3 * tol * np.max(np.abs(ref[name]))
        perturbed["data"][name] = values
        # the failure must name this tensor, and only this one
        only_this = rf"beyond \S+: {re.escape(name)} \([^)]*\)\n"
        with pytest.raises(AssertionError, match=only_this):
            compare(perturbed, ref, "perturbed trace")


def test_unknown_cell_is_a_usage_error(tmp_path):
    """An unknown cell name exits 2 with the one-line message that points to `list cells`."""
    binary = require_binary("float")
    proc = subprocess.run([str(binary), "trace", "--cell", "lstm-nxg", "-o",
                           str(tmp_path / "f.h5")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == "rnnbench: unknown cell 'lstm-nxg' (try: rnnbench list cells)\n"


@pytest.mark.parametrize("loss", ("mse", "xent"))
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cell,layers", TORCH_NN_STACKS)
def test_stack_matches_torch_nn(tmp_path, cell, layers, precision, loss, error_table):
    """Stacked rnn, lstm, gru-ra against torch.nn.RNN/LSTM/GRU(num_layers=L)."""
    trace = load_trace(run_trace(tmp_path, precision, cell, loss, layers))
    check_header(trace, precision, loss)
    assert trace["attrs"]["layers"] == layers
    compare(trace, torch_nn_reference(trace), f"torch.nn [{cell}*{layers} {loss} {precision}]",
            error_table)


@pytest.mark.parametrize("loss", ("xent", "bce"))
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cell,layers", (("lstm", 2),) + EQUATION_STACKS)
def test_stack_matches_equations(tmp_path, cell, layers, precision, loss, error_table):
    """Stacks against the equations run layer by layer: every layer's parameters (named
    <name>_l<k>), dh0/dc0 per layer, and the gradient flow of every layer."""
    trace = load_trace(run_trace(tmp_path, precision, cell, loss, layers))
    check_header(trace, precision, loss)
    a = trace["attrs"]
    assert a["layers"] == layers
    shapes = {k[len("params/"):]: v.shape for k, v in trace["data"].items()
              if k.startswith("params/")}
    assert shapes == expected_shapes(a), f"{cell}*{layers}: parameter layout differs from cells.md"
    assert all(name.startswith("readout.") or name.endswith(f"_l{name[-1]}") for name in shapes)
    ref = equations_reference(trace)
    assert ref["flow_h"].shape == (layers, DIMS["steps"])
    compare(trace, ref, f"equations [{cell}*{layers} {loss} {precision}]", error_table)


def test_dglstm_needs_two_layers(tmp_path):
    """dglstm is a stack by definition: one layer is a usage error naming the fix."""
    binary = require_binary("float")
    proc = subprocess.run([str(binary), "trace", "--cell", "dglstm", "-o", str(tmp_path / "f.h5")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "at least 2 layers: give layers = 2 or more (got 1)" in proc.stderr
