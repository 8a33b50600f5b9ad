"""The cluster path: the same planned trials as jobs of Hydra's submitit launcher, here
with submitit's local executor (SLURM runs the very same jobs). Slow: each job starts two
Python processes (the job, and the supervised trial in it)."""

from __future__ import annotations

import json

import pytest

from algoperf_lite.study.command import study_command

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
