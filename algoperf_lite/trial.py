"""One trial from its spec to its record on disk (TrialSpec -> results/.../trial_<i>/)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from algoperf_lite import distributed, registry
from algoperf_lite.environment import describe_environment
from algoperf_lite.errors import UserError
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.results import TrialWriter, trial_dir
from algoperf_lite.rules import Rules, check_ruleset
from algoperf_lite.runner import EvalCallback, TrainResult, train
from algoperf_lite.seeds import derive_seed
from algoperf_lite.submissions import load_submission
from algoperf_lite.tuning import trial_point


@dataclass(frozen=True)
class TrialSpec:
    workload: str
    submission: str  # a name under submissions/ or a path
    rules: Rules
    ruleset: str = "external"
    study: int = 0
    trial: int = 0
    root_seed: int = 0
    scale: str = "auto"
    device: str = "auto"
    data_dir: str | None = None
    results_dir: str = "results"
    stop_at_target: bool = True
    eval_period_sec: float | None = None  # None: the workload's
    eval_every_steps: int | None = None  # evals by step count, for reproducibility checks
    compile: bool = False  # torch.compile the model (compile time counts, as in AlgoPerf)
    max_steps: int | None = None  # end training after this many steps (tests)
    budget_sec: float | None = None  # None: the workload's (times the self-tuning multiplier)
    threads: int | None = 1  # torch threads of a CPU trial (targets were calibrated on 1); None: leave as is
    budget_scale: float = 1.0  # this machine's slowness against the calibration's: scales budget and eval period

    def seed(self, submission_name: str) -> int:
        return derive_seed(self.root_seed, self.study, self.trial, submission_name, self.workload)


@dataclass
class PreparedTrial:
    """A spec with everything resolved, before any training."""

    spec: TrialSpec
    record: dict[str, Any]  # what spec.json holds
    path: Path
    workload: Any
    submission: Any


def prepare_trial(spec: TrialSpec) -> PreparedTrial:
    """Resolve names, scale, device, seed, hyperparameters, budget; raise UserError on
    bad input before anything is trained or written. The data is loaded by
    :func:`run_prepared`, before it writes anything."""
    check_ruleset(spec.ruleset)
    if spec.study < 0 or spec.trial < 0:
        raise UserError("study and trial are 0-based indices: give study>=0 and trial>=0")
    device = distributed.local_device(registry.resolve_device(spec.device))
    for key in ("eval_every_steps", "max_steps", "budget_sec", "eval_period_sec", "threads", "budget_scale"):
        value = getattr(spec, key)
        if value is not None and value <= 0:
            raise UserError(f"{key} must be positive or null, got {value}")
    scale = registry.resolve_scale(spec.scale, device)
    submission = load_submission(spec.submission)
    if spec.ruleset == "self" and submission.form == "native" and submission.self_tuning_point is None:
        raise UserError(f"submission {submission.name} has no self_tuning.json, the fixed point a native "
                        f"submission uses under self-tuning; add one or run with ruleset=external")
    # Built, not loaded: a study prepares every trial up front and checks each workload's data once.
    workload = registry.build_workload(spec.workload, scale, device, resolve_data_dir(spec.data_dir))
    seed = spec.seed(submission.name)
    batch_size, batch_size_source = submission.batch_size_for(workload)
    point = trial_point(submission.search_space, spec.ruleset, spec.rules, spec.root_seed,
                        submission.name, spec.study, spec.trial)
    record = {
        "workload": workload.name, "variant_of": workload.variant_of, "scale": scale,
        "submission": submission.name, "submission_path": str(submission.path),
        "submission_form": submission.form,
        "ruleset": spec.ruleset, "rules": spec.rules.to_dict(),
        "study": spec.study, "trial": spec.trial, "seed": seed, "root_seed": spec.root_seed,
        "hyperparameters": point,
        "search_space": submission.search_space.to_json() if submission.search_space else None,
        # The workload's budget and eval period in this machine's seconds (an explicit
        # budget_sec or eval_period_sec is taken as given).
        "budget_sec": spec.rules.budget(spec.budget_sec or workload.max_allowed_runtime_sec * spec.budget_scale,
                                        spec.ruleset),
        "eval_period_sec": spec.eval_period_sec or workload.eval_period_time_sec * spec.budget_scale,
        "budget_scale": spec.budget_scale,
        "step_hint": workload.step_hint,
        "target": workload.target._asdict(),
        "stop_at_target": spec.stop_at_target,
        "eval_every_steps": spec.eval_every_steps,
        "compile": spec.compile,
        "max_steps": spec.max_steps,
        "num_processes": distributed.world_size(),
        "device": str(device),
        # Part of the measurement on a CPU: every trial of a study runs on the same count.
        "threads": spec.threads if device.type == "cpu" else None,
        "batch_size": batch_size, "batch_size_source": batch_size_source,
    }
    path = trial_dir(Path(spec.results_dir), spec.ruleset, submission.name, spec.study, workload.name, spec.trial)
    return PreparedTrial(spec, record, path, workload, submission)


def budget_scale_for(value: Any, workload: str) -> float:
    """The config's ``budget_scale`` for ``workload``: one number for every workload, or a
    mapping of workload names to numbers (those not named get 1)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(registry.workload_classes()))
        if unknown:
            raise UserError(f"budget_scale names unknown workload(s) {', '.join(unknown)}; "
                            f"`algoperf-lite list` shows the registered names")
    scale = value.get(workload, 1.0) if isinstance(value, dict) else value
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise UserError(f"budget_scale must be a positive number or a mapping of workload names to positive "
                        f"numbers (scripts/machine_speed.py prints one), got {value!r}")
    return float(scale)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on ``threads`` torch threads (None: as set), then restore the count."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def run_prepared(trial: PreparedTrial, on_eval: EvalCallback | None = None) -> tuple[TrainResult, dict[str, Any]]:
    """Train and write the record; returns the result and the outcome as written."""
    with torch_threads(trial.record["threads"]):  # before anything reads the count, environment.json included
        return _run(trial, on_eval)


def _run(trial: PreparedTrial, on_eval: EvalCallback | None) -> tuple[TrainResult, dict[str, Any]]:
    started = time.perf_counter()
    trial.workload.prepare()  # untimed set-up; missing data files are the user's to fix (UserError)
    record = trial.record
    # Under torchrun only rank 0 writes; the other ranks train alongside.
    writer = TrialWriter(trial.path) if distributed.is_main_process() else None
    if writer is not None:
        writer.write_spec(record)
        writer.write_environment(describe_environment(trial.workload.device))

    def record_eval(row: dict[str, Any]) -> None:
        writer.append_eval(row)
        if on_eval is not None:
            on_eval(row)

    result = train(
        trial.workload, trial.submission, record["hyperparameters"], record["seed"],
        record["batch_size"], record["budget_sec"], record["eval_period_sec"],
        on_eval=record_eval if writer is not None else None,
        stop_at_target=record["stop_at_target"], eval_every_steps=record["eval_every_steps"],
        compile_model=record["compile"], max_steps=record["max_steps"],
    )
    outcome = {
        "status": result.status, "reached": result.reached,
        "time_to_target": result.time_to_target, "steps_to_target": result.steps_to_target,
        "submission_time": result.submission_time, "steps": result.steps,
        "num_evals": len(result.evals), "wall_time": time.perf_counter() - started,
        "error": result.error,
    }
    if writer is not None:
        writer.write_outcome(outcome)
    return result, outcome
