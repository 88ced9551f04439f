"""A cell's architecture as flags, and whether two cells differ in one part or in several.

A results file records, per run group, the cell's `kind` (rnn, lstm, gru, indrnn, janet, mgu, mut)
and its flags (LSTM: input_gate, forget_gate, output_gate, peepholes, coupled,
full_gate_recurrence, input_activation, output_activation; GRU: reset_after; RNN and IndRNN:
activation; JANET: beta; MUT: variant; MGU: none; Clockwork RNN: modules,
periods; Depth-Gated LSTM: depth_gate). A stack's layer count is a setting (`layers`), not a flag. An older file without `kind` gets its flags
from the cell's name, parsed as cells/lstm.c parses it (lstm-peep is Greff's vanilla LSTM V; a
single ablation keeps Greff's name, anything else is lstm-peep or lstm followed by +modifiers).

compare.py uses this to refuse (or, with --allow-confounded, flag loudly) a comparison of a
variant with a baseline that differs in more than one part, and to name the base that isolates
the part: `lstm-nfg` against `lstm` changes forget_gate AND peepholes; against `lstm-peep` only
forget_gate.

Example:
    >>> import rnnbench_cells as rc
    >>> rc.differences(rc.flags_from_name("lstm-nfg"), rc.flags_from_name("lstm"))
    ['forget_gate', 'peepholes']
    >>> rc.single_step_bases(rc.flags_from_name("lstm-nfg"), rc.flags_from_name("lstm"))
    ['lstm-peep', 'lstm-1997']
"""
import numbers

# the flags a results file records per kind, in the order the C cells write them
FLAG_NAMES = {
    "lstm": ("input_gate", "forget_gate", "output_gate", "peepholes", "coupled",
             "full_gate_recurrence", "input_activation", "output_activation"),
    "gru": ("reset_after",),
    "rnn": ("activation",),
    "indrnn": ("activation",),
    "janet": ("beta",),
    "mgu": (),
    "mut": ("variant",),
    "cwrnn": ("modules", "periods"),
    "dglstm": ("depth_gate",),
    "graph": ("equations",),  # a cell written as equations: the equations are its architecture
}
CWRNN_DEFAULT_MODULES = 4  # `cwrnn` alone: 4 modules, periods 1, 2, 4, 8 (cells/cwrnn.c)
VANILLA_LSTM = {"input_gate": 1, "forget_gate": 1, "output_gate": 1, "peepholes": 1, "coupled": 0,
                "full_gate_recurrence": 0, "input_activation": "tanh",
                "output_activation": "tanh"}
# modifier word -> (flag, value), as cells/lstm.c applies them; the order is the canonical one
LSTM_MODIFIERS = {"nig": ("input_gate", 0), "nfg": ("forget_gate", 0),
                  "nog": ("output_gate", 0), "niaf": ("input_activation", "linear"),
                  "noaf": ("output_activation", "linear"), "cifg": ("coupled", 1),
                  "fgr": ("full_gate_recurrence", 1), "np": ("peepholes", 0),
                  "peep": ("peepholes", 1)}
OTHER_CELLS = {"rnn": ("rnn", {"activation": "tanh"}), "irnn": ("rnn", {"activation": "relu"}),
               "gru": ("gru", {"reset_after": 0}), "gru-ra": ("gru", {"reset_after": 1}),
               "indrnn": ("indrnn", {"activation": "relu"}), "janet": ("janet", {"beta": "1"}),
               "mgu": ("mgu", {}), "mut1": ("mut", {"variant": 1}),
               "mut2": ("mut", {"variant": 2}), "mut3": ("mut", {"variant": 3}),
               "dglstm": ("dglstm", {"depth_gate": 1})}
GREFF_BASE = "lstm-peep"  # the vanilla LSTM V that Greff et al.'s single ablations remove from


def _normal(value):
    """A flag value as the results file would hold it: ints for numbers, text otherwise."""
    # numpy's integers are numbers.Integral too (h5py hands attributes over as numpy scalars)
    if isinstance(value, numbers.Real):
        return int(value)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def flags_from_name(name):
    """Return {"kind": ..., flag: value} for a cell name, or None for a name it does not know.

    >>> flags_from_name("lstm-1997")["forget_gate"], flags_from_name("lstm+peep")["peepholes"]
    (0, 1)
    """
    if name in OTHER_CELLS:
        kind, flags = OTHER_CELLS[name]
        return {"kind": kind, **flags}
    if name == "cwrnn" or name.startswith("cwrnn+"):
        return _cwrnn_flags(name)
    if not name.startswith("lstm"):
        return None
    base, *modifiers = name.split("+")
    flags = dict(VANILLA_LSTM)
    if base == "lstm":
        flags["peepholes"] = 0
    elif base == "lstm-1997":
        flags.update(peepholes=0, forget_gate=0)
    elif base != "lstm-peep":
        modifiers.insert(0, base[len("lstm-"):] if base.startswith("lstm-") else "?")
    for word in modifiers:
        if word not in LSTM_MODIFIERS:
            return None
        flag, value = LSTM_MODIFIERS[word]
        flags[flag] = value
    return {"kind": "lstm", **flags}


