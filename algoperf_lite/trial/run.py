"""One trial from its config to its record on disk:
TrialConfig -> prepare_trial (names, scale, device, seed, point, budget resolved) ->
run_prepared (data, train, write results/.../trial_<i>/)."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from algoperf_lite import spec
from algoperf_lite.errors import UserError
from algoperf_lite.json_files import check_values
from algoperf_lite.locks import trial_lock
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.results import Outcome, TrialWriter, is_finished, trial_dir
from algoperf_lite.trial import code, distributed, loggers, workloads
from algoperf_lite.trial.clock import default_clock
from algoperf_lite.trial.config import MEASURED_SCALES, TrialConfig, TrialSettings
from algoperf_lite.trial.environment import describe_environment, torch_threads
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import EvalCallback, WeightsCallback, train
from algoperf_lite.trial.seeds import derive_seed
from algoperf_lite.trial.speed import measure
from algoperf_lite.trial.submissions import LoadedSubmission, SubmissionFacts, load_submission
from algoperf_lite.trial.tuning import trial_point


@dataclass
class PreparedTrial:
    """A trial with everything resolved, before any training: its record (what spec.json
    will hold), its folder, and the workload (data not yet loaded) and submission."""

    record: TrialRecord
    path: Path
    workload: spec.Workload
    submission: LoadedSubmission | SubmissionFacts  # facts: a plan's trial, prepared without running its code
    logger: loggers.LoggerChoice | None = None  # a tracker that also gets the evals (logger=...)
    save_weights: bool = False  # keep the weights after init and at the end (save_weights=true)


def prepare_trial(config: TrialConfig,
                  submission: LoadedSubmission | SubmissionFacts | None = None) -> PreparedTrial:
    """Resolve names, scale, device, seed, hyperparameters, budget; raise UserError on
    bad input before anything is trained or written. The data is loaded by
    :func:`run_prepared`, before it writes anything. ``submission``: the config's,
    loaded already, or its facts (a plan, which cannot train it); else it is loaded here."""
    logger = loggers.resolve(config.logger, config.logger_dir)  # first: a tracker not installed stops it at once
    device = distributed.local_device(workloads.resolve_device(config.device))
    scale = workloads.resolve_scale(config.scale, device)
    if config.clock == "cpu" and device.type != "cpu":
        raise UserError(f"clock=cpu times the host's CPU work, and a trial on {device} computes on the device: "
                        f"use clock=wall (or auto)")
    if submission is None:
        submission = load_submission(config.submission, config.submissions_path, config.search_space)
    if (config.ruleset == "self" and submission.form == "native" and submission.self_tuning_point is None
            and not config.hp):
        raise UserError(f"submission {submission.name} has no self_tuning.json, the fixed point a native "
                        f"submission uses under self-tuning; add one or run with ruleset=external")
    # Built, not loaded: a study prepares every trial up front and checks each workload's data once.
    workload = workloads.build_workload(config.workload, scale, device, resolve_data_dir(config.data_dir),
                                        config.workloads_path)
    budget_scale, budget_scale_source = budget_scale_for(config, workload.name, scale, device)
    point, point_source = trial_point_of(config, submission)
    family = workloads.workload_classes(config.workloads_path)[workload.name].folder
    record = TrialRecord.of(
        workload, submission, **TrialRecord.config_fields(config),
        root_seed=config.seed,
        seed=trial_seed(config, submission.name, workload.name),
        clock=default_clock(device, config.threads) if config.clock == "auto" else config.clock,
        hyperparameters=point, point_source=point_source,
        code={"submission": code.submission_manifest(submission.module_file),
              "workload": code.folder_manifest(family), "project": code.project()},
        # The workload's budget and eval period in this machine's seconds (an explicit
        # budget_sec or eval_period_sec is taken as given).
        budget_sec=config.rules.budget(config.budget_sec or workload.max_allowed_runtime_sec * budget_scale,
                                       config.ruleset),
        eval_period_sec=config.eval_period_sec or workload.eval_period_time_sec * budget_scale,
        budget_scale=budget_scale, budget_scale_source=budget_scale_source, device=str(device),
        # Part of the measurement on a CPU: every trial of a study runs on the same count.
        threads=config.threads if device.type == "cpu" else None,
    )
    path = trial_dir(Path(config.results_dir), record.ruleset, record.submission, record.study, record.workload,
                     record.trial, chosen=point_source == "chosen")
    return PreparedTrial(record, path, workload, submission, logger, config.save_weights)


def trial_seed(config: TrialConfig, submission: str, workload: str) -> int:
    """The trial's seed, from the root seed, the study and trial indices and the workload;
    without common random numbers, the submission's name too."""
    names = (workload,) if config.common_random_numbers else (submission, workload)
    return derive_seed(config.seed, config.study, config.trial, *names)


