"""The cluster path against a real SLURM: a single-node cluster (Debian's slurm-wlm, munge,
slurmdbd and MariaDB, scripts/slurm_cluster.py) started in a temporary folder, bound to
127.0.0.1, stopped by pid. Needs root and those packages (CI installs them when it runs
as root); skipped otherwise. Each job starts Python twice (the job, and its trial's
supervised worker), so a test takes tens of seconds on 2 cores."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from algoperf_lite.cli import main
from algoperf_lite.commands.study import study_command
from algoperf_lite.errors import UserError
from algoperf_lite.study.scheduler import accounting, final_state
from conftest import REPO, load_script

pytest.importorskip("submitit")

slurm_cluster = load_script("slurm_cluster")

pytestmark = pytest.mark.skipif(slurm_cluster.why_not_here() is not None,
                                reason=f"no SLURM here: {slurm_cluster.why_not_here()}")

# The smallest jobs the node takes: one core each (two run at once on 2 cores), no GPU.
SLURM = ["executor=slurm", "executor.partition=debug", "executor.gpus_per_node=0", "executor.cpus_per_task=1",
         "executor.mem_gb=1", "threads=1", "budget_scale=1", "quiet=true"]
# Trials that stay alive long enough to be caught running.
LONG = ["budget_sec=4", "eval_period_sec=1", "stop_at_target=false"]


def _cluster(accounting: bool):
    folder = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))  # short: unix socket paths
    try:
        with slurm_cluster.SlurmCluster(folder, accounting=accounting) as cluster:
            yield cluster
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def accounted_cluster():
    yield from _cluster(accounting=True)


@pytest.fixture
def cluster(accounted_cluster, monkeypatch):
    """The cluster with accounting, for this test's SLURM commands (sbatch, squeue, sacct)."""
    monkeypatch.setenv("SLURM_CONF", str(accounted_cluster.conf))
    return accounted_cluster


@pytest.fixture
def unaccounted_cluster(monkeypatch):
    """A cluster without accounting (sacct cannot answer), for this test alone."""
    for cluster in _cluster(accounting=False):
        monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
        yield cluster


def _jobs(results: Path) -> dict[str, str]:
    path = results / "launcher" / "jobs.json"
    return {trial: job["job_id"] for trial, job in json.loads(path.read_text()).items()} if path.is_file() else {}


def _all_jobs(cluster) -> list[str]:
    """Every job the cluster holds, finished ones included."""
    return cluster.run("squeue", "--noheader", "--array", "--states=all", "--format=%i").stdout.split()


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.2)


def _start_study(cluster, overrides: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "algoperf_lite.study", *overrides], env=cluster.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_smoke_study_runs_on_slurm_and_a_rerun_submits_nothing(cluster, tmp_path, capsys):
    results = tmp_path / "results"
    overrides = ["study=smoke", "rules.num_trials=1", f"results_dir={results}", *SLURM]
    assert study_command(overrides) == 0
    out = capsys.readouterr().out
    jobs = _jobs(results)
    assert len(jobs) == 2 and all(f"(job {job_id})" in out for job_id in jobs.values())
    assert "study smoke: 2/2 trials finished" in out and "SLURM accounting is off" not in out
    assert (results / "leaderboard.html").is_file()
    assert set(json.loads((results / "study.json").read_text())["submissions"]) == {"adamw", "sgd_momentum"}
    assert accounting() is None and {final_state(job_id) for job_id in jobs.values()} == {"COMPLETED"}

    before = _all_jobs(cluster)
    assert study_command(overrides) == 0
    assert "2 finished (skipped)" in capsys.readouterr().out
    assert _all_jobs(cluster) == before and _jobs(results) == jobs


@pytest.mark.parametrize("budget_scale", ["auto", "1"])
def test_a_job_that_sbatch_refuses_is_one_message_naming_the_setting(cluster, tmp_path, capsys, budget_scale):
    """gpus_per_node=1 (the config's default) on a node without GPUs: the speed measurement's
    job (budget_scale=auto) or the trials' jobs are refused, and nothing is submitted."""
    before = _all_jobs(cluster)
    args = ["study", "study=smoke", f"results_dir={tmp_path}", "executor=slurm", "executor.partition=debug",
            f"budget_scale={budget_scale}", "quiet=true"]
    assert main(args) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "error: SLURM refused the study's jobs (sbatch: Invalid generic resource (gres) specification)" in text
    assert "executor.gpus_per_node=0" in text and "Traceback" not in text and text.count("Invalid generic resource") == 1
    assert _all_jobs(cluster) == before and not list(tmp_path.glob("external_tuning/*/*/*/*/outcome.json"))


