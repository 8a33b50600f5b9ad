"""``algoperf-lite study [overrides] [--dry-run | --status | --cfg]``: plan, validate, run
(resuming), score; :func:`run_configured_study` is what ``algoperf_lite.run_study`` calls too.

config (configs/study.yaml) -> plan: one trial config per trial, all prepared and
validated before any training -> study.json -> executor -> results dir -> scores and
leaderboard.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from algoperf_lite.commands.report import report_command
from algoperf_lite.commands.score import score_command
from algoperf_lite.configs import config_yaml, load_config
from algoperf_lite.console import stdout_console
from algoperf_lite.errors import UserError
from algoperf_lite.locks import results_lock, study_holder
from algoperf_lite.results import LEADERBOARD_FILE, STUDY_FILE, read_outcome
from algoperf_lite.study import isolation
from algoperf_lite.study.budget_scale import measure_budget_scale
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.executors import (plan_device, resolve_devices, run_trials, slot_names, worker_slots,
                                           worker_threads)
from algoperf_lite.study.launcher import Job, accounting_note, live_jobs, run_launcher
from algoperf_lite.study.plan import PlannedTrial, plan_hash, prepare_plan, trial_configs
from algoperf_lite.study.pool import cores, free_cpu_workers
from algoperf_lite.study.progress import StudyProgress
from algoperf_lite.study.resume import claim_results_dir, recorded_budget_scale, refusal, study_record, trial_state
from algoperf_lite.study.scheduler import JobState
from algoperf_lite.study.summary import print_plan, print_summary
from algoperf_lite.trial.config import MEASURED_SCALES
from algoperf_lite.trial.submissions import PYTHON_PREFIX


def score_study(results_dir: Path, reference: str | None) -> None:
    """The study's scores (tables and CSVs) and its leaderboard page."""
    score_command(results_dir, None, reference=reference)
    report_command(results_dir)


def study_command(overrides: list[str], dry_run: bool = False, console: Console | None = None,
                  status: bool = False, cfg: bool = False) -> int:
    """Run (or with ``dry_run`` only print, with ``status`` only report on, with ``cfg`` print
    the config of) the study that ``overrides`` of configs/study.yaml describe. Bad input
    raises UserError before any training."""
    console = console or stdout_console()
    if cfg:
        console.print(config_yaml("study", overrides), markup=False, end="")
        return 0
    settings = load_config("study", overrides)
    isolation.warm_up()  # the trials' server imports while this process plans
    return print_status(settings, console) if status else run_configured_study(settings, dry_run, console)


def print_status(settings: StudyConfig, console: Console, shown: int = 20) -> int:
    """Where a study stands: its trials done (by how they ended), running, queued, failed,
    interrupted and not started, read from its results directory (and, for a launcher,
    the scheduler)."""
    devices = resolve_devices(settings)
    plan = prepare_plan(trial_configs(dataclasses.replace(settings, budget_scale=1.0), plan_device(settings, devices)))
    results_dir, running_study = settings.results_path, study_holder(settings.results_path)
    jobs = live_jobs(results_dir)
    groups: dict[str, list[str]] = {}
    listed = ["running", "failed"]  # and the other states of live jobs: each trial named
    for t in plan:
        state, _ = trial_state(t)
        label = t.label
        if state == "finished":
            outcome = read_outcome(t.path)
            state = "failed" if outcome.status in ("failed", "diverged") else f"done ({outcome.status.replace('_', ' ')})"
        elif _folder(t, results_dir) in jobs:
            job, now = jobs[_folder(t, results_dir)]
            state = {"RUNNING": "running", "PENDING": "queued"}.get(now.state, now.state.lower())
            label += f" (job {job.job_id}" + (f", {now.reason})" if now.reason else ")")
            listed += [state] if state not in listed else []
        elif state == "interrupted" and running_study is not None:
            state = "running"
        groups.setdefault(state, []).append(label)
    who = f"held by a study: {running_study}" if running_study else "no study is running on it"
    console.print(f"[bold]study {escape(settings.name)}[/bold] in {results_dir} ({who}): {len(plan)} trials: "
                  + ", ".join(f"{len(v)} {k}" for k, v in sorted(groups.items())))
    for state in listed:
        for label in groups.get(state, [])[:shown]:
            console.print(f"  {state}: {escape(label)}")
    return 0


def _scaled(settings: StudyConfig, plan: list[PlannedTrial], devices: list[str], dry_run: bool,
            console: Console) -> StudyConfig:
    """``budget_scale=auto`` resolved: the factors study.json recorded (a resumed study
    measures nothing), else measured now (not in a dry run), printed either way."""
    if settings.budget_scale not in MEASURED_SCALES or settings.budget_sec and settings.eval_period_sec:
        return settings  # given, or not needed (each trial's record says which)
    recorded = None if settings.overwrite else recorded_budget_scale(settings.results_path)
    if recorded is not None:
        how = f"reused from {settings.results_path / STUDY_FILE}"
    elif dry_run:
        console.print(f"budget_scale={settings.budget_scale}: budgets below are the workloads' own; the study "
                      f"measures this machine against each calibration before its first trial (or reads its kept "
                      f"measurement)")
        return settings
    else:
        names = tuple(dict.fromkeys(t.record.workload for t in plan))
        slots = worker_slots(settings, devices)
        started = time.monotonic()
        recorded = measure_budget_scale(settings, names, plan[0].record.scale, slots, worker_threads(settings, devices))
        kept = sorted({e["date"] for e in recorded.values() if e.get("cached")})
        how = (f"this machine's measurement of {', '.join(kept)} (budget_scale=measure measures again)"
               if kept else f"measured in {time.monotonic() - started:.0f} s on {len(slots)} worker(s) at once")
    factors = ", ".join(f"{name} {entry['factor']:.2f}" + ("" if entry["calibrated"] else " (not calibrated)")
                        for name, entry in recorded.items())
    console.print(f"budget_scale={settings.budget_scale}, {how}: {factors}")
    return dataclasses.replace(settings, budget_scale=recorded)


