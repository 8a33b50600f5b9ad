"""Fabricated results directories (layout of docs/results.md) with known times to target.

Used by the scoring and report tests, so they need neither torch nor the trial runner.
A trial's evals are built so that the first eval reaching the target is exactly at the
requested time (inf: never reached within the budget).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

ENVIRONMENT = {
    "python": "3.11.9", "torch": "2.4.1", "numpy": "2.1.0", "device": "cuda:0",
    "device_name": "NVIDIA H100 80GB HBM3", "git_commit": "0123abcd4567", "host": "node-7",
    "date": "2025-01-02T03:04:05Z",
}


def write_trial(
    root: Path,
    submission: str,
    workload: str,
    study: int,
    trial: int,
    time_to_target: float,
    *,
    ruleset: str = "external",
    folder: str | None = None,
    target: float = 0.9,
    maximize: bool = True,
    budget: float = 100.0,
    steps_per_sec: float = 10.0,
    hyperparameters: dict | None = None,
    variant_of: str | None = None,
    finished: bool = True,
) -> Path:
    """One trial folder; `folder` replaces the submission name on disk (names need not be paths)."""
    path = root / f"{ruleset}_tuning" / (folder or submission) / f"study_{study}" / workload / f"trial_{trial}"
    path.mkdir(parents=True)
    reached = math.isfinite(time_to_target)
    end = time_to_target if reached else budget
    times = [end * k / 4 for k in (1, 2, 3, 4)]
    final = target if reached else (target * 0.8 if maximize else target * 1.25)
    start = target * 0.3 if maximize else target * 3
    values = [start + (final - start) * k / 4 for k in (1, 2, 3)] + [final]  # exactly the target
    pd.DataFrame({
        "step": [round(t * steps_per_sec) for t in times], "submission_time": times,
        "eval_time": 0.5, "validation/accuracy" if maximize else "validation/loss": values,
        "train/loss": [1.0 / (1 + t) for t in times],
    }).to_csv(path / "evals.csv", index=False)
    metric = "validation/accuracy" if maximize else "validation/loss"
    spec = {
        "format_version": 1, "workload": workload, "scale": "smoke", "submission": submission,
        "submission_path": f"submissions/{folder or submission}", "submission_form": "native",
        "ruleset": ruleset,
        "rules": {"preset": "v0.6", "num_trials": 2, "num_studies": 2, "self_tuning_budget_multiplier": 1.5,
                  "held_out_variants": variant_of is not None},
        "study": study, "trial": trial, "seed": 1000 * study + trial,
        "hyperparameters": hyperparameters if ruleset == "external" else None,
        "batch_size": 128, "batch_size_source": "submission", "budget_sec": budget, "eval_period_sec": budget / 4,
        "step_hint": 1000, "device": "cuda:0",
        # As algoperf_lite.trial writes it: the metric without its "validation/" split.
        "target": {"metric": metric.split("/", 1)[1], "value": target, "maximize": maximize},
    }
    if variant_of:
        spec["variant_of"] = variant_of
    (path / "spec.json").write_text(json.dumps(spec))
    (path / "environment.json").write_text(json.dumps(ENVIRONMENT))
    if finished:
        (path / "outcome.json").write_text(json.dumps({
            "status": "reached" if reached else "budget_exhausted", "reached": reached,
            "time_to_target": time_to_target if reached else None,
            "steps_to_target": round(time_to_target * steps_per_sec) if reached else None,
            "submission_time": end, "steps": round(end * steps_per_sec), "num_evals": 4,
            "wall_time": end * 1.2, "error": None,
        }))
    return path


def make_results_dir(root: Path, times: dict[tuple[str, str], list[list[float]]], study: dict | None = None,
                     **trial_kwargs) -> Path:
    """times[(submission, workload)] = per study, the trials' times to target."""
    for (submission, workload), studies in times.items():
        for k, trials in enumerate(studies):
            for i, t in enumerate(trials):
                hp = {"learning_rate": 0.001 * (i + 1), "weight_decay": 0.1 * k}
                write_trial(root, submission, workload, k, i, t, hyperparameters=hp, **trial_kwargs)
    if study is not None:
        (root / "study.json").write_text(json.dumps(study))
    return root


def test_fake_trial_matches_the_results_layout(tmp_path: Path) -> None:
    path = write_trial(tmp_path, "adamw", "mnist", 0, 1, 42.0)
    assert path == tmp_path / "external_tuning" / "adamw" / "study_0" / "mnist" / "trial_1"
    assert {p.name for p in path.iterdir()} == {"spec.json", "environment.json", "evals.csv", "outcome.json"}
    evals = pd.read_csv(path / "evals.csv")
    # The first eval at or above the 0.9 target is the last one, at exactly 42 s.
    first = evals[evals["validation/accuracy"] >= 0.9].iloc[0]
    assert first["submission_time"] == 42.0
    assert json.loads((path / "outcome.json").read_text())["time_to_target"] == 42.0
