"""How fast this machine trains a workload, against the machine that calibrated its
target: the factor ``budget_scale=auto`` multiplies the workload's budget and eval period
by, so that "reached within budget" means the same amount of training everywhere
(docs/rules.md, "Budgets on other machines").

factor = calibration steps/s (the step hint over the budget, from ``targets.json``) / this
machine's steps/s on the same reference run (the calibration's submission and point),
measured with the runner on the trials' clock, device and thread count, evaluation off:
the median of :data:`REPEATS` runs of :data:`REPEAT_SEC` each, every one from a fresh
model, so that neither a bad moment of the machine nor one memory layout decides it.

A measurement is kept per machine (:mod:`algoperf_lite.trial.speed_cache`: the hardware's
fingerprint, the configuration and the reference run name it) and reused by later runs
and studies; ``budget_scale=measure`` measures again and replaces it. A measurement
taken while other programs held this process's core for more than 5% of the time is
used once and not kept, with a warning: beside two busy processes on two cores the
factor read 10-23% high (docs/repeatability.md), and a kept one would carry that into
every later study. A workload without a calibration gets 1 and says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import statistics
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from algoperf_lite.results import SHARED_CORE
from algoperf_lite.trial import speed_cache, workloads
from algoperf_lite.trial.clock import CoreWait, default_clock
from algoperf_lite.trial.environment import device_name, torch_threads
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import EvalSchedule, train
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.workload_kit import calibration

REPEATS = 5
REPEAT_SEC = 1.0  # of submission time: 15-50 steps of the slowest smoke workloads
WARMUP_SEC = 0.1  # a first run, not counted (lazy optimizer state, the allocator's first requests)


class SharedCoreWarning(UserWarning):
    """A speed measurement shared its core with other programs and was not kept."""


@dataclass(frozen=True)
class Speed:
    """One workload's speed here against its calibration's."""

    workload: str
    scale: str
    factor: float  # this machine's seconds per calibration second
    calibrated: bool
    steps_per_sec: float | None = None  # here: the median of the repeats
    steps_per_sec_repeats: list[float] = field(default_factory=list)
    calibration_steps_per_sec: float | None = None
    calibration_hardware: str | None = None
    reference: dict[str, Any] | None = None  # the calibration's submission and point
    device: str = "cpu"
    device_name: str = ""
    threads: int | None = None
    clock: str = "cpu"
    concurrency: int = 1  # processes measuring at once, as the trials will run
    measured_sec: float = 0.0
    date: str = ""  # when measured
    cached: bool = False  # read from this machine's record of measurements, not measured now
    core_wait_share: float | None = None  # of the measurement's time, waiting for a core others held

    def to_json(self) -> dict[str, Any]:
        if not self.calibrated:
            method = "not calibrated: factor 1"
        else:
            method = f"cached (measured {self.date})" if self.cached else "measured"
        return {"method": method, **asdict(self)}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _steps_per_sec(w: Any, submission: Any, point: dict[str, Any], seconds: float) -> float:
    """One run of the reference from a fresh model, ended by its budget before any eval."""
    record = TrialRecord.of(w, submission, hyperparameters=point, budget_sec=seconds, eval_period_sec=math.inf,
                            stop_at_target=False)
    result = train(w, submission, record, schedule=EvalSchedule(math.inf, at_steps=()))
    if result.status == "failed":
        raise RuntimeError(f"the calibration reference of {w.name} failed here: {result.error}")
    return result.steps / result.submission_time


@functools.cache  # once per process: a pool worker, or a notebook, measures each workload once
def measure(workload: str, scale: str, device: str, threads: int | None, data_dir: Path | None,
            workloads_path: tuple[str, ...] = (), concurrency: int = 1, refresh: bool = False,
            barrier: Any = None, worker: int = 0) -> Speed:
    """The speed of ``workload`` at ``scale`` here, on ``device`` with ``threads`` torch
    threads, with ``concurrency`` processes measuring at once: this machine's kept
    measurement, else (or if ``refresh``) measured now and kept. ``barrier`` (a pool's)
    makes the processes measuring together start together; each of them keeps its own
    measurement (``worker``), so that a later study combines the same figures again."""
    torch_device = torch.device(device)
    registered = workloads.workload_classes(workloads_path)[workload]
    entry = calibration(registered.cls, workload, scale)
    base = dict(workload=workload, scale=scale, device=device, device_name=device_name(torch_device),
                threads=threads, clock=default_clock(torch_device, threads), concurrency=concurrency)
    if entry is None:
        return Speed(factor=1.0, calibrated=False, date=_now(), **base)
    reference = {"submission": entry["provenance"]["best_submission"], "point": entry["provenance"]["best_point"]}
    reference_speed = entry["step_hint"] / entry["budget_sec"]
    key = speed_cache.key(torch_device, {**base, "worker": worker, "reference": reference,
                                         "calibration_steps_per_sec": reference_speed})
    kept = None if refresh else speed_cache.lookup(key)
    if barrier is not None:
        barrier.wait()  # every process measures (or reads) together, as the trials will train together
    if kept is not None:
        return Speed(factor=reference_speed / kept["steps_per_sec"], calibrated=True, calibration_steps_per_sec=
                     reference_speed, calibration_hardware=entry["provenance"]["hardware"], reference=reference,
                     cached=True, core_wait_share=kept.get("core_wait_share"),
                     **{**base, **{k: kept[k] for k in speed_cache.MEASURED}})
    with torch_threads(threads):
        w = workloads.build_workload(workload, scale, torch_device, data_dir, workloads_path)
        w.prepare()
        submission = load_submission(reference["submission"])
        _steps_per_sec(w, submission, reference["point"], WARMUP_SEC)
        waited = CoreWait()
        repeats = [_steps_per_sec(w, submission, reference["point"], REPEAT_SEC) for _ in range(REPEATS)]
    measured = {"steps_per_sec": statistics.median(repeats), "steps_per_sec_repeats": repeats,
                "measured_sec": REPEAT_SEC * REPEATS, "date": _now(), "core_wait_share": waited.share()}
    if measured["core_wait_share"] is not None and measured["core_wait_share"] > SHARED_CORE:
        warnings.warn(f"{workload}: this machine's speed was measured while other programs held its core "
                      f"{measured['core_wait_share']:.0%} of the time, which reads it slow; used for this run, not "
                      f"kept (budget_scale=measure on a quieter machine keeps one)", SharedCoreWarning, stacklevel=2)
    else:
        speed_cache.store(key, measured)
    return Speed(factor=reference_speed / measured["steps_per_sec"], calibrated=True,
                 calibration_steps_per_sec=reference_speed, calibration_hardware=entry["provenance"]["hardware"],
                 reference=reference, **base, **measured)
