"""The study plan: workloads x submissions x studies x trials -> trial configs, every one
prepared (names, search spaces, seeds, budgets resolved) before anything is trained."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from algoperf_lite.errors import UserError
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.results import Outcome, read_outcome
from algoperf_lite.study import isolation
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.trial import workloads
from algoperf_lite.trial.code import code_changes
from algoperf_lite.trial.config import TrialConfig, settings_of
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.run import prepare_trial, run_prepared
from algoperf_lite.trial.runner import EvalCallback
from algoperf_lite.trial.submissions import PYTHON_PREFIX, SubmissionFacts, submission_facts


@dataclass(frozen=True)
class PlannedTrial:
    index: int  # position in the plan
    config: TrialConfig
    record: TrialRecord  # what its spec.json will hold
    path: Path  # the trial's folder

    @property
    def budget_sec(self) -> float:
        return self.record.budget_sec

    @property
    def label(self) -> str:
        return self.record.label


def trial_configs(s: StudyConfig, device: str) -> list[TrialConfig]:
    """Every trial of the study, study by study, so that an interrupted study has
    covered every submission and workload about equally. With the rules'
    ``held_out_variants``, each workload's registered variants join the plan."""
    settings = settings_of(s)
    settings["scale"] = workloads.resolve_scale(s.scale, workloads.resolve_device(device))  # once, for all
    num_trials = 1 if s.ruleset == "self" else s.rules.num_trials
    names = tuple(s.study.workloads)
    names = workloads.with_held_out_variants(names, s.workloads_path) if s.rules.held_out_variants else names
    return [
        TrialConfig(**settings, workload=workload, submission=submission, study=study, trial=trial,
                    device=device, results_dir=s.results_dir)
        for study in range(s.rules.num_studies)
        for trial in range(num_trials)
        for workload in names
        for submission in s.study.submissions
    ]


def check_data(configs: list[TrialConfig]) -> None:
    """Load each workload's data once, on the CPU, and let it go: missing files stop the
    study before it starts (a UserError naming them) rather than fail every trial."""
    import torch

    for c in {(c.workload, c.scale, c.data_dir): c for c in configs}.values():
        workloads.build_workload(c.workload, c.scale, torch.device("cpu"), resolve_data_dir(c.data_dir),
                                 c.workloads_path).prepare()


def _facts(configs: list[TrialConfig]) -> dict[tuple, SubmissionFacts | None]:
    """Each submission's facts, read in a throwaway process each, so that no submission's
    code runs here (it could change what every later trial starts from); None for one
    given as Python objects, which lives in this process already."""
    names: dict[tuple, list[str]] = {}
    for c in configs:
        names.setdefault(_submission_key(c), []).append(c.workload)
    return {key: None if key[0].startswith(PYTHON_PREFIX) else
            isolation.call(submission_facts, *key, list(dict.fromkeys(workload_names)),
                           what=f"loading submission {key[0]}")
            for key, workload_names in names.items()}


def _submission_key(config: TrialConfig) -> tuple:
    return config.submission, tuple(config.submissions_path), config.search_space


def prepare_plan(configs: list[TrialConfig]) -> list[PlannedTrial]:
    """Prepare every trial and check the data (raising UserError on bad input), keeping
    what the executors need; the workloads are rebuilt when a trial runs, so that a long
    plan does not hold every trial's data."""
    check_data(configs)  # while the server of the submissions' processes starts
    facts = _facts(configs)
    plan: list[PlannedTrial] = []
    seen: dict[Path, str] = {}
    for index, config in enumerate(configs):
        prepared = prepare_trial(config, facts[_submission_key(config)])
        if prepared.path in seen:
            raise UserError(
                f"submissions {seen[prepared.path]!r} and {config.submission!r} have the same folder name "
                f"{prepared.record.submission!r}, so their results would mix; rename one folder"
            )
        seen[prepared.path] = config.submission
        plan.append(PlannedTrial(index, config, prepared.record, prepared.path))
    return plan


def plan_hash(plan: list[PlannedTrial]) -> str:
    canonical = json.dumps([t.record.identity() for t in plan], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def run_planned(trial: PlannedTrial, device: str, on_eval: EvalCallback | None = None) -> Outcome:
    """Prepare the trial again where it runs (its workload and data on ``device``) and
    run it, from a clean folder if an earlier run of it was interrupted (or its record
    is damaged); its outcome. A trial that no longer matches the plan (a target, budget
    or search space edited while the study runs) raises UserError: a study's trials must
    all follow one plan."""
    prepared = prepare_trial(dataclasses.replace(trial.config, device=device))
    now, planned = prepared.record.identity(), trial.record.identity()
    if now != planned:
        parts: list[str] = []
        for k in (k for k in planned if now[k] != planned[k]):
            parts += code_changes(planned[k], now[k]) if k == "code" else [f"{k}: {planned[k]!r} -> {now[k]!r}"]
        changed = ", ".join(parts)
        raise UserError(f"{trial.label} changed since the study was planned ({changed}); a study's trials must "
                        f"follow one plan: rerun with overwrite=true, or in another results_dir")
    done = read_outcome(trial.path)
    return run_prepared(prepared, on_eval=on_eval, overwrite=done is None or done.retry)


def worst_case_sec(plan: list[PlannedTrial], overhead_sec: float) -> float:
    """Every trial using its whole budget, plus the per-trial set-up and eval allowance."""
    return sum(t.budget_sec + overhead_sec for t in plan)
