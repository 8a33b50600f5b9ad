"""How fast this machine trains a workload, against the machine that calibrated its
target: the factor ``budget_scale=auto`` multiplies the workload's budget and eval period
by, so that "reached within budget" means the same amount of training everywhere
(docs/rules.md, "Budgets on other machines").

factor = calibration steps/s (the step hint over the budget, from ``targets.json``) / this
machine's steps/s on the same reference run (the calibration's submission and point),
measured with the runner for :data:`MEASURE_SEC` of submission time, evaluation off, on
the trials' device and thread count. A study measures under its trials' concurrency (its
pool's workers all at once); a workload without a calibration gets 1 and says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from algoperf_lite.trial import workloads
from algoperf_lite.trial.environment import device_name, torch_threads
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import EvalSchedule, train
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.workload_kit import calibration

MEASURE_SEC = 2.0  # of submission time per workload: 30-100 steps of the slowest smoke workloads
WARMUP_SEC = 0.1  # a first run, not counted (lazy optimizer state, the allocator's first requests)


@dataclass(frozen=True)
class Speed:
    """One workload's speed here against its calibration's."""

    workload: str
    scale: str
    factor: float  # this machine's seconds per calibration second
    calibrated: bool
    steps_per_sec: float | None = None  # here
    calibration_steps_per_sec: float | None = None
    calibration_hardware: str | None = None
    reference: dict[str, Any] | None = None  # the calibration's submission and point
    device: str = "cpu"
    device_name: str = ""
    threads: int | None = None
    measured_sec: float = 0.0
    date: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"method": "measured" if self.calibrated else "not calibrated: factor 1", **asdict(self)}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@functools.cache  # once per process: a pool worker, or a notebook, measures each workload once
def measure(workload: str, scale: str, device: str, threads: int | None, data_dir: Path | None,
            workloads_path: tuple[str, ...] = (), seconds: float = MEASURE_SEC) -> Speed:
    """The speed of ``workload`` at ``scale`` here, on ``device`` with ``threads`` torch threads."""
    torch_device = torch.device(device)
    registered = workloads.workload_classes(workloads_path)[workload]
    entry = calibration(registered.cls, workload, scale)
    base = dict(workload=workload, scale=scale, device=device, device_name=device_name(torch_device),
                threads=threads, date=_now())
    if entry is None:
        return Speed(factor=1.0, calibrated=False, **base)
    reference = {"submission": entry["provenance"]["best_submission"], "point": entry["provenance"]["best_point"]}
    with torch_threads(threads):
        w = workloads.build_workload(workload, scale, torch_device, data_dir, workloads_path)
        w.prepare()
        submission = load_submission(reference["submission"])
        for budget in (WARMUP_SEC, seconds):  # each ends at its budget, before any eval
            record = TrialRecord.of(w, submission, hyperparameters=reference["point"], budget_sec=budget,
                                    eval_period_sec=math.inf, stop_at_target=False)
            result = train(w, submission, record, schedule=EvalSchedule(math.inf, at_steps=()))
            if result.status == "failed":
                raise RuntimeError(f"the calibration reference of {workload} failed here: {result.error}")
    here = result.steps / result.submission_time
    reference_speed = entry["step_hint"] / entry["budget_sec"]
    return Speed(factor=reference_speed / here, calibrated=True, steps_per_sec=here,
                 calibration_steps_per_sec=reference_speed, calibration_hardware=entry["provenance"]["hardware"],
                 reference=reference, measured_sec=result.submission_time, **base)
