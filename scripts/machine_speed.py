"""How much slower (or faster) this machine steps than the one each target was calibrated
on, per workload: the factor to pass as ``budget_scale`` so that budgets in seconds mean
the same amount of training here.

    python scripts/machine_speed.py digits_logreg mnist_cnn shakespeare_char_lm modular_arithmetic

For each calibrated workload it runs the calibration's best submission and point through
the runner (``--steps`` steps, evaluation off, one torch thread as in calibration) and
compares its steps per second with the calibration's (step hint / budget, from
``targets.json``). Prints one line per workload and the ``budget_scale`` mapping.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from algoperf_lite.paths import data_dir
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.trial.workloads import build_workload, resolve_device, workload_classes
from algoperf_lite.workload_kit import TARGETS_FILE


def calibration(name: str, scale: str) -> dict | None:
    path = workload_classes()[name].folder / TARGETS_FILE
    return json.loads(path.read_text()).get(f"{name}/{scale}") if path.is_file() else None


def steps_per_sec_here(name: str, scale: str, device: torch.device, entry: dict, steps: int, data: str | None) -> float:
    workload = build_workload(name, scale, device, data_dir(data))
    provenance = entry["provenance"]
    submission = load_submission(provenance["best_submission"])
    record = TrialRecord.of(workload, submission, hyperparameters=provenance["best_point"], budget_sec=1e9,
                            eval_period_sec=float("inf"), stop_at_target=False, max_steps=steps)
    result = train(workload, submission, record)
    if result.status != "training_complete":
        raise RuntimeError(f"{name}: the reference run ended {result.status}: {result.error}")
    return result.steps / result.submission_time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (calibration used 1)")
    parser.add_argument("--data-dir", help="default: $ALGOPERF_LITE_DATA_DIR")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    factors: dict[str, float] = {}
    for name in args.workloads:
        entry = calibration(name, args.scale)
        if entry is None:
            print(f"{name:<24} not calibrated at {args.scale} scale: no reference speed to compare with")
            continue
        reference = entry["step_hint"] / entry["budget_sec"]
        here = steps_per_sec_here(name, args.scale, device, entry, args.steps, args.data_dir)
        factors[name] = round(reference / here, 2)
        print(f"{name:<24} calibration {reference:8.1f} steps/s ({entry['provenance']['hardware']})  "
              f"here {here:8.1f} steps/s  factor {reference / here:.2f}", flush=True)
    if factors:
        mapping = ", ".join(f"{name}: {factor}" for name, factor in factors.items())
        print(f"for a run or study on this machine: budget_scale='{{{mapping}}}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
