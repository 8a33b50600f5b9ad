"""Run a study's trials with the executor its config names (configs/executor/):
``sequential`` in this process, ``pool`` in local worker processes, ``launcher`` as jobs
of a Hydra launcher plugin (submitit: SLURM or local; Ray). Same plan, same records."""

from __future__ import annotations

import time
import traceback

from algoperf_lite.errors import UserError
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.trial import workloads
from algoperf_lite.study.plan import PlannedTrial, run_planned
from algoperf_lite.study.pool import cores, pool_slots, run_pool
from algoperf_lite.study.progress import StudyEvents
from algoperf_lite.study.resume import record_failure


def resolve_devices(settings: StudyConfig) -> list[str]:
    """The devices trials run on; ``auto``: every visible GPU, else the CPU."""
    if settings.devices == "auto":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    for device in settings.devices:
        workloads.resolve_device(device)  # UserError for a device this machine lacks
    return list(settings.devices)


def worker_slots(settings: StudyConfig, devices: list[str]) -> list[tuple[str, str]]:
    """(name, device) of each place trials run at once, as the progress display names them."""
    kind = settings.executor_kind
    if kind == "sequential":
        return [(devices[0], devices[0])]
    if kind == "launcher":
        return [("launcher", "auto")]
    return pool_slots(settings, devices)


def slot_names(settings: StudyConfig, devices: list[str]) -> list[str]:
    return [name for name, _ in worker_slots(settings, devices)]


def worker_threads(settings: StudyConfig, devices: list[str]) -> int | None:
    """The torch threads of a CPU trial: ``threads``, else the pool's share of the cores
    (None: as the process has them)."""
    if settings.threads is not None or settings.executor_kind != "pool":
        return settings.threads
    return max(1, cores() // len(pool_slots(settings, devices)))


def plan_device(settings: StudyConfig, devices: list[str]) -> str:
    """The device the plan is prepared (validated) and recorded with: the sequential
    executor's (the first of several GPUs, for ``auto``); a pool worker replaces it with
    its own; a launcher job resolves ``auto`` on its node."""
    if settings.executor_kind == "launcher":
        if settings.devices != "auto":
            raise UserError("a launcher job runs on the device its node gives it: leave devices=auto "
                            "and ask for GPUs in the executor config (e.g. executor.gpus_per_node=1)")
        return "auto"
    if settings.executor_kind == "sequential" and len(devices) > 1 and settings.devices != "auto":
        raise UserError(f"executor=sequential runs on one device, got devices={devices}; "
                        f"use executor=pool to run trials on several")
    return devices[0]


def run_sequential(trials: list[PlannedTrial], device: str, events: StudyEvents) -> None:
    """One after another in this process. The runner records a submission's exception as
    a failed trial; any other error is recorded too and the study goes on (but not a
    UserError: a trial that left the plan stops the study)."""
    for trial in trials:
        events.started(trial, device)
        started = time.monotonic()
        try:
            outcome = run_planned(trial, device, on_eval=lambda row, t=trial: events.evaluated(t, row))
        except UserError:
            raise
        except Exception:
            outcome = record_failure(trial, traceback.format_exc(limit=-8), time.monotonic() - started)
        events.finished(trial, outcome, device)


def run_trials(settings: StudyConfig, trials: list[PlannedTrial], devices: list[str],
               overrides: list[str], events: StudyEvents) -> None:
    kind = settings.executor_kind
    if kind == "sequential":
        run_sequential(trials, devices[0], events)
    elif kind == "pool":
        run_pool(settings, trials, devices, events)
    else:
        from algoperf_lite.study.launcher import run_launcher

        run_launcher(settings, trials, overrides, events)
