"""Crash safety and resume (issues 5.8, 9.2): a study process killed with SIGKILL at
several points (running its trials itself, or through a pool of workers) leaves no
corrupt file, and each rerun keeps every finished trial as it was, reruns the
interrupted ones from a clean folder, and completes the plan."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from algoperf_lite.configs import load_config
from algoperf_lite.study.plan import prepare_plan, trial_configs

# 6 trials of ~1 s each: long enough to be killed in the middle of one.
STUDY = ["study=smoke", "rules.num_trials=3", "budget_sec=0.4", "eval_period_sec=0.05", "stop_at_target=false",
         "score=false", "quiet=true"]


def outcome_files(results: Path) -> list[Path]:
    return sorted(results.glob("external_tuning/*/study_*/*/trial_*/outcome.json"))


def mid_trial(results: Path) -> bool:
    """A trial has written evals but no outcome yet."""
    return any(not (p.parent / "outcome.json").exists() for p in results.glob("external_tuning/*/*/*/*/evals.csv"))


def run_until(results: Path, log: Path, kill_when: Callable[[], bool] | None, *overrides: str) -> int:
    """Run the study in a subprocess; SIGKILL it as soon as ``kill_when()`` holds."""
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "algoperf_lite.study", *STUDY, f"results_dir={results}",
                                 *overrides], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while kill_when is not None and proc.poll() is None and time.monotonic() < deadline:
            if kill_when():
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        return proc.wait(timeout=120)


def check_files(results: Path) -> None:
    """Every JSON file parses and every evals.csv reads, with one run's steps in order."""
    for path in results.rglob("*.json"):
        json.loads(path.read_text())
    for path in results.rglob("evals.csv"):
        with open(path, newline="") as f:
            steps = [int(row["step"]) for row in csv.DictReader(f)]
        assert steps and steps[0] == 1 and steps == sorted(set(steps)), (path, steps)


def snapshot(results: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in outcome_files(results)}


def test_a_study_killed_at_any_point_resumes_without_losing_or_rerunning_a_trial(tmp_path):
    results, log = tmp_path / "results", tmp_path / "study.log"
    pool = ("executor=pool", "workers=2")  # a resume may change the executor; the pool's workers die with it
    kill_points = [
        (lambda: not outcome_files(results) and mid_trial(results), ()),  # 0 finished, in the middle of a trial
        (lambda: len(outcome_files(results)) >= 1, pool),  # the other worker in the middle of a trial
        (lambda: len(outcome_files(results)) >= 3, ()),
        (None, ()),  # the last run completes
    ]
    finished: dict[Path, tuple[int, bytes]] = {}
    for kill_when, executor in kill_points:
        code = run_until(results, log, kill_when, *executor)
        assert code == (0 if kill_when is None else -signal.SIGKILL), log.read_text()
        check_files(results)
        now = snapshot(results)
        assert {p: now.get(p) for p in finished} == finished  # no finished trial lost or rerun
        finished = now
    assert len(finished) > 0 and "Traceback" not in log.read_text()

    settings = load_config("study", [*STUDY, f"results_dir={results}"])
    plan = prepare_plan(trial_configs(settings, "cpu"))
    assert sorted(finished) == sorted(t.path / "outcome.json" for t in plan)  # the whole plan, once
    for trial in plan:
        assert json.loads((trial.path / "spec.json").read_text()) == {"format_version": 1, **trial.record.to_json()}
        assert json.loads((trial.path / "outcome.json").read_text())["status"] == "budget_exhausted"
    assert not list(results.rglob("*.tmp"))  # no half-written file left behind
