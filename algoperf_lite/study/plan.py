"""The study plan: workloads x submissions x studies x trials -> trial specs, every one
prepared (names, search spaces, seeds, budgets resolved) before anything is trained."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algoperf_lite import registry
from algoperf_lite.errors import UserError
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.study.config import StudySettings
from algoperf_lite.runner import EvalCallback
from algoperf_lite.trial import TrialSpec, budget_scale_for, prepare_trial, run_prepared

# What a trial's result depends on: a results dir whose trials differ in any of these
# holds another study. The device and the submission's folder may change on resume.
PLAN_KEYS = ("workload", "variant_of", "scale", "submission", "ruleset", "rules", "study", "trial", "seed",
             "hyperparameters", "budget_sec", "eval_period_sec", "target", "stop_at_target",
             "batch_size", "compile", "threads")


@dataclass(frozen=True)
class PlannedTrial:
    index: int  # position in the plan
    spec: TrialSpec
    record: dict[str, Any]  # spec.json, as the trial writes it
    path: Path  # the trial's folder

    @property
    def budget_sec(self) -> float:
        return float(self.record["budget_sec"])

    @property
    def label(self) -> str:
        r = self.record
        return f"{r['submission']} on {r['workload']}, study {r['study']} trial {r['trial']}"


def trial_specs(s: StudySettings, device: str) -> list[TrialSpec]:
    """Every trial of the study, study by study, so that an interrupted study has
    covered every submission and workload about equally. With the rules'
    ``held_out_variants``, each workload's registered variants join the plan."""
    scale = registry.resolve_scale(s.scale, registry.resolve_device(device))  # once, for all trials
    num_trials = 1 if s.ruleset == "self" else s.rules.num_trials
    workloads = registry.with_held_out_variants(s.workloads) if s.rules.held_out_variants else s.workloads
    return [
        TrialSpec(
            workload=workload, submission=submission, rules=s.rules, ruleset=s.ruleset,
            study=study, trial=trial, root_seed=s.seed, scale=scale, device=device,
            data_dir=s.data_dir, results_dir=str(s.results_dir), stop_at_target=s.stop_at_target,
            eval_period_sec=s.eval_period_sec, budget_sec=s.budget_sec, compile=s.compile,
            threads=s.threads, budget_scale=budget_scale_for(s.budget_scale, workload),
        )
        for study in range(s.rules.num_studies)
        for trial in range(num_trials)
        for workload in workloads
        for submission in s.submissions
    ]


def check_data(specs: list[TrialSpec]) -> None:
    """Load each workload's data once, on the CPU, and let it go: missing files stop the
    study before it starts (a UserError naming them) rather than fail every trial."""
    import torch

    for workload, scale, data_dir in dict.fromkeys((s.workload, s.scale, s.data_dir) for s in specs):
        registry.build_workload(workload, scale, torch.device("cpu"), resolve_data_dir(data_dir)).prepare()


def prepare_plan(specs: list[TrialSpec]) -> list[PlannedTrial]:
    """Prepare every spec and check the data (raising UserError on bad input), keeping
    what the executors need; the workloads are rebuilt when a trial runs, so that a long
    plan does not hold every trial's data."""
    plan: list[PlannedTrial] = []
    seen: dict[Path, str] = {}
    for index, spec in enumerate(specs):
        prepared = prepare_trial(spec)
        if prepared.path in seen:
            raise UserError(
                f"submissions {seen[prepared.path]!r} and {spec.submission!r} have the same folder name "
                f"{prepared.record['submission']!r}, so their results would mix; rename one folder"
            )
        seen[prepared.path] = spec.submission
        plan.append(PlannedTrial(index, spec, prepared.record, prepared.path))
    check_data(specs)
    return plan


def _identity(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in PLAN_KEYS}


def plan_hash(plan: list[PlannedTrial]) -> str:
    canonical = json.dumps([_identity(t.record) for t in plan], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def run_planned(trial: PlannedTrial, device: str, on_eval: EvalCallback | None = None) -> dict[str, Any]:
    """Prepare the trial again where it runs (its workload and data on ``device``) and
    run it; its outcome. A trial that no longer matches the plan (a target, budget or
    search space edited while the study runs) raises UserError: a study's trials must
    all follow one plan."""
    prepared = prepare_trial(dataclasses.replace(trial.spec, device=device))
    now, planned = _identity(prepared.record), _identity(trial.record)
    if now != planned:
        changed = ", ".join(f"{k}: {planned[k]!r} -> {now[k]!r}" for k in PLAN_KEYS if now[k] != planned[k])
        raise UserError(f"{trial.label} changed since the study was planned ({changed}); a study's trials must "
                        f"follow one plan: rerun with overwrite=true, or in another results_dir")
    return run_prepared(prepared, on_eval=on_eval)[1]


def worst_case_sec(plan: list[PlannedTrial], overhead_sec: float) -> float:
    """Every trial using its whole budget, plus the per-trial set-up and eval allowance."""
    return sum(t.budget_sec + overhead_sec for t in plan)
