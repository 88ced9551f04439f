"""Arjovsky et al. 2016, copy task: the RNN stays at the baseline, gated cells beat it at short T.

Runs experiments/copy.ini (copy at T = 10, 20, 40 with rnn, lstm and gru, 2 seeds) and checks,
with "beats the baseline" meaning a median final loss / baseline below BEATS (the baseline is
10 ln 8 / (T + 20), computed by rnnbench and stored per run):
  - the rnn does not beat the baseline at any T;
  - the lstm and the gru beat it at the shortest T;
  - the lstm does not beat it at the longest T (their LSTM beat it only at their shortest T).
REPRODUCED if all checks hold, NOT REPRODUCED if none does, else PARTLY.

Example:
    /usr/bin/python3 scripts/repro/copy_task.py            # under a minute on 2 cores
    /usr/bin/python3 scripts/repro/copy_task.py --tiny --out /tmp/copy
"""
import sys


import common

STUDY = "copy"
BEATS = 0.9   # median final loss / baseline below this: the cell beats the baseline

TINY = {"delay": "3, 6", "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 32, "seeds": 1}
FULL = {"delay": "100, 200, 300, 500", "steps": 20000, "hidden": 128, "eval_every": 500,
        "seeds": 3}


def ratio_table(df):
    """Rows of (T, baseline, median loss/baseline per cell)."""
    cells = common.ordered(df["cell"])
    rows = []
    for delay in sorted(df["delay"].unique()):
        at = df[df["delay"] == delay]
        rows.append([int(delay), float(at["baseline"].iloc[0])]
                    + [float(at.loc[at["cell"] == c, "loss_over_baseline"].median())
                       for c in cells])
    return ["T", "baseline 10 ln8/(T+20)"] + [f"{c} loss/baseline" for c in cells], rows


def analyse(df, report, mode):
    """Tables, figures and checks; return (status, reason)."""
    header, rows = ratio_table(df)
    report.text("## Final loss over the baseline (median over seeds)\n\n"
                + common.md_table(header, rows))
    report.compare_table("Final held-out loss (Welch's t-test vs rnn)", baseline="rnn")
    report.figure("delay", "delay", "Final loss / baseline against T (median over seeds); "
                  "dashed: the baseline 10 ln8/(T+20)")
    report.figure("curves", "curves", "Training loss per cell and T (dashed: the baseline)")

    def median_ratio(cell, delay):
        at = df[(df["cell"] == cell) & (df["delay"] == delay)]
        return float(at["loss_over_baseline"].median())

    delays = sorted(df["delay"].unique())
    checks, notes = [], []
    for delay in delays:
        r = median_ratio("rnn", delay)
        checks.append(r >= BEATS)
        notes.append(f"rnn T={delay} {r:.2f}")
    for cell in ("lstm", "gru"):
        r = median_ratio(cell, delays[0])
        checks.append(r < BEATS)
        notes.append(f"{cell} T={delays[0]} {r:.2f}")
    r = median_ratio("lstm", delays[-1])
    checks.append(r >= BEATS)
    notes.append(f"lstm T={delays[-1]} {r:.2f}")
    return common.verdict(checks, notes, f"checks hold (median loss/baseline, beats below {BEATS})")


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, argv)


if __name__ == "__main__":
    sys.exit(main())
