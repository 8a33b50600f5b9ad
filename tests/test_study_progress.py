"""The study's live panel and its lines: counts, per-worker rows, remaining time."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from algoperf_lite.results import Outcome
from algoperf_lite.spec import Target
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.study.progress import StudyProgress
from algoperf_lite.trial.config import TrialConfig
from algoperf_lite.trial.record import TrialRecord

TARGET = Target("accuracy", 0.9, maximize=True)


def trial(index: int, submission: str) -> PlannedTrial:
    record = TrialRecord(workload="digits_logreg", scale="smoke", submission=submission, ruleset="external",
                         rules=None, study=0, trial=index, seed=0, hyperparameters=None, budget_sec=10.0,
                         eval_period_sec=1.0, target=TARGET, stop_at_target=True, batch_size=64, compile=False,
                         threads=1)
    config = TrialConfig(workload="digits_logreg", submission=submission, trial=index)
    return PlannedTrial(index, config, record, Path(f"t{index}"))


def test_the_panel_counts_trials_per_worker_and_estimates_what_is_left():
    console = Console(record=True, width=200, force_terminal=False)
    trials = [trial(0, "a"), trial(1, "b"), trial(2, "c")]
    progress = StudyProgress("demo", plan_size=4, todo=trials, slots=["cpu#0", "cpu#1"], overhead_sec=5.0,
                             console=console, quiet=True)
    assert progress.remaining_sec() == 3 * 15.0 / 2  # worst case, shared by 2 workers
    progress.started(trials[0], "cpu#0")
    progress.started(trials[1], "cpu#1")
    progress.evaluated(trials[1], {"submission_time": 2.5})
    progress.finished(trials[0], Outcome(status="failed", reached=False, time_to_target=None, steps_to_target=None,
                                         submission_time=1.0, steps=3, num_evals=0, wall_time=1.0,
                                         error="Traceback...\nRuntimeError: boom"), "cpu#0")
    console.print(progress)
    out = console.export_text()
    assert "[2/4] study 0 trial 0 (cpu#0): not reached validation accuracy >= 0.9: a on digits_logreg" in out
    assert "RuntimeError: boom" in out
    assert "study demo: 2/4 done (1 before this run), 1 running, 1 failed" in out
    assert "cpu#0 idle" in " ".join(out.split()) and "b on digits_logreg, study 0 trial 1" in out
    assert "2.5/10 s of budget" in out
