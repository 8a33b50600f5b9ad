"""Set a workload's validation target and budget the AlgoPerf way (docs/rules.md, "Targets
and budgets"), and record them with their provenance in the family's targets.json.

1. Tune each reference submission: ``--points`` quasirandom points of its search space,
   each trained for ``--tune-budget`` seconds with the step hint ``--tune-steps``.
2. Rerun the best point (best validation metric over all evals) with ``--seeds`` seeds.
3. Target = the median over those seeds of their best validation metric. For an
   accuracy, lowered by ``--standard-errors`` (4) binomial standard errors sqrt(p(1-p)/n)
   of the validation set (n examples; p smoothed to (k+1)/(n+2) for k correct, so that a
   perfect score of 1.0 still gets a margin). The best of ~20 evals of a plateau sits
   about 2 standard errors above the plateau's mean (the expected maximum of 20 normal
   draws is 1.87 of their sd), so 2 put the target on the reference's plateau, and
   whether a run as good as the reference crossed it was the validation sample's luck
   (3 of mnist_cnn's 13 verdicts flipped between seeds there); 4 put it 2 under the plateau.
   With ``--as-loss``, the target is then restated on the validation loss: the median
   over the reruns of their loss at the first eval that reaches the accuracy target. It
   marks the same moment of training, on a metric that moves with every example instead
   of in steps of one image: near a plateau, where a few images of a small validation
   set decide when an accuracy target is crossed, two root seeds' times to an accuracy
   target differ by a median 17% on digits_logreg, to the loss target by 3%
   (scripts/seed_noise.py; docs/repeatability.md).
4. Budget = 4/3 of the median time those reruns took to reach the target, at least
   ``--min-budget`` (on a shared CPU, scheduling noise dominates sub-second budgets);
   step hint = the steps those reruns make in that budget, at their median speed.
5. Check that a good run reaches it: the best point, run as a trial is (that step hint,
   budget and the workload's eval period), with ``--check-seeds`` other seeds; the share
   that reaches the target is recorded, and while it is under ``--min-reach`` the budget
   (and with it the step hint) grows by a quarter: a target the reference reaches half
   the time would make every ranking a coin toss. The checks' times to target are
   recorded as fractions of the budget: how close the reference runs to its edge.

Every run is timed as trials are, on the trial's clock (the CPU time of the process on a
CPU, one torch thread unless ``--threads`` says otherwise); the tuning runs and reruns
evaluate ``--evals`` times each and keep no checkpoints (the target is not known yet),
the checks run exactly as trials do.

Example (the digits target committed in workloads/logreg/targets.json):
    python scripts/set_targets.py digits_logreg --scale smoke \
        --submissions adamw sgd_momentum --points 8 --seeds 5 --tune-budget 4 --tune-steps 12000 \
        --min-budget 3 --standard-errors 4 --as-loss
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import shlex
import statistics
import sys

import torch

from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.rules import load_rules
from algoperf_lite.spec import Target
from algoperf_lite.trial.clock import default_clock
from algoperf_lite.trial.environment import device_name
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.seeds import derive_seed
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.trial.tuning import study_points
from algoperf_lite.trial.workloads import build_workload, resolve_device, workload_classes
from algoperf_lite.workload_kit import TARGETS_FILE


def best_metric(evals: list[dict], key: str, maximize: bool) -> tuple[float, dict]:
    pick = max if maximize else min
    row = pick(evals, key=lambda r: r[key])
    return row[key], row


def first_hits(runs: list, goal: Target, key: str) -> list[dict]:
    """Each run's first eval that reaches ``goal`` (runs that never do are left out)."""
    return [next(row for row in r.evals if goal.reached(row[key])) for r in runs
            if any(goal.reached(row[key]) for row in r.evals)]


def run(workload_name, scale, device, data_dir, submission, point, seed, budget, steps, eval_period):
    """One training run with the given step hint; never stops at the target."""
    workload = build_workload(workload_name, scale, device, data_dir)
    workload.override(step_hint=steps, budget_sec=budget)
    record = TrialRecord.of(workload, submission, hyperparameters=point, seed=seed, eval_period_sec=eval_period,
                            stop_at_target=False, time_resolution=0.0)
    return workload, train(workload, submission, record)


