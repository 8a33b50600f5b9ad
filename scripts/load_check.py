"""What other programs on the machine do to the benchmark's measurements: the same trial
(and the same speed measurement) alone and beside busy processes, interleaved in one run
so that a drifting machine affects both alike.

    python scripts/load_check.py                      # mnist_cnn + adamw, 2 busy processes, 3 pairs
    python scripts/load_check.py --workload digits_logreg --busy 1 --pairs 5
    python scripts/load_check.py --speed digits_logreg mnist_cnn   # budget_scale factors too

Part 1, a trial: one trial (evals every ``--eval-every`` steps, so that every run trains
the same steps and reaches the target at the same step), timed on the cpu clock and on
the wall clock, ``--pairs`` times alone and beside ``--busy`` processes (ABBA order), at
the point ``algoperf-lite run`` gives the submission. Prints each run's steps to target
and recorded time to target, and per clock the median ratio busy / alone: 1.00 means the
load left the recorded time alone (runs that do not reach the target within
``--max-steps`` are compared on the time of those steps).

Part 2, ``--speed``: each named workload's budget_scale factor measured afresh (as
``budget_scale=measure`` does), alone and beside the busy processes, ``--pairs`` times;
prints the factors and the median ratio busy / alone.

A busy process is a one-thread PyTorch loop of matrix products (``scripts/
reproducibility.py``'s), as another user's training job would keep a core busy. Prints
the machine (CPU model, cores) and its load average before starting.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import torch

from algoperf_lite.rules import load_rules
from algoperf_lite.trial.environment import cpu_name
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.speed import measure
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.trial.tuning import trial_point
from algoperf_lite.trial.workloads import build_workload
from reproducibility import busy_processes


def interleaved(pairs: int, busy: int, run: Callable[[], Any]) -> tuple[list[Any], list[Any]]:
    """``run()`` alone and beside ``busy`` processes, ``pairs`` times each, in ABBA order."""
    alone, loaded = [], []
    for i in range(pairs):
        for with_load in ((False, True) if i % 2 == 0 else (True, False)):
            with busy_processes(busy if with_load else 0):
                (loaded if with_load else alone).append(run())
    return alone, loaded


def trial_part(args: argparse.Namespace) -> None:
    workload = build_workload(args.workload, "smoke", torch.device("cpu"))
    workload.prepare()
    submission = load_submission(args.submission)
    # The point `algoperf-lite run workload=W submission=S` trains: study 0, trial 0.
    point = trial_point(submission.search_space, "external", load_rules(), 0, submission.name, 0, 0)
    for clock in ("cpu", "wall"):
        def run() -> tuple[int | None, float, float]:
            record = TrialRecord.of(workload, submission, seed=0, clock=clock, threads=1, hyperparameters=point,
                                    eval_every_steps=args.eval_every, budget_sec=math.inf, max_steps=args.max_steps)
            result = train(workload, submission, record)
            return result.steps_to_target, result.time_to_target, result.submission_time

        alone, loaded = interleaved(args.pairs, args.busy, run)
        print(f"{clock} clock: {args.workload} + {args.submission} {point}, evals every {args.eval_every} steps")
        for name, runs in (("alone", alone), (f"beside {args.busy} busy", loaded)):
            print(f"  {name:<16} " + "  ".join(f"step {s} at {t:.2f} s" if s else f"not reached ({total:.2f} s)"
                                               for s, t, total in runs))
        reached = all(s is not None for s, _, _ in alone + loaded)
        # Not reached: the recorded time of the same --max-steps steps, compared alike.
        ratios = [(b[1] / a[1]) if reached else (b[2] / a[2]) for a, b in zip(alone, loaded)]
        what = "time to target" if reached else f"submission time of {args.max_steps} steps"
        same = len({s for s, _, _ in alone + loaded}) == 1
        print(f"  {what} busy / alone: median {statistics.median(ratios):.3f} "
              f"(pairs: {', '.join(f'{r:.3f}' for r in ratios)}); same steps to target in every run: {same}")


def speed_part(args: argparse.Namespace) -> None:
    for name in args.speed:
        def run() -> float:
            measure.cache_clear()
            return measure(name, "smoke", "cpu", 1, None, refresh=True).factor

        alone, loaded = interleaved(args.pairs, args.busy, run)
        ratios = [b / a for a, b in zip(alone, loaded)]
        print(f"budget_scale factor of {name}: alone {', '.join(f'{f:.3f}' for f in alone)}; beside {args.busy} "
              f"busy {', '.join(f'{f:.3f}' for f in loaded)}; busy / alone median {statistics.median(ratios):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mnist_cnn")
    parser.add_argument("--submission", default="adamw", help="trained at the point `run` gives it (study 0, trial 0)")
    parser.add_argument("--eval-every", type=int, default=25, help="steps between evals")
    parser.add_argument("--max-steps", type=int, default=500,
                        help="a cap: a run that does not reach the target is compared on these steps' time")
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the loaded runs")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--speed", nargs="*", default=None, metavar="WORKLOAD",
                        help="also measure these workloads' budget_scale factors alone and loaded")
    parser.add_argument("--no-trial", action="store_true", help="only the speed part")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; load average before: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.no_trial:
        trial_part(args)
    if args.speed:
        speed_part(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