def trial_point_of(config: TrialConfig,
                   submission: LoadedSubmission | SubmissionFacts) -> tuple[dict[str, Any] | None, str]:
    """The point the trial gets, and where it came from: the search space (external
    tuning), the submission's self_tuning.json (None here; the runner passes it), or
    "chosen": that point with the ``hp.NAME=VALUE`` values set."""
    if not config.hp:
        return trial_point(submission.search_space, config.ruleset, config.rules, config.seed, submission.name,
                           config.study, config.trial), "search_space" if config.ruleset == "external" else "self_tuning"
    if config.ruleset == "self" or submission.search_space is None:
        base = submission.self_tuning_point or {}
    else:
        base = trial_point(submission.search_space, config.ruleset, config.rules, config.seed, submission.name,
                           config.study, config.trial)
    return {**base, **check_values(config.hp, "hp.NAME=VALUE")}, "chosen"  # NaN could not be recorded


def budget_scale_for(config: TrialSettings, workload: str, scale: str,
                     device: torch.device) -> tuple[float, dict[str, Any]]:
    """The factor by which ``workload``'s budget and eval period are multiplied here, and
    how it was obtained. ``budget_scale`` is ``auto`` (this machine's kept measurement, or
    measured now: :mod:`~algoperf_lite.trial.speed`), ``measure`` (measured now, and kept),
    one number for every workload, or a mapping of workload names to numbers (those not
    named get 1) or to measurements (a study's, made before its first trial:
    ``{"factor": ..., ...}``)."""
    value = config.budget_scale
    if value in MEASURED_SCALES and config.budget_sec and config.eval_period_sec:
        return 1.0, {"method": "not needed: budget_sec and eval_period_sec are given", "factor": 1.0}
    if value in MEASURED_SCALES:
        speed = measure(workload, scale, str(device), config.threads if device.type == "cpu" else None,
                        resolve_data_dir(config.data_dir), tuple(config.workloads_path), refresh=value == "measure")
        return speed.factor, speed.to_json()
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(workloads.workload_classes(config.workloads_path)))
        if unknown:
            raise UserError(f"budget_scale names unknown workload(s) {', '.join(unknown)}; "
                            f"`algoperf-lite list` shows the registered names")
    entry = value.get(workload, 1.0) if isinstance(value, dict) else value
    factor = entry.get("factor") if isinstance(entry, dict) else entry
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
        raise UserError(f"budget_scale must be auto, measure, a positive number or a mapping of workload names to "
                        f"positive numbers, got {value!r}")
    return float(factor), entry if isinstance(entry, dict) else {"method": "given", "factor": float(factor)}


def run_prepared(trial: PreparedTrial, on_eval: EvalCallback | None = None, overwrite: bool = False) -> Outcome:
    """Load the data, train and write the record; the outcome as written. A trial folder
    that holds a record already is refused unless ``overwrite``, which deletes it first:
    a record holds one run. One writer at a time: rank 0 holds the folder's lock from
    its check to its outcome, and a second writer is refused (:mod:`algoperf_lite.locks`)."""
    with trial_lock(trial.path) if distributed.is_main_process() else contextlib.nullcontext():
        return _write_trial(trial, on_eval, overwrite)


def _write_trial(trial: PreparedTrial, on_eval: EvalCallback | None, overwrite: bool) -> Outcome:
    # Rank 0's check: under torchrun another rank may look after rank 0 has begun writing.
    if distributed.is_main_process() and trial.path.is_dir() and any(trial.path.iterdir()):
        if not overwrite:
            state = "finished" if is_finished(trial.path) else "unfinished"
            raise UserError(f"{trial.path} holds a trial already ({state}); overwrite=true replaces it, "
                            f"or give another results_dir")
        if distributed.is_main_process():
            shutil.rmtree(trial.path)
    with torch_threads(trial.record.threads):  # before anything reads the count, environment.json included
        started = time.perf_counter()
        trial.workload.prepare()  # untimed set-up; missing data files are the user's to fix (UserError)
        # Under torchrun only rank 0 writes; the other ranks train alongside.
        writer = TrialWriter(trial.path) if distributed.is_main_process() else None
        tracker = loggers.start(trial.logger, trial.record, trial.path) if writer is not None else None
        if writer is not None:
            writer.write_spec(trial.record.to_json())
            writer.write_environment(describe_environment(trial.workload.device, trial.submission.path))

        def record_eval(row: dict[str, Any]) -> None:
            writer.append_eval(row)
            if tracker is not None:  # called after the clock paused for the eval, as is on_eval
                tracker.log_eval(row)
            if on_eval is not None:
                on_eval(row)

        result = train(trial.workload, trial.submission, trial.record,
                       on_eval=record_eval if writer is not None else None,
                       on_weights=weights_saver(writer) if writer is not None and trial.save_weights else None)
        outcome = result.outcome(wall_time=time.perf_counter() - started)
        if tracker is not None:
            tracker.finish(outcome)
        if writer is not None:
            writer.write_outcome(outcome)
        return outcome


def weights_saver(writer: TrialWriter) -> WeightsCallback:
    """Writes the model's state_dict (without the DDP or torch.compile wrapper's prefixes) to the
    trial's folder, atomically."""

    def save(moment: str, model: torch.nn.Module) -> None:
        model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        writer.write_weights(moment, buffer.getvalue())

    return save
