"""Arjovsky et al. 2016, copy task: the RNN stays at the baseline, gated cells beat it at short T.

Runs experiments/copy.ini (copy at T = 10, 20, 40 with rnn, lstm and gru) and declares the checks
of experiments/copy.prereg (the baseline 10 ln 8 / (T + 20) is computed by rnnbench and stored
per run):
  - at every T, rnn stays at the baseline (paired TOST of log final loss against log baseline);
    positive control: lstm solves at that T in the same run, else INCONCLUSIVE;
  - at the shortest T, lstm and gru beat the baseline (Wilcoxon signed-rank, claim less);
  - at the longest T, lstm stays at the baseline (their LSTM beat it only at their shortest T);
    positive control: gru solves there.
Every check is INCONCLUSIVE when neither lstm nor gru beats the baseline at any T. Seeds from
design()'s power calculation; Holm over all checks.

Example:
    /usr/bin/python3 scripts/repro/copy_task.py            # a few minutes on 2 cores
    /usr/bin/python3 scripts/repro/copy_task.py --tiny --out /tmp/copy
"""
import sys

import common
import rnnbench_stats as st

STUDY = "copy"

TINY = {"delay": "3, 6", "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 32, "seeds": 2}
FULL = {"delay": "100, 200, 300, 500", "steps": 20000, "hidden": 128, "eval_every": 500,
        "seeds": 10}


def design(prereg):
    """The drop below the baseline the study is designed to detect and the seeds it needs."""
    k = common.prereg_number(prereg, "checks", int)
    dz = common.prereg_number(prereg, "effect_dz")
    n = st.paired_n(dz, alpha=st.ALPHA / k)
    return common.Design(f"Wilcoxon against the baseline detects d_z = {dz:g} with {n} seeds "
                         f"per cell and T at alpha {st.ALPHA / k:.4g} and {st.POWER:.0%} power",
                         "seeds", n)


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


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    margin = common.prereg_number(prereg, "baseline_margin")
    header, rows = ratio_table(df)
    report.text("## Final loss over the baseline (median over seeds)\n\n"
                + common.md_table(header, rows))
    report.compare_table("Final held-out loss against rnn", baseline="rnn")
    report.figure("delay", "delay", "Final loss / baseline against T (median over seeds); "
                  "dashed: the baseline 10 ln8/(T+20)")
    report.figure("curves", "curves", "Training loss per cell and T (dashed: the baseline)")
    delays = sorted(df["delay"].unique())
    learner = [{"cell": "lstm"}, {"cell": "gru"}]
    specs = [common.CheckSpec(f"rnn T={d}: stays at the baseline", "baseline_equivalent",
                              {"cell": "rnn", "delay": d}, margin=margin, learner=learner,
                              control={"cell": "lstm", "delay": d}) for d in delays]
    specs += [common.CheckSpec(f"{c} T={delays[0]}: beats the baseline", "vs_baseline",
                               {"cell": c, "delay": delays[0]}, claim="less", learner=learner)
              for c in ("lstm", "gru")]
    specs.append(common.CheckSpec(f"lstm T={delays[-1]}: stays at the baseline",
                                  "baseline_equivalent", {"cell": "lstm", "delay": delays[-1]},
                                  margin=margin, learner=learner,
                                  control={"cell": "gru", "delay": delays[-1]}))
    return specs


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
