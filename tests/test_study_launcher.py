"""The cluster path: the same planned trials as jobs of Hydra's submitit launcher, here
with submitit's local executor (SLURM runs the very same jobs). Slow: each job starts two
Python processes (the job, and the supervised trial in it)."""

from __future__ import annotations

import json

import pytest

from algoperf_lite.commands.study import study_command

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


@pytest.mark.slow
def test_submitit_local_runs_a_one_trial_study_and_a_rerun_submits_nothing(tmp_path, capsys):
    results = tmp_path / "results"
    overrides = ["study=smoke", f"results_dir={results}", "executor=submitit_local", "rules.num_trials=1",
                 "study.submissions=[adamw]", "budget_sec=0.5", "score=false", "quiet=true"]
    assert study_command(overrides) == 0
    (outcome,) = results.glob("external_tuning/adamw/study_0/digits_logreg/trial_0/outcome.json")
    assert json.loads(outcome.read_text())["status"] in {"reached", "budget_exhausted"}
    spec = json.loads((outcome.parent / "spec.json").read_text())
    assert spec["budget_sec"] == 0.5 and spec["hyperparameters"]
    assert list((results / "launcher" / ".submitit").glob("*/*_0_log.out"))  # the job's own log
    assert "[1/1] study 0 trial 0 (launcher)" in capsys.readouterr().out

    mtime = outcome.stat().st_mtime_ns
    assert study_command(overrides) == 0
    assert "1 finished (skipped)" in capsys.readouterr().out and outcome.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_a_rerun_leaves_trials_whose_jobs_still_run_to_them(tmp_path, capsys):
    """The study process dies while its jobs run on: a rerun finds their recorded job ids,
    asks submitit, and neither deletes their folders nor submits them again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    results = tmp_path / "results"
    overrides = ["study=smoke", f"results_dir={results}", "executor=submitit_local", "rules.num_trials=1",
                 "budget_sec=8", "eval_period_sec=1", "stop_at_target=false", "score=false", "quiet=true"]
    first = subprocess.Popen([sys.executable, "-m", "algoperf_lite.study", *overrides],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jobs, deadline = results / "launcher" / "jobs.json", time.monotonic() + 120
    while time.monotonic() < deadline and not (jobs.is_file() and len(json.loads(jobs.read_text())) == 2
                                               and len(list(results.glob("external_tuning/*/*/*/*/evals.csv"))) == 2):
        time.sleep(0.2)
    os.kill(first.pid, signal.SIGKILL)  # the jobs live on
    first.wait()
    folders = sorted(results.glob("external_tuning/*/*/*/trial_0"))
    assert len(folders) == 2 and not list(results.glob("external_tuning/*/*/*/*/outcome.json"))

    assert study_command(overrides) == 0
    out = capsys.readouterr().out
    assert "2 trial(s) queued or running in jobs of an earlier run: left to them" in out
    assert sorted(results.glob("external_tuning/*/*/*/trial_0")) == folders  # not cleared
    assert study_command(overrides, status=True) == 0
    assert "2 running" in capsys.readouterr().out

    while time.monotonic() < deadline + 60 and len(list(results.glob("external_tuning/*/*/*/*/outcome.json"))) < 2:
        time.sleep(0.5)
    assert study_command(overrides) == 0  # their jobs wrote them: nothing left to run
    assert "2 finished (skipped)" in capsys.readouterr().out
