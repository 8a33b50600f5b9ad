"""The study's live panel and its lines: counts, per-worker rows, remaining time."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.study.progress import StudyProgress
from algoperf_lite.trial import TrialSpec

TARGET = {"metric": "accuracy", "value": 0.9, "maximize": True}


def trial(index: int, submission: str) -> PlannedTrial:
    record = {"workload": "digits_logreg", "submission": submission, "study": 0, "trial": index,
              "target": TARGET, "budget_sec": 10.0}
    return PlannedTrial(index, TrialSpec("digits_logreg", submission, None), record, Path(f"t{index}"))


def test_the_panel_counts_trials_per_worker_and_estimates_what_is_left():
    console = Console(record=True, width=200, force_terminal=False)
    trials = [trial(0, "a"), trial(1, "b"), trial(2, "c")]
    progress = StudyProgress("demo", plan_size=4, todo=trials, slots=["cpu#0", "cpu#1"], overhead_sec=5.0,
                             console=console, quiet=True)
    assert progress.remaining_sec() == 3 * 15.0 / 2  # worst case, shared by 2 workers
    progress.started(trials[0], "cpu#0")
    progress.started(trials[1], "cpu#1")
    progress.evaluated(trials[1], {"submission_time": 2.5})
    progress.finished(trials[0], {"status": "failed", "reached": False, "submission_time": 1.0, "steps": 3,
                                  "error": "Traceback...\nRuntimeError: boom"}, "cpu#0")
    console.print(progress)
    out = console.export_text()
    assert "[2/4] study 0 trial 0 (cpu#0): not reached validation accuracy >= 0.9: a on digits_logreg" in out
    assert "RuntimeError: boom" in out
    assert "study demo: 2/4 done (1 before this run), 1 running, 1 failed" in out
    assert "cpu#0 idle" in " ".join(out.split()) and "b on digits_logreg, study 0 trial 1" in out
    assert "2.5/10 s of budget" in out