def test_failed_jobs_are_recorded_with_their_errors_and_the_study_waits_for_the_others(cluster, tmp_path):
    """Three trials in held jobs: one submission is edited before its job starts (the job
    raises: its trial left the plan), one job is cancelled while it trains (it ends
    without a result), one trains to its end. The study reports each, scores when all
    three have ended, and exits 0."""
    mine = tmp_path / "mine"
    shutil.copytree(REPO / "submissions" / "sgd_momentum", mine)
    results = tmp_path / "results"
    study = _start_study(cluster, [
        "study=smoke", "rules.num_trials=1", f"study.submissions=[adamw,sgd_momentum,{mine}]", f"results_dir={results}",
        *SLURM, *LONG, "+executor.additional_parameters={hold:true}"])
    _wait(lambda: len(_jobs(results)) == 3, 60, "3 held jobs")
    jobs = {trial.split("/")[1]: job_id for trial, job_id in _jobs(results).items()}
    with (mine / "submission.py").open("a") as f:
        f.write("\n# edited while its job waits in the queue\n")
    cluster.run("scontrol", "release", jobs["adamw"].split("_")[0])
    sgd = results / "external_tuning" / "sgd_momentum" / "study_0" / "digits_logreg" / "trial_0"
    _wait(lambda: (sgd / "evals.csv").is_file(), 120, "sgd_momentum's first eval")
    cluster.run("scancel", jobs["sgd_momentum"])
    out, _ = study.communicate(timeout=180)
    assert study.returncode == 0, out

    cancelled = json.loads((sgd / "outcome.json").read_text())
    assert cancelled["status"] == "failed" and cancelled["retry"] is True
    assert cancelled["error"].startswith(f"its job {jobs['sgd_momentum']} ended CANCELLED")
    raised = json.loads((results / "external_tuning" / "mine" / "study_0" / "digits_logreg" / "trial_0" /
                         "outcome.json").read_text())
    assert raised["status"] == "failed" and raised["retry"] is False
    assert raised["error"].startswith(f"its job {jobs['mine']} raised") and "changed since the study was planned" in \
        raised["error"]
    finished = json.loads((results / "external_tuning" / "adamw" / "study_0" / "digits_logreg" / "trial_0" /
                           "outcome.json").read_text())
    assert finished["status"] == "budget_exhausted" and finished["num_evals"] >= 4
    assert "study smoke: 3/3 trials finished (2 failed, 1 budget exhausted)" in out
    assert out.index(f"(job {jobs['adamw']})") < out.index("3/3 trials finished") < out.index("leaderboard")
    assert (results / "leaderboard.html").stat().st_mtime > (results / "external_tuning" / "adamw" / "study_0" /
                                                            "digits_logreg" / "trial_0" / "outcome.json").stat().st_mtime


def test_a_rerun_follows_the_live_jobs_of_a_killed_study_without_accounting(unaccounted_cluster, tmp_path, capsys):
    """The study process is killed while its two jobs train (suspended meanwhile, so that
    they stay alive however slow this machine is); --status names them; a rerun submits
    nothing, clears nothing and follows both to their end (overwrite=true is refused
    meanwhile). The cluster keeps no accounting: squeue alone must tell."""
    results = tmp_path / "results"
    overrides = ["study=smoke", "rules.num_trials=1", f"results_dir={results}", *SLURM, *LONG, "score=false"]
    first = _start_study(unaccounted_cluster, overrides)
    _wait(lambda: len(list(results.glob("external_tuning/*/study_0/digits_logreg/trial_0/evals.csv"))) == 2, 120,
          "both trials' first evals")
    jobs = _jobs(results)
    for job_id in jobs.values():
        unaccounted_cluster.run("scontrol", "suspend", job_id)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    submitted = _all_jobs(unaccounted_cluster)
    evals = {p: p.read_text() for p in results.glob("external_tuning/*/study_0/digits_logreg/trial_0/evals.csv")}
    assert len(jobs) == 2 and not list(results.glob("external_tuning/*/*/*/*/outcome.json"))

    assert study_command(overrides, status=True) == 0
    status = capsys.readouterr().out
    assert "2 suspended" in status and all(f"(job {job_id})" in status for job_id in jobs.values())
    with pytest.raises(UserError, match="overwrite=true would delete .* while jobs of an earlier run still write"):
        study_command([*overrides, "rules.num_trials=2", "overwrite=true"])  # another plan, over live jobs

    rerun = _start_study(unaccounted_cluster, overrides)
    lines = []
    while not lines or "followed, not submitted again" not in lines[-1]:
        lines.append(rerun.stdout.readline())
        assert lines[-1], "".join(lines)
    for job_id in jobs.values():
        unaccounted_cluster.run("scontrol", "resume", job_id)
    out = "".join(lines) + rerun.communicate(timeout=120)[0]
    assert rerun.returncode == 0, out
    assert f"2 trial(s) queued or running in jobs of an earlier run ({' '.join(jobs.values())})" in out
    assert "0 interrupted" in out and "2 in live jobs" in out
    assert out.count("SLURM accounting is off on this cluster") == 1
    assert "warning" not in out  # (the overwrite attempt took over the killed study's lock)
    assert "study smoke: 2/2 trials finished (2 budget exhausted)" in out
    assert _all_jobs(unaccounted_cluster) == submitted and _jobs(results) == jobs  # nothing submitted again
    assert all(p.read_text().startswith(before) for p, before in evals.items())  # nor cleared
