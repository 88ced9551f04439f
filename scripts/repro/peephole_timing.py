"""Gers et al. 2002 (precise timing): peephole connections help an LSTM emit precisely timed spikes.

Runs experiments/peephole-timing.ini (the timing task at T = 10, 20, 30, 40: emit a spike exactly T
steps after an input spike; lstm-peep vs lstm, 5 seeds, runs stop when solved) and checks:
  - lstm-peep solves more runs than lstm (all T pooled);
  - lstm-peep needs fewer steps to solve on average (never solved counts as the step budget);
  - that difference is significant (Welch's t-test over all runs, p < 0.05).
REPRODUCED if all three hold, NOT REPRODUCED if none does, else PARTLY.

Example:
    /usr/bin/python3 scripts/repro/peephole_timing.py          # under a minute on 2 cores
    /usr/bin/python3 scripts/repro/peephole_timing.py --tiny --out /tmp/pt
"""
import sys


import common

STUDY = "peephole-timing"
ALPHA = 0.05

TINY = {"delay": "3, 5", "steps": 20, "hidden": 4, "batch": 8, "eval_every": 10,
        "eval_size": 32, "seeds": 2}
FULL = {"delay": "10, 20, 50, 100", "steps": 20000, "hidden": 32, "eval_every": 500,
        "seeds": 10}


def analyse(df, report, mode):
    """Tables, figures and checks; return (status, reason)."""
    report.compare_table("Steps to solve (censored at the budget; Welch vs lstm-peep)",
                         baseline="lstm-peep", metric="steps_to_solve")
    report.compare_table("Final held-out loss", baseline="lstm-peep")
    report.figure("delay", "delay", "Steps to solve against T (median over seeds; budget = "
                  "never solved)", metric="steps_to_solve")
    report.figure("curves", "curves", "Training loss per cell and T (dashed: all-zero output)")
    peep, nopeep = df[df["cell"] == "lstm-peep"], df[df["cell"] == "lstm"]
    s_peep, s_no = int((peep["solved"] != 0).sum()), int((nopeep["solved"] != 0).sum())
    steps_peep, steps_no = common.censored_steps(peep), common.censored_steps(nopeep)
    t, p = common.welch(steps_peep, steps_no)
    checks = [s_peep > s_no, steps_peep.mean() < steps_no.mean(), bool(p < ALPHA)]
    per_delay = "; ".join(
        f"T={d}: {int((peep[peep['delay'] == d]['solved'] != 0).sum())}/"
        f"{int((peep['delay'] == d).sum())} vs "
        f"{int((nopeep[nopeep['delay'] == d]['solved'] != 0).sum())}/"
        f"{int((nopeep['delay'] == d).sum())}" for d in sorted(df["delay"].unique()))
    status = common.grade(sum(checks), len(checks))
    return status, (f"{sum(checks)}/3 checks hold: solved lstm-peep {s_peep}/{len(peep)} vs "
                    f"lstm {s_no}/{len(nopeep)} ({per_delay}); mean steps to solve "
                    f"{steps_peep.mean():.0f} vs {steps_no.mean():.0f} (Welch p="
                    f"{common.fmt(p, 2)})")


def main(argv=None):
    """Run the study; return the exit status."""
    return common.run_study(STUDY, __doc__, TINY, FULL, analyse, argv)


if __name__ == "__main__":
    sys.exit(main())
