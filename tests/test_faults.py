"""Nothing mixed, nothing lost: a record cannot outlive what produced it, and a fault costs
at most the trial it hit. Each test checks what is on disk afterwards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from algoperf_lite.cli import main
from algoperf_lite.errors import UserError
from algoperf_lite.results import check_trial
from algoperf_lite.commands.study import study_command
from conftest import REPO

# 4 trials of 0.3 s each, fixed budgets (nothing to measure), one process.
STUDY = ["study=smoke", "budget_sec=0.3", "eval_period_sec=0.1", "stop_at_target=false", "score=false", "quiet=true"]


def outcomes(results: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(results.glob("external_tuning/*/study_*/*/trial_*/outcome.json"))}


def no_partial_files(results: Path) -> None:
    assert not list(results.rglob("*.tmp")), list(results.rglob("*.tmp"))
    for path in results.rglob("*.json"):
        json.loads(path.read_text())


def test_run_refuses_an_occupied_trial_folder_unless_overwrite(tmp_path, capsys):
    args = ["run", f"results_dir={tmp_path}", "max_steps=2", "quiet=true", "budget_scale=1"]
    assert main(args) == 0
    (outcome,) = tmp_path.glob("external_tuning/*/*/*/*/outcome.json")
    first = outcome.read_bytes()
    assert main(args) == 2
    assert "holds a trial already (finished); overwrite=true replaces it" in capsys.readouterr().out.replace("\n", "")
    assert outcome.read_bytes() == first
    assert main([*args, "overwrite=true", "max_steps=3"]) == 0
    assert json.loads(outcome.read_text())["steps"] == 3 and check_trial(outcome.parent)[0] is not None


def test_an_outcome_that_belongs_to_another_spec_is_not_finished(tmp_path):
    assert main(["run", f"results_dir={tmp_path}", "max_steps=2", "quiet=true", "budget_scale=1"]) == 0
    (folder,) = tmp_path.glob("external_tuning/*/*/*/trial_0")
    spec = json.loads((folder / "spec.json").read_text())
    (folder / "spec.json").write_text(json.dumps({**spec, "seed": spec["seed"] + 1}))  # a rerun's spec
    assert check_trial(folder) == (None, "outcome.json belongs to another spec.json (a rerun was interrupted)")


def test_a_truncated_outcome_and_a_garbled_evals_csv_are_found_rerun_and_warned(tmp_path, capsys):
    results = tmp_path / "results"
    assert study_command([*STUDY, f"results_dir={results}"]) == 0
    before = outcomes(results)
    truncated, garbled, kept1, kept2 = before
    truncated.write_text(truncated.read_text()[:40])
    evals = garbled.parent / "evals.csv"
    evals.write_text(evals.read_text().splitlines()[0] + "\n1,not-a-time,0.1\n")
    capsys.readouterr()

    assert study_command([*STUDY, f"results_dir={results}"]) == 0
    out = capsys.readouterr().out.replace("\n", "")
    assert "outcome.json is unreadable: not valid JSON" in out and "evals.csv is unreadable); it is rerun" in out
    assert "4 trials: 2 finished (skipped), 2 interrupted (rerun from scratch), 0 new" in out
    after = outcomes(results)
    assert after[kept1] == before[kept1] and after[kept2] == before[kept2]  # untouched
    assert all(check_trial(p.parent)[0] is not None for p in (truncated, garbled))  # whole again
    no_partial_files(results)


FILLS_DISK = """
import errno, os, pathlib, stat
import torch

results, real_fsync = pathlib.Path({results!r}), os.fsync


def fsync(fd):  # the disk fills up once the first trial has finished (in this trial's process)
    if any(results.glob("external_tuning/*/study_*/*/trial_*/outcome.json")) and stat.S_ISREG(os.fstat(fd).st_mode):
        raise OSError(errno.ENOSPC, "No space left on device")
    return real_fsync(fd)


if os.environ.get("DISK_FULL"):
    os.fsync = fsync


def make_optimizer(model, hp, workload):
    return torch.optim.AdamW(model.parameters(), lr=hp.learning_rate)
"""


def test_a_full_disk_gives_one_error_and_loses_nothing(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    mine = tmp_path / "fills_disk"
    mine.mkdir()
    (mine / "submission.py").write_text(FILLS_DISK.format(results=str(results)))
    (mine / "tuning_search_space.json").write_text('[{"learning_rate": 0.01}, {"learning_rate": 0.02}]')
    study = [*STUDY, f"study.submissions=[{mine},sgd_momentum]", f"results_dir={results}"]
    monkeypatch.setenv("DISK_FULL", "1")  # in the trials' processes, whose writes now fail
    assert main(["study", *study]) == 1
    out = capsys.readouterr().out.replace("\n", "")
    assert out.count("error:") == 1 and "the disk is full" in out and "finished trials are kept" in out
    assert "Traceback" not in out
    no_partial_files(results)
    finished = [p for p in outcomes(results) if check_trial(p.parent)[0] is not None]
    assert finished  # the trial that finished before the disk filled is whole

    monkeypatch.delenv("DISK_FULL")  # space freed: the rerun completes the study
    assert main(["study", *study]) == 0
    assert len(outcomes(results)) == 4 and all(check_trial(p.parent)[0] for p in outcomes(results))


def test_an_edited_submission_refuses_the_resume_naming_the_file(tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(REPO / "submissions" / "adamw", mine)
    args = [*STUDY, f"study.submissions=[{mine}]", f"results_dir={tmp_path / 'results'}"]
    assert study_command(args) == 0
    with open(mine / "submission.py", "a") as f:
        f.write("# one more comment\n")
    with pytest.raises(UserError, match=r"different plan \(submission mine: file submission.py edited\).*"
                                        r"overwrite=true"):
        study_command(args)


KILLER = """
import os, pathlib, signal
import torch


class Optimizer(torch.optim.SGD):
    def step(self, closure=None):
        flag = pathlib.Path({flag!r})
        if not flag.exists():  # once: SIGKILL its own worker process, mid-trial
            flag.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().step(closure)


def make_optimizer(model, hp, workload):
    return Optimizer(model.parameters(), lr=hp.learning_rate)
"""


def test_a_pool_worker_killed_mid_trial_is_recorded_failed_and_only_it_retrains(tmp_path):
    results = tmp_path / "results"
    killer = tmp_path / "killer"
    killer.mkdir()
    (killer / "submission.py").write_text(KILLER.format(flag=str(tmp_path / "killed")))
    (killer / "tuning_search_space.json").write_text('[{"learning_rate": 0.1}]')
    common = [*STUDY, "rules.num_trials=1", f"study.submissions=[adamw,{killer}]", f"results_dir={results}"]
    assert study_command([*common, "executor=pool"]) == 0  # one worker: it dies, a new one takes the next trial
    (victim,) = results.glob("external_tuning/killer/*/*/*/outcome.json")
    (other,) = results.glob("external_tuning/adamw/*/*/*/outcome.json")
    recorded = json.loads(victim.read_text())
    assert recorded["status"] == "failed" and "killed by SIGKILL" in recorded["error"] and recorded["retry"]
    kept = other.read_bytes()

    assert study_command(common) == 0  # the rerun (sequential this time): only the killed trial trains
    rerun = json.loads(victim.read_text())
    assert rerun["status"] == "budget_exhausted" and not rerun["retry"]
    assert other.read_bytes() == kept
