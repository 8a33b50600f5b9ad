"""What a trial is, resolved: the :class:`TrialRecord` that the runner trains from and that
``spec.json`` holds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from algoperf_lite import spec
from algoperf_lite.rules import Rules, load_rules
from algoperf_lite.trial import distributed
from algoperf_lite.trial.clock import default_clock

# Field metadata: a field that describes the trial (where it ran, how it was derived)
# without deciding its result is left out of the plan's identity; one marked "config" is
# the trial config's (TrialConfig) key of the same name, as given.
DESCRIBES = {"identity": False}
CONFIG = {"config": True}


def _describes(default: Any = dataclasses.MISSING, **metadata: Any) -> Any:
    return field(default=default, metadata={**DESCRIBES, **metadata})


def _config(default: Any = dataclasses.MISSING) -> Any:
    return field(default=default, metadata=CONFIG)


@dataclass(frozen=True)
class TrialRecord:
    workload: str
    scale: str
    submission: str  # the display name (the folder's)
    ruleset: str = _config()
    rules: Rules = _config()
    study: int = _config()
    trial: int = _config()
    seed: int  # this trial's, derived from the root seed
    hyperparameters: dict[str, Any] | None  # None under self-tuning
    # The workload's budget and eval period in this machine's seconds (times the self-tuning
    # multiplier and budget_scale), unless given.
    budget_sec: float
    eval_period_sec: float
    target: spec.Target | None  # None: train without one (``check``)
    stop_at_target: bool = _config()
    batch_size: int
    compile: bool = _config()
    threads: int | None  # torch threads on a CPU (part of the measurement); None on a GPU
    variant_of: str | None = None
    # The code it runs (algoperf_lite.trial.code): {"submission": {file: hash}, "workload":
    # {file: hash} of the family's folder, "project": {"version", "commit"}}.
    code: dict[str, Any] | None = None
    autocast: bool = _config(False)  # bfloat16 autocast of the forward passes
    clock: str = "cpu"  # the submission clock: cpu | wall (algoperf_lite/trial/clock.py)
    time_resolution: float = _config(0.02)  # checkpoints between evals (algoperf_lite/trial/checkpoints.py)
    common_random_numbers: bool = _config(True)  # the seed is the same for every submission
    submission_path: str = _describes("")
    submission_form: str = _describes("")
    root_seed: int = _describes(0)
    search_space: Any = _describes(None)
    point_source: str = _describes("search_space")  # search_space | self_tuning | chosen (hp.NAME=VALUE)
    budget_scale: float = _describes(1.0)
    budget_scale_source: dict[str, Any] | None = _describes(None)  # measured (how, when), given, or not calibrated
    step_hint: int = _describes(0)
    eval_every_steps: int | None = _describes(None, config=True)
    max_steps: int | None = _describes(None, config=True)
    num_processes: int = _describes(1)
    device: str = _describes("cpu")
    batch_size_source: str = _describes("given")

    @classmethod
    def of(cls, workload: spec.Workload, submission: Any, **fields: Any) -> TrialRecord:
        """A record for ``submission`` (a loaded :class:`~algoperf_lite.trial.submissions.LoadedSubmission`)
        on ``workload``: the workload's target, budget, eval period and step hint, the
        submission's batch size, and ``fields`` for anything else (tests, scripts and
        ``check`` train this way; :func:`~algoperf_lite.trial.run.prepare_trial` too)."""
        if "batch_size" not in fields:
            fields["batch_size"], fields["batch_size_source"] = submission.batch_size_for(workload)
        defaults = dict(
            workload=workload.name, variant_of=workload.variant_of, scale=workload.scale,
            submission=submission.name, submission_path=str(submission.path), submission_form=submission.form,
            ruleset="external", rules=load_rules(), study=0, trial=0, seed=0, hyperparameters=None,
            search_space=submission.search_space.to_json() if submission.search_space else None,
            budget_sec=workload.max_allowed_runtime_sec, eval_period_sec=workload.eval_period_time_sec,
            step_hint=workload.step_hint, target=workload.target, stop_at_target=True, compile=False,
            threads=None, num_processes=distributed.world_size(), device=str(getattr(workload, "device", "cpu")),
            clock=default_clock(getattr(workload, "device", torch.device("cpu")),
                                fields.get("threads") or torch.get_num_threads()),
        )
        return cls(**{**defaults, **fields})

    @classmethod
    def config_fields(cls, config: Any) -> dict[str, Any]:
        """The fields a trial's config gives as they are (marked "config")."""
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if f.metadata.get("config")}

    def identity(self) -> dict[str, Any]:
        """The fields that decide the trial's result, as JSON: trials of one plan that
        differ here are different trials."""
        data = self.to_json()
        return {f.name: data[f.name] for f in dataclasses.fields(self) if f.metadata.get("identity", True)}

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["rules"] = self.rules.to_json()
        data["target"] = self.target._asdict() if self.target is not None else None
        return data

    @property
    def label(self) -> str:
        return f"{self.submission} on {self.workload}, study {self.study} trial {self.trial}"
