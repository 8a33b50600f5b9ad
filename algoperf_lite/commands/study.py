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
from algoperf_lite.results import LEADERBOARD_FILE, STUDY_FILE, read_outcome
from algoperf_lite.study.budget_scale import measure_budget_scale
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.executors import (plan_device, resolve_devices, run_trials, slot_names, worker_slots,
                                           worker_threads)
from algoperf_lite.study.launcher import live_jobs
from algoperf_lite.study.lock import holder, results_lock
from algoperf_lite.study.plan import PlannedTrial, plan_hash, prepare_plan, trial_configs
from algoperf_lite.study.progress import StudyProgress
from algoperf_lite.study.resume import claim_results_dir, recorded_budget_scale, refusal, study_record, trial_state
from algoperf_lite.study.summary import print_plan, print_summary
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
    return print_status(settings, console) if status else run_configured_study(settings, overrides, dry_run, console)


def print_status(settings: StudyConfig, console: Console, shown: int = 20) -> int:
    """Where a study stands: its trials done (by how they ended), running, queued, failed,
    interrupted and not started, read from its results directory (and, for a launcher,
    the scheduler)."""
    devices = resolve_devices(settings)
    plan = prepare_plan(trial_configs(dataclasses.replace(settings, budget_scale=1.0), plan_device(settings, devices)))
    results_dir, running_study = settings.results_path, holder(settings.results_path)
    jobs = live_jobs(results_dir) if settings.executor_kind == "launcher" else {}
    groups: dict[str, list[str]] = {}
    for t in plan:
        state, _ = trial_state(t)
        job = jobs.get(str(t.path.relative_to(results_dir)))
        if state == "finished":
            outcome = read_outcome(t.path)
            state = "failed" if outcome.status in ("failed", "diverged") else f"done ({outcome.status.replace('_', ' ')})"
        elif job is not None:
            state = "running" if job == "RUNNING" else f"queued ({job.lower()})"
        elif state == "interrupted" and running_study is not None:
            state = "running"
        groups.setdefault(state, []).append(t.label)
    who = (f"held by a study: host {running_study['host']}, pid {running_study['pid']}, since "
           f"{running_study['started']}" if running_study else "no study is running on it")
    console.print(f"[bold]study {escape(settings.name)}[/bold] in {results_dir} ({who}): {len(plan)} trials: "
                  + ", ".join(f"{len(v)} {k}" for k, v in sorted(groups.items())))
    for state in ("running", "failed", *sorted(k for k in groups if k.startswith("queued"))):
        for label in groups.get(state, [])[:shown]:
            console.print(f"  {state}: {escape(label)}")
    return 0


def _scaled(settings: StudyConfig, overrides: list[str], plan: list[PlannedTrial], devices: list[str],
            dry_run: bool, console: Console) -> StudyConfig:
    """``budget_scale=auto`` resolved: the factors study.json recorded (a resumed study
    measures nothing), else measured now (not in a dry run), printed either way."""
    if settings.budget_scale != "auto" or settings.budget_sec and settings.eval_period_sec:
        return settings  # given, or not needed (each trial's record says which)
    recorded = None if settings.overwrite else recorded_budget_scale(settings.results_path)
    if recorded is not None:
        how = f"reused from {settings.results_path / STUDY_FILE}"
    elif dry_run:
        console.print("budget_scale=auto: budgets below are the workloads' own; the study measures this machine "
                      "against each calibration before its first trial")
        return settings
    else:
        names = tuple(dict.fromkeys(t.record.workload for t in plan))
        slots = worker_slots(settings, devices)
        started = time.monotonic()
        recorded = measure_budget_scale(settings, overrides, names, plan[0].record.scale, slots,
                                        worker_threads(settings, devices))
        how = f"measured in {time.monotonic() - started:.0f} s on {len(slots)} worker(s) at once"
    factors = ", ".join(f"{name} {entry['factor']:.2f}" + ("" if entry["calibrated"] else " (not calibrated)")
                        for name, entry in recorded.items())
    console.print(f"budget_scale=auto, {how}: {factors}")
    return dataclasses.replace(settings, budget_scale=recorded)


def run_configured_study(settings: StudyConfig, overrides: list[str], dry_run: bool, console: Console) -> int:
    """``overrides`` are passed on to a launcher's jobs, which compose the config anew."""
    in_process = [n for n in settings.study.submissions if n.startswith(PYTHON_PREFIX)]
    if in_process and settings.executor_kind != "sequential":
        raise UserError(f"{', '.join(in_process)} live in this process (given as Python objects): they need "
                        f"executor='sequential', not {settings.executor_kind}; give folders to run elsewhere")
    devices = resolve_devices(settings)
    device = plan_device(settings, devices)
    unscaled = dataclasses.replace(settings, budget_scale=1.0) if settings.budget_scale == "auto" else settings
    plan = prepare_plan(trial_configs(unscaled, device))  # every input checked before anything is measured
    if dry_run:
        return _run(_scaled(settings, overrides, plan, devices, True, console), overrides, plan, devices, True,
                    console)
    with results_lock(settings.results_path, warn=lambda m: console.print(f"[yellow]warning[/yellow]: {escape(m)}")):
        settings = _scaled(settings, overrides, plan, devices, False, console)
        return _run(settings, overrides, plan if settings.budget_scale == unscaled.budget_scale else
                    prepare_plan(trial_configs(settings, device)), devices, False, console)


def _run(settings: StudyConfig, overrides: list[str], plan: list[PlannedTrial], devices: list[str], dry_run: bool,
         console: Console) -> int:
    record = study_record(settings, plan, plan_hash(plan))
    slots = slot_names(settings, devices)
    results_dir = settings.results_path
    states = {t.index: trial_state(t) for t in plan}
    print_plan(console, settings, plan, {i: state for i, (state, _) in states.items()}, slots, full=dry_run)
    for t in plan:
        state, why = states[t.index]
        if state in ("damaged", "killed"):
            why = why.strip().splitlines()[-1] if state == "killed" else why
            console.print(f"[yellow]warning[/yellow]: {escape(t.label)}: {state} ({escape(why)}); it is rerun")
    if dry_run:
        reason = refusal(results_dir, record)
        if reason:
            console.print(f"[yellow]a run would be refused[/yellow]: {reason} (overwrite=true starts over)")
        return 0

    claim_results_dir(results_dir, record, settings.overwrite)
    todo = [t for t in plan if states[t.index][0] != "finished"]  # each reruns from a clean folder
    if settings.executor_kind == "launcher":  # a trial whose job of an earlier run is still alive is left to it
        live = live_jobs(results_dir)
        todo = [t for t in todo if str(t.path.relative_to(results_dir)) not in live]
        if live:
            console.print(f"{len(live)} trial(s) queued or running in jobs of an earlier run: left to them "
                          f"(`algoperf-lite study ... --status` shows them); rerun when they are done to score them")
    with StudyProgress(settings.name, len(plan), todo, slots, settings.trial_overhead_sec, console,
                       settings.quiet) as events:
        run_trials(settings, todo, devices, overrides, events)
    print_summary(console, settings, plan)
    if settings.score:
        reference = settings.study.reference_submission
        score_study(results_dir, reference if reference in set(record["submissions"]) else None)
    console.print(f"results: {results_dir}" + (f", leaderboard: {results_dir / LEADERBOARD_FILE}"
                                               if settings.score else ""))
    return 0
