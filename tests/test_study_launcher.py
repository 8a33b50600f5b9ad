"""The cluster path with submitit's local executor (tests/test_slurm.py runs the same
jobs on a real SLURM), and what the launcher checks before any job. The studies are slow:
each job starts two Python processes (the job, and the supervised trial in it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from algoperf_lite.commands.study import study_command
from algoperf_lite.errors import UserError
from algoperf_lite.results import JOBS_FILE
from algoperf_lite.study.scheduler import GONE, job_states

pytest.importorskip("submitit")


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
    assert "[1/1] study 0 trial 0 (job " in capsys.readouterr().out

    mtime = outcome.stat().st_mtime_ns
    assert study_command(overrides) == 0
    assert "1 finished (skipped)" in capsys.readouterr().out and outcome.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_a_rerun_follows_trials_whose_jobs_still_run(tmp_path, capsys):
    """The study process dies while its jobs run on: a rerun finds their recorded job ids,
    neither deletes their folders nor submits them again, and waits for them to score."""
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

    assert study_command(overrides, status=True) == 0
    assert "2 running" in capsys.readouterr().out
    jobs_before = jobs.read_text()
    assert study_command(overrides) == 0
    out = capsys.readouterr().out
    assert "2 trial(s) queued or running in jobs of an earlier run" in out and "2 in live jobs" in out
    assert "study smoke: 2/2 trials finished" in out and jobs.read_text() == jobs_before
    assert sorted(results.glob("external_tuning/*/*/*/trial_0")) == folders  # not cleared


def test_a_setting_submitit_does_not_take_is_one_message_before_anything_is_submitted(tmp_path):
    with pytest.raises(UserError, match=r"executor\.partitions is not a setting of submitit's local executor; "
                                        r"its settings: .*timeout_min"):
        study_command(["study=smoke", f"results_dir={tmp_path}", "executor=submitit_local", "budget_scale=1",
                       "+executor.partitions=gpu", "quiet=true"])
    assert not (tmp_path / "launcher" / "jobs.json").exists()


def test_a_local_job_is_alive_until_its_process_has_exited():
    """submitit's local jobs are processes: running, then gone once exited, reaped or not
    (a process that has exited and waits to be reaped is not a running job)."""
    process = subprocess.Popen(["sleep", "30"])
    job_id = str(process.pid)
    assert job_states("local", [job_id])[job_id].live
    process.kill()
    deadline = time.monotonic() + 10
    while job_states("local", [job_id])[job_id].live and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_states("local", [job_id])[job_id].state == GONE  # exited, not yet reaped
    process.wait()
    assert job_states("local", [job_id])[job_id].state == GONE


def test_while_an_earlier_runs_job_lives_status_names_it_and_other_executors_are_refused(tmp_path, capsys):
    """A recorded local job whose process is alive (here a stand-in process) holds its
    trial: --status shows it running with its id; the sequential executor would run the
    trial a second time and is refused."""
    overrides = ["study=smoke", f"results_dir={tmp_path}", "rules.num_trials=1", "study.submissions=[adamw]",
                 "budget_scale=1", "quiet=true"]
    job = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / JOBS_FILE).parent.mkdir(parents=True)
        (tmp_path / JOBS_FILE).write_text(json.dumps({"external_tuning/adamw/study_0/digits_logreg/trial_0": {
            "job_id": str(job.pid), "folder": str(tmp_path / "launcher" / ".submitit" / str(job.pid)),
            "cluster": "local"}}))
        assert study_command([*overrides, "executor=submitit_local"], status=True) == 0
        assert "1 running" in (out := capsys.readouterr().out) and f"(job {job.pid})" in out
        with pytest.raises(UserError, match=rf"1 trial\(s\) of this study are still queued or running in jobs of an "
                                            rf"earlier run \({job.pid}\): rerun with the executor that submitted them"):
            study_command(overrides)
    finally:
        job.kill()
        job.wait()
    assert not list(tmp_path.glob("external_tuning/*/*/*/*/spec.json"))  # nothing ran