def run_configured_study(settings: StudyConfig, dry_run: bool, console: Console) -> int:
    in_process = [n for n in settings.study.submissions if n.startswith(PYTHON_PREFIX)]
    if in_process and settings.executor_kind != "sequential":
        raise UserError(f"{', '.join(in_process)} live in this process (given as Python objects): they need "
                        f"executor='sequential', not {settings.executor_kind}; give folders to run elsewhere")
    devices = resolve_devices(settings)
    if settings.executor_kind == "pool" and settings.workers == 0:
        settings = _free_core_workers(settings, devices, console)
    device = plan_device(settings, devices)
    unscaled = dataclasses.replace(settings, budget_scale=1.0) if settings.budget_scale in MEASURED_SCALES else settings
    plan = prepare_plan(trial_configs(unscaled, device))  # every input checked before anything is measured
    if dry_run:
        return _run(_scaled(settings, plan, devices, True, console), plan, devices, True, console)
    with results_lock(settings.results_path, warn=lambda m: console.print(f"[yellow]warning[/yellow]: {escape(m)}")):
        settings = _scaled(settings, plan, devices, False, console)
        return _run(settings, plan if settings.budget_scale == unscaled.budget_scale else
                    prepare_plan(trial_configs(settings, device)), devices, False, console)


def _free_core_workers(settings: StudyConfig, devices: list[str], console: Console) -> StudyConfig:
    """``workers=0``: on the CPU, as many pool workers as cores that other programs leave
    free (a trial that takes turns on a core computes slower, docs/repeatability.md); one
    per GPU."""
    if devices != ["cpu"]:
        return dataclasses.replace(settings, workers=1)
    workers, busy = free_cpu_workers()
    console.print(f"workers=0: other programs keep {busy:.1f} of {cores()} cores busy; {workers} pool worker(s)")
    return dataclasses.replace(settings, workers=workers)


def _run(settings: StudyConfig, plan: list[PlannedTrial], devices: list[str], dry_run: bool,
         console: Console) -> int:
    record = study_record(settings, plan, plan_hash(plan))
    slots = slot_names(settings, devices)
    results_dir = settings.results_path
    live = _live_jobs(settings)  # trial folder -> (job, state) of an earlier run's jobs still queued or running
    states = {t.index: trial_state(t) for t in plan}
    states = {i: ("live", None) if state != "finished" and _folder(plan[i], results_dir) in live else (state, why)
              for i, (state, why) in states.items()}
    print_plan(console, settings, plan, {i: state for i, (state, _) in states.items()}, slots, full=dry_run)
    if live:
        console.print(f"{len(live)} trial(s) queued or running in jobs of an earlier run "
                      f"({' '.join(job.job_id for job, _ in live.values())}): followed, not submitted again")
    for t in plan:
        state, why = states[t.index]
        if state in ("damaged", "killed"):
            why = why.strip().splitlines()[-1] if state == "killed" else why
            console.print(f"[yellow]warning[/yellow]: {escape(t.label)}: {state} ({escape(why)}); it is rerun")
    if settings.executor_kind == "launcher":
        note = accounting_note(settings)
        if note:
            console.print(f"[yellow]note[/yellow]: {escape(note)}")
    reason = refusal(results_dir, record)
    if dry_run:
        if reason:
            console.print(f"[yellow]a run would be refused[/yellow]: {reason} (overwrite=true starts over)")
        return 0
    if reason and live and settings.overwrite:
        raise UserError(f"overwrite=true would delete {results_dir}'s results while jobs of an earlier run still "
                        f"write into it: scancel {' '.join(job.job_id for job, _ in live.values())} first")

    claim_results_dir(results_dir, record, settings.overwrite)
    todo = [t for t in plan if states[t.index][0] not in ("finished", "live")]  # each reruns from a clean folder
    followed = [(t, live[_folder(t, results_dir)][0]) for t in plan if states[t.index][0] == "live"]
    with StudyProgress(settings.name, len(plan), todo + [t for t, _ in followed], slots, settings.trial_overhead_sec,
                       console, settings.quiet) as events:
        if settings.executor_kind == "launcher":
            run_launcher(settings, todo, events, earlier=followed)
        else:
            run_trials(settings, todo, devices, events)
    print_summary(console, settings, plan)
    if settings.score:
        reference = settings.study.reference_submission
        score_study(results_dir, reference if reference in set(record["submissions"]) else None)
    console.print(f"results: {results_dir}" + (f", leaderboard: {results_dir / LEADERBOARD_FILE}"
                                               if settings.score else ""))
    return 0


def _folder(trial: PlannedTrial, results_dir: Path) -> str:
    return str(trial.path.relative_to(results_dir))


def _live_jobs(settings: StudyConfig) -> dict[str, tuple[Job, JobState]]:
    """The earlier runs' jobs still queued or running (trial folder -> (job, state)); only
    a launcher follows them: any other executor is refused while they run."""
    live = live_jobs(settings.results_path)
    if live and settings.executor_kind != "launcher":
        raise UserError(f"{len(live)} trial(s) of this study are still queued or running in jobs of an earlier "
                        f"run ({' '.join(job.job_id for job, _ in live.values())}): rerun with the executor that "
                        f"submitted them to follow them, or wait for them, or scancel them")
    return live
