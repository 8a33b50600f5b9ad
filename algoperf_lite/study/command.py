"""`algoperf-lite study [overrides] [--dry-run]`: plan, validate, run (resuming), score.

config (configs/study.yaml) -> plan: one trial config per trial, all prepared and
validated before any training -> study.json -> executor -> results dir -> scores and
leaderboard.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rich.console import Console

from algoperf_lite.configs import load_config
from algoperf_lite.console import stdout_console
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.executors import (plan_device, resolve_devices, run_trials, slot_names, worker_slots,
                                           worker_threads)
from algoperf_lite.study.plan import PlannedTrial, plan_hash, prepare_plan, trial_configs
from algoperf_lite.study.progress import StudyProgress
from algoperf_lite.study.resume import (claim_results_dir, clear_interrupted, recorded_budget_scale, refusal,
                                        study_record, trial_state)
from algoperf_lite.study.speed import measure_budget_scale
from algoperf_lite.study.summary import print_plan, print_summary


def score_study(results_dir: Path, reference: str | None) -> None:
    """The study's scores (tables and CSVs) and its leaderboard page."""
    from algoperf_lite.scoring.commands import report_command, score_command

    score_command(results_dir, None, reference=reference)
    report_command(results_dir)


def study_command(overrides: list[str], dry_run: bool = False, console: Console | None = None) -> int:
    """Run (or with ``dry_run`` only print) the study that ``overrides`` of
    configs/study.yaml describe. Bad input raises UserError before any training."""
    return run_study(load_config("study", overrides), overrides, dry_run, console or stdout_console())


def _scaled(settings: StudyConfig, overrides: list[str], plan: list[PlannedTrial], devices: list[str],
            dry_run: bool, console: Console) -> StudyConfig:
    """``budget_scale=auto`` resolved: the factors study.json recorded (a resumed study
    measures nothing), else measured now (not in a dry run), printed either way."""
    if settings.budget_scale != "auto" or settings.budget_sec and settings.eval_period_sec:
        return settings  # given, or not needed (each trial's record says which)
    recorded = None if settings.overwrite else recorded_budget_scale(settings.results_path)
    if recorded is not None:
        how = f"reused from {settings.results_path / 'study.json'}"
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


def run_study(settings: StudyConfig, overrides: list[str], dry_run: bool, console: Console) -> int:
    """``overrides`` are passed on to a launcher's jobs, which compose the config anew."""
    devices = resolve_devices(settings)
    device = plan_device(settings, devices)
    unscaled = dataclasses.replace(settings, budget_scale=1.0) if settings.budget_scale == "auto" else settings
    plan = prepare_plan(trial_configs(unscaled, device))  # every input checked before anything is measured
    settings = _scaled(settings, overrides, plan, devices, dry_run, console)
    if settings.budget_scale != unscaled.budget_scale:
        plan = prepare_plan(trial_configs(settings, device))
    record = study_record(settings, plan, plan_hash(plan))
    slots = slot_names(settings, devices)
    results_dir = settings.results_path
    print_plan(console, settings, plan, {t.index: trial_state(t) for t in plan}, slots, full=dry_run)
    if dry_run:
        reason = refusal(results_dir, record)
        if reason:
            console.print(f"[yellow]a run would be refused[/yellow]: {reason} (overwrite=true starts over)")
        return 0

    claim_results_dir(results_dir, record, settings.overwrite)
    todo = [t for t in plan if trial_state(t) != "finished"]
    for trial in todo:
        clear_interrupted(trial)
    with StudyProgress(settings.name, len(plan), todo, slots, settings.trial_overhead_sec, console,
                       settings.quiet) as events:
        run_trials(settings, todo, devices, overrides, events)
    print_summary(console, settings, plan)
    if settings.score:
        reference = settings.study.reference_submission
        score_study(results_dir, reference if reference in set(record["submissions"]) else None)
    console.print(f"results: {results_dir}" + (f", leaderboard: {results_dir / 'leaderboard.html'}"
                                               if settings.score else ""))
    return 0
