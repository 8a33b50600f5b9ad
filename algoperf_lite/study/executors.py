"""Run a study's trials with the executor its config names (configs/executor/):
``sequential`` one at a time, ``pool`` several at once on this machine, ``launcher`` as
jobs of a cluster's scheduler (submitit: SLURM, or processes on this machine). Same plan,
same records; every trial in a fresh process of its own (:mod:`algoperf_lite.study.isolation`),
except those of a submission given as Python objects, which live in this process."""

from __future__ import annotations

import time
import traceback

from algoperf_lite.errors import UserError
from algoperf_lite.results import LOGS_DIR
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.trial import workloads
from algoperf_lite.study.plan import PlannedTrial, run_planned
from algoperf_lite.study.pool import Pool, Slot, cores, pool_slots, run_pool
from algoperf_lite.study.progress import StudyEvents
from algoperf_lite.study.resume import record_failure
from algoperf_lite.trial.submissions import PYTHON_PREFIX


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
    """The places the progress display shows, idle or not (a launcher's jobs show as they run)."""
    return [] if settings.executor_kind == "launcher" else [name for name, _ in worker_slots(settings, devices)]


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


def run_in_process(trials: list[PlannedTrial], device: str, events: StudyEvents) -> None:
    """One after another in this process (submissions given as Python objects live only
    here). The runner records a submission's exception as a failed trial; any other error
    is recorded too and the study goes on (but not a UserError: a trial that left the
    plan stops the study)."""
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


def run_sequential(settings: StudyConfig, trials: list[PlannedTrial], device: str, events: StudyEvents) -> None:
    """One after another on ``device``, each in a fresh process (as in the pool: a trial that
    crashes or hangs costs that trial only), its output in RESULTS_DIR/logs/."""
    logs = settings.results_path / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    pool = Pool([Slot(device, device, settings.threads, logs / "worker_0.log")],
                lambda t: settings.timeout_sec(t.budget_sec), settings.trial_overhead_sec, events)
    for trial in trials:
        if trial.config.submission.startswith(PYTHON_PREFIX):
            run_in_process([trial], device, events)
        else:
            pool.run([trial])


def run_trials(settings: StudyConfig, trials: list[PlannedTrial], devices: list[str], events: StudyEvents) -> None:
    """``trials`` one at a time or in the pool (a launcher's trials go to
    :func:`~algoperf_lite.study.launcher.run_launcher`, with the earlier run's live jobs)."""
    if settings.executor_kind == "sequential":
        run_sequential(settings, trials, devices[0], events)
    else:
        run_pool(settings, trials, devices, events)
