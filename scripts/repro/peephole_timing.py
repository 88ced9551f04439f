"""Gers et al. 2002 (precise timing): peephole connections help an LSTM emit precisely timed spikes.

Runs experiments/peephole-timing.ini (the timing task at T = 10, 20, 30, 40: emit a spike exactly T
steps after an input spike; lstm-peep vs lstm, runs stop when solved) and declares the checks of
experiments/peephole-timing.prereg, all T pooled:
  - lstm-peep solves more runs than lstm (Fisher's exact test);
  - lstm-peep solves sooner (log-rank test, never solved censored at the budget).
Both are INCONCLUSIVE when neither cell beats the task's trivial baseline. Seeds from design()'s
power calculation; Holm over all checks.

Example:
    /usr/bin/python3 scripts/repro/peephole_timing.py          # about a minute on 2 cores
    /usr/bin/python3 scripts/repro/peephole_timing.py --tiny --out /tmp/pt
"""
import math
import sys

import common
import curves
import rnnbench_stats as st

STUDY = "peephole-timing"

TINY = {"delay": "3, 5", "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 32, "seeds": 2}
FULL = {"delay": "10, 20, 50, 100", "steps": 20000, "hidden": 32, "eval_every": 500,
        "seeds": 10}


def design(prereg):
    """The solved fractions the study is designed to tell apart and the seeds they need."""
    k = common.prereg_number(prereg, "checks", int)
    p1 = common.prereg_number(prereg, "solved_variant")
    p0 = common.prereg_number(prereg, "solved_base")
    delays = common.prereg_number(prereg, "delays", int)
    per_arm = st.fisher_n(p1, p0, alpha=st.ALPHA / k)
    n = math.ceil(per_arm / delays)
    return common.Design(f"Fisher's exact test tells solved fractions {p1:g} (lstm-peep) from "
                         f"{p0:g} (lstm) with {per_arm} runs per arm at alpha "
                         f"{st.ALPHA / k:.4g} and {st.POWER:.0%} power: {n} seeds x {delays} "
                         f"delays", "seeds", n)


def analyse(df, report, mode, prereg):
    """Tables and figures; return the declared checks."""
    report.compare_table("Steps to solve (censored at the budget) against lstm-peep",
                         baseline="lstm-peep", metric="steps_to_solve")
    report.figure("delay", "delay", "Steps to solve against T (median over seeds; budget = "
                  "never solved)", metric="steps_to_solve")
    report.figure("curves", "curves", "Training loss per cell and T (dashed: all-zero output)")
    curves.add_km(report, df, ["delay"], "cell", "timing: fraction solved against updates",
                  series=["lstm-peep", "lstm"])
    learner = [{"cell": "lstm-peep"}, {"cell": "lstm"}]
    peep, nopeep = {"cell": "lstm-peep"}, {"cell": "lstm"}
    return [common.CheckSpec("lstm-peep solves more runs than lstm (all T)", "fisher", peep,
                             nopeep, claim="greater", learner=learner),
            common.CheckSpec("lstm-peep solves sooner than lstm (all T)", "logrank", peep,
                             nopeep, claim="greater", learner=learner)]


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, design, argv)


if __name__ == "__main__":
    sys.exit(main())