def check(workload_name, scale, device, data_dir, submission, point, seed, goal, budget, step_hint) -> float:
    """The time to target (inf: not reached) of the point, run as a trial of the workload
    with this target, budget and step hint is (the workload's own eval period)."""
    workload = build_workload(workload_name, scale, device, data_dir)
    workload.override(target=goal, budget_sec=budget, step_hint=step_hint)
    return train(workload, submission, TrialRecord.of(workload, submission, hyperparameters=point,
                                                      seed=seed)).time_to_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--scale", default="smoke", choices=["smoke", "full"])
    parser.add_argument("--submissions", nargs="+", default=["adamw", "sgd_momentum"])
    parser.add_argument("--points", type=int, default=8, help="points tuned per reference submission")
    parser.add_argument("--seeds", type=int, default=3, help="reruns of the best point")
    parser.add_argument("--tune-budget", type=float, required=True, help="seconds per tuning run (large)")
    parser.add_argument("--tune-steps", type=int, required=True, help="step hint of the tuning runs")
    parser.add_argument("--evals", type=int, default=40, help="evals per run (time resolution)")
    parser.add_argument("--min-budget", type=float, default=0.0, help="floor of the budget, seconds")
    parser.add_argument("--check-seeds", type=int, default=5, help="seeds of the check that the target is reached")
    parser.add_argument("--min-reach", type=float, default=0.6, help="share of check seeds that must reach it")
    parser.add_argument("--standard-errors", type=float, default=4.0,
                        help="an accuracy target's margin below the reruns' best, in binomial standard errors")
    parser.add_argument("--as-loss", action="store_true",
                        help="restate an accuracy target as the reruns' validation loss when they first reach it")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None, help="data directory (default: ALGOPERF_LITE_DATA_DIR)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (1: as trials run)")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write targets.json")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data_dir = resolve_data_dir(args.data_dir)
    eval_period = args.tune_budget / args.evals
    probe = build_workload(args.workload, args.scale, device, data_dir)
    metric, maximize = probe.target.metric, probe.target.maximize
    if args.as_loss and metric != "accuracy":
        parser.error(f"--as-loss restates an accuracy target; {args.workload}'s target is on {metric}")
    key = f"validation/{metric}"
    rules = dataclasses.replace(load_rules("v0.6"), num_trials=args.points)

    # 1. tune every reference submission
    candidates = []
    for name in args.submissions:
        submission = load_submission(name)
        for i, point in enumerate(study_points(submission.search_space, rules, 0, submission.name, 0)):
            _, result = run(args.workload, args.scale, device, data_dir, submission, point, derive_seed("tune", i),
                            args.tune_budget, args.tune_steps, eval_period)
            if result.status == "failed" or not result.evals:
                print(f"  {name} point {i}: {result.status}", file=sys.stderr)
                continue
            value, row = best_metric(result.evals, key, maximize)
            print(f"  {name} point {i}: best {key} {value:.4f} at {row['submission_time']:.2f} s", file=sys.stderr)
            candidates.append((value, name, point))
    value, best_name, best_point = (max if maximize else min)(candidates, key=lambda c: c[0])
    print(f"best: {best_name} {best_point} ({key} {value:.4f})", file=sys.stderr)

    # 2-3. rerun the best point over seeds; the target is the median of their best metric
    submission = load_submission(best_name)
    seeds = [derive_seed("target", s) for s in range(args.seeds)]
    reruns = [run(args.workload, args.scale, device, data_dir, submission, best_point, s, args.tune_budget,
                  args.tune_steps, eval_period)[1] for s in seeds]
    bests = [best_metric(r.evals, key, maximize)[0] for r in reruns]
    target = statistics.median(bests)
    if metric == "accuracy":
        n = probe.num_validation_examples
        p = (target * n + 1.0) / (n + 2.0)  # Laplace-smoothed, so that a perfect score keeps a margin
        target -= args.standard_errors * math.sqrt(p * (1.0 - p) / n)

    # 4. budget and step hint from when the reruns reached that target
    hits = first_hits(reruns, Target(metric, target, maximize), key)
    if args.as_loss:
        accuracy_target, metric, maximize, key = target, "loss", False, "validation/loss"
        target = statistics.median(h[key] for h in hits)
        hits = first_hits(reruns, Target(metric, target, maximize), key)
    time_to_target = statistics.median(h["submission_time"] for h in hits)
    steps_per_sec = statistics.median(h["step"] / h["submission_time"] for h in hits)
    budget = max(4 / 3 * time_to_target, args.min_budget)
    target = round(target, 4)

    # 5. the share of other seeds that reach it as trials; more budget while too few do
    goal = Target(metric, target, maximize)
    check_seeds = [derive_seed("check", s) for s in range(args.check_seeds)]
    for _ in range(8):
        step_hint = int(round(steps_per_sec * budget, -1))
        times = [check(args.workload, args.scale, device, data_dir, submission, best_point, seed, goal, budget,
                       step_hint) for seed in check_seeds]
        reached = [math.isfinite(t) for t in times]
        reach = sum(reached) / len(reached)
        edge = ", ".join(f"{t / budget:.0%}" if math.isfinite(t) else "not reached" for t in times)
        print(f"check: {sum(reached)}/{len(reached)} seeds reach {target} within {budget:.2f} s (at {edge} of it)",
              file=sys.stderr)
        if reach >= args.min_reach:
            break
        budget *= 1.25
    entry = {
        "metric": metric, "maximize": maximize, "target": target,
        "budget_sec": round(budget, 2), "step_hint": step_hint, "reach": reach,
        "provenance": {
            "command": "python scripts/set_targets.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "hardware": f"{device_name(device)} ({device}, {torch.get_num_threads()} threads)",
            "clock": default_clock(device, torch.get_num_threads()),
            "date": dt.date.today().isoformat(),
            "best_submission": best_name, "best_point": best_point,
            "seeds": seeds, "best_metric_per_seed": bests,
            "target_before_standard_error": statistics.median(bests),
            "standard_errors": args.standard_errors if metric == "accuracy" or args.as_loss else 0,
            **({"restated_from_accuracy_target": round(accuracy_target, 4)} if args.as_loss else {}),
            "time_to_target_per_seed": [h["submission_time"] for h in hits],
            "steps_to_target_per_seed": [h["step"] for h in hits],
            "check_seeds": check_seeds, "reach": f"{sum(reached)} of {len(reached)} check seeds reach the "
                                                  f"target within the budget, run as trials",
            "check_time_to_target_fraction_of_budget": [round(t / budget, 3) if math.isfinite(t) else None
                                                        for t in times],
        },
    }
    print(json.dumps(entry, indent=2))
    if not args.dry_run:
        family = workload_classes()[args.workload].family
        file = workload_classes()[args.workload].folder / TARGETS_FILE
        table = json.loads(file.read_text()) if file.is_file() else {}
        table[f"{args.workload}/{args.scale}"] = entry
        file.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
        print(f"wrote {file} ({family})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