def _cwrnn_flags(name):
    """cwrnn, cwrnn+m<G> (periods 1, 2, ..., 2^(G-1)) or cwrnn+p<T0>.<T1>...; None if malformed."""
    option = name[len("cwrnn+"):] if "+" in name else f"m{CWRNN_DEFAULT_MODULES}"
    try:
        if option.startswith("m"):
            periods = [2 ** k for k in range(int(option[1:]))]
        elif option.startswith("p"):
            periods = [int(t) for t in option[1:].split(".")]
        else:
            return None
    except ValueError:
        return None
    if not periods:
        return None
    return {"kind": "cwrnn", "modules": len(periods), "periods": ",".join(map(str, periods))}


def flags_from_attrs(attrs, cell_name):
    """Return the flags of a run from its attributes; from the cell's name when the file predates
    the `kind` attribute (or lacks a flag). None when neither says."""
    kind = attrs.get("kind")
    if kind not in FLAG_NAMES:
        return flags_from_name(cell_name)
    flags = {"kind": kind}
    for name in FLAG_NAMES[kind]:
        if name not in attrs:
            return flags_from_name(cell_name)
        flags[name] = _normal(attrs[name])
    return flags


def name_of(flags):
    """Return the canonical name of a cell's flags (as cells/lstm.c spells it).

    >>> name_of(flags_from_name("lstm-peep+nfg+np"))
    'lstm-1997'
    """
    if flags["kind"] == "cwrnn":
        periods = [int(t) for t in str(flags["periods"]).split(",")]
        if periods == [2 ** k for k in range(len(periods))]:
            return "cwrnn" if len(periods) == CWRNN_DEFAULT_MODULES else f"cwrnn+m{len(periods)}"
        return "cwrnn+p" + ".".join(map(str, periods))
    if flags["kind"] != "lstm":
        for name, (kind, values) in OTHER_CELLS.items():
            if kind == flags["kind"] and all(flags.get(k) == v for k, v in values.items()):
                return name
        return flags["kind"]
    mods = [w for w, (flag, value) in LSTM_MODIFIERS.items()
            if w not in ("np", "peep") and flags[flag] == value]
    if flags["peepholes"]:
        if not mods:
            return "lstm-peep"
        return f"lstm-{mods[0]}" if len(mods) == 1 else "lstm-peep+" + "+".join(mods)
    if mods == ["nfg"]:
        return "lstm-1997"
    return "+".join(["lstm"] + mods)


def differences(a, b):
    """Return the flags in which two cells of the same kind differ (["kind"] if the kinds do);
    `layers`, when either says how many (compare.py adds it), counts as one more part."""
    if a["kind"] != b["kind"]:
        return ["kind"]
    names = FLAG_NAMES[a["kind"]] + (("layers",) if "layers" in a or "layers" in b else ())
    return [name for name in names if a.get(name, 1 if name == "layers" else None)
            != b.get(name, 1 if name == "layers" else None)]


def stacked_name(name, flags):
    """`name`, written NAME*L when flags say L > 1 layers (as compare.py and plot.py label
    stacks)."""
    layers = flags.get("layers", 1)
    return f"{name}*{layers}" if layers > 1 else name


def single_step_bases(variant, baseline):
    """Return the names of the cells that differ from `variant` in exactly one of the flags in
    which it differs from `baseline`: the bases that isolate one part. Greff's vanilla LSTM
    first when it is one of them."""
    names = []
    for flag in differences(variant, baseline):
        if flag == "kind":
            return []
        candidate = dict(variant, **{flag: baseline.get(flag, 1 if flag == "layers" else None)})
        if candidate.get("coupled") and not (candidate["input_gate"] and candidate["forget_gate"]):
            continue  # coupling needs both gates: no such cell
        names.append(stacked_name(name_of(candidate), candidate))
    return sorted(names, key=lambda n: n != GREFF_BASE)


def confound_message(variant_name, variant, baseline_name, baseline, present=()):
    """Return the warning for a variant that differs from its baseline in more than one flag,
    or None when it differs in at most one (or is another kind: an architecture comparison)."""
    changed = differences(variant, baseline)
    if changed == ["kind"] or len(changed) <= 1:
        return None
    what = " AND ".join(f"{f} ({variant[f]} vs {baseline[f]})" for f in changed)
    bases = single_step_bases(variant, baseline)
    advice = []
    for name in bases:
        plain, _, depth = name.partition("*")
        base = dict(flags_from_name(plain), **({"layers": int(depth)} if depth else {}))
        if "layers" in variant and "layers" not in base:
            base["layers"] = 1
        only = differences(variant, base)[0]
        why = "; the base of Greff's single ablations" if name == GREFF_BASE else ""
        here = ", in this file" if name in present else ""
        advice.append(f"{name} (differs in {only} only{why}{here})")
    return (f"CONFOUNDED: {variant_name} differs from {baseline_name} in {what}: "
            f"{len(changed)} things change at once"
            + (f"; compare it with {' or '.join(advice)}" if advice else "") + ".")
