"""How much a time to target moves with the root seed alone, for candidate targets of one
workload: the figures behind a target's choice of metric (scripts/set_targets.py --as-loss).

Each submission runs its self-tuning point twice, at root seeds 0 and 1 (with common random
numbers: the weights and data order a study with that seed gives), for a fixed number of
steps, never stopping at a target and evaluating every few steps, so that each target below
is read off the same curves at that step resolution. Per target it prints the cells reached
under both seeds and how far apart their two times to target are (|log(t1/t0)|, shown as a
ratio - 1): the seed noise that reorders submissions between two studies.

    python scripts/seed_noise.py digits_logreg --steps 1500 --eval-every 10 \\
        --targets 'accuracy>=0.9445' 'loss<=0.3095'

Times are submission times on the trial's clock; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import tempfile

import pandas as pd

import algoperf_lite
from algoperf_lite.spec import Target

BASELINES = ["adafactor", "adamw", "ema", "lion", "muon", "nadamw", "nesterov", "prodigy", "sam",
             "schedule_free_adamw", "sgd_momentum", "shampoo", "soap"]


def parse_target(text: str) -> Target:
    match = re.fullmatch(r"\s*(\w+)\s*(>=|<=)\s*([0-9.eE+-]+)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"a target is METRIC>=VALUE or METRIC<=VALUE, got {text!r}")
    metric, op, value = match.groups()
    return Target(metric, float(value), maximize=op == ">=")


def time_to_target(evals: pd.DataFrame, target: Target) -> float:
    """The submission time of the first eval that reaches ``target`` (inf: none does)."""
    reached = evals[f"validation/{target.metric}"].map(target.reached)
    return float(evals.loc[reached.idxmax(), "submission_time"]) if reached.any() else math.inf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--targets", nargs="+", type=parse_target, required=True)
    parser.add_argument("--steps", type=int, required=True, help="steps of every run")
    parser.add_argument("--eval-every", type=int, required=True, help="steps between evals")
    parser.add_argument("--submissions", nargs="+", default=BASELINES)
    parser.add_argument("--seeds", type=int, nargs=2, default=[0, 1])
    args = parser.parse_args(argv)

    curves: dict[tuple[str, int], pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as results:
        for name in args.submissions:
            for seed in args.seeds:
                result = algoperf_lite.run(args.workload, name, ruleset="self", seed=seed, stop_at_target=False,
                                           max_steps=args.steps, eval_every_steps=args.eval_every, budget_sec=1e6,
                                           budget_scale=1, device="cpu", results_dir=f"{results}/seed_{seed}",
                                           quiet=True)
                if result.outcome.status == "failed":
                    print(f"{name} seed {seed}: failed ({result.outcome.error})", file=sys.stderr)
                    continue
                curves[name, seed] = result.evals()
                print(f"  {name} seed {seed}: {len(curves[name, seed])} evals", file=sys.stderr)

    first, second = args.seeds
    for target in args.targets:
        rows = {name: (time_to_target(curves[name, first], target), time_to_target(curves[name, second], target))
                for name in args.submissions if (name, first) in curves and (name, second) in curves}
        both = {n: abs(math.log(b / a)) for n, (a, b) in rows.items() if math.isfinite(a) and math.isfinite(b)}
        verdicts = sum(math.isfinite(a) == math.isfinite(b) for a, b in rows.values())
        line = (f"{args.workload} {target}: reached under both seeds by {len(both)} of {len(rows)}, "
                f"verdicts agree for {verdicts}")
        if both:
            worst = max(both, key=both.get)
            line += (f"; times differ by a median {math.expm1(statistics.median(both.values())):.0%}, "
                     f"at most {math.expm1(both[worst]):.0%} ({worst})")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
