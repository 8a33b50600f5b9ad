"""A trial ends completely and cannot change the next one (issue 26): every process a
submission starts ends with its trial, however the trial ends; global state a submission
changes (torch's default dtype and flags, grad mode, a patched optimizer class) reaches
neither another submission's trials nor the study's process, which runs no submission
code while it plans."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import psutil
import pytest
import torch

from algoperf_lite.cli import main
from algoperf_lite.configs import load_config
from algoperf_lite.commands.study import study_command
from algoperf_lite.study.plan import prepare_plan, trial_configs

# Starts a subprocess, a forked child with a child of its own, and a daemon (a double fork
# into a new session, orphaned at once); records each (pid, start time); then {then}.
STARTS_PROCESSES = """
import json, os, signal, subprocess, time
import psutil
import torch


def spawn_all():
    read, write = os.pipe()
    pids = [subprocess.Popen(["sleep", "300"]).pid]
    child = os.fork()
    if child == 0:  # a forked child, which forks a grandchild, and both sleep
        grandchild = os.fork()
        if grandchild:
            os.write(write, f"{{grandchild}}\\n".encode())
        time.sleep(300)
        os._exit(0)
    pids.append(child)
    middle = os.fork()
    if middle == 0:  # the daemon's parent exits at once: the daemon is orphaned
        daemon = subprocess.Popen(["sleep", "300"], start_new_session=True)
        os.write(write, f"{{daemon.pid}}\\n".encode())
        os._exit(0)
    os.waitpid(middle, 0)
    told = b""
    while told.count(b"\\n") < 2:
        told += os.read(read, 64)
    pids += [int(pid) for pid in told.split()]
    with open({record!r}, "a") as f:
        for pid in pids:
            f.write(json.dumps([pid, psutil.Process(pid).create_time()]) + "\\n")


class Optimizer(torch.optim.SGD):
    def step(self, closure=None):
        if not getattr(self, "started", False):
            self.started = True
            spawn_all()
            {then}
        return super().step(closure)


def make_optimizer(model, hp, workload):
    return Optimizer(model.parameters(), lr=hp.learning_rate)
"""
ENDINGS = {"hangs": "time.sleep(3600)", "crashes": "os.kill(os.getpid(), signal.SIGKILL)", "finishes": "pass"}


def _write(root: Path, name: str, source: str) -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "submission.py").write_text(source)
    (root / name / "tuning_search_space.json").write_text('[{"learning_rate": 0.1}]')
    return root / name


def _alive(pid: int, started: float) -> bool:
    try:
        process = psutil.Process(pid)
        return process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("executor", ["sequential", "pool"])
def test_no_process_a_submission_started_outlives_its_trial(tmp_path, executor):
    record = tmp_path / "pids.jsonl"
    names = [_write(tmp_path, f"{ending}", STARTS_PROCESSES.format(record=str(record), then=then))
             for ending, then in ENDINGS.items()]
    results = tmp_path / "results"
    assert study_command(["study=smoke", "rules.num_trials=1", "budget_sec=0.5", "budget_scale=1",
                          "trial_timeout_margin_sec=2", f"executor={executor}", "score=false", "quiet=true",
                          f"study.submissions=[{','.join(map(str, names))}]", f"results_dir={results}"]) == 0
    started = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(started) == 3 * 4  # per trial: the subprocess, the child, the grandchild, the daemon
    assert [pid for pid, when in started if _alive(pid, when)] == []
    statuses = {p.parents[3].name: json.loads(p.read_text())["status"]
                for p in results.glob("external_tuning/*/*/*/*/outcome.json")}
    assert statuses["hangs"] == statuses["crashes"] == "failed"
    assert statuses["finishes"] in ("reached", "budget_exhausted")  # it trains on: whether it reaches is not the point


def test_no_process_a_submission_started_outlives_a_single_run(tmp_path):
    record = tmp_path / "pids.jsonl"
    mine = _write(tmp_path, "finishes", STARTS_PROCESSES.format(record=str(record), then="pass"))
    assert main(["run", f"submission={mine}", "rules.num_trials=1", "max_steps=3", "budget_scale=1", "quiet=true",
                 f"results_dir={tmp_path / 'results'}"]) == 0
    started = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(started) == 4 and [pid for pid, when in started if _alive(pid, when)] == []


CONTAMINATES = """
import os
import torch

with open({record!r}, "a") as f:
    f.write(f"{{os.getpid()}}\\n")
# Global state that every later trial in this process would inherit.
torch.set_default_dtype(torch.float64)
torch.set_float32_matmul_precision("medium")
torch.backends.cudnn.benchmark = True
torch.set_grad_enabled(False)


class Slow(torch.optim.AdamW):
    def __init__(self, params, lr=1e-3, **kwargs):
        super().__init__(params, lr=lr * 0.01, **kwargs)


torch.optim.AdamW = Slow


def make_optimizer(model, hp, workload):
    return torch.optim.SGD(model.parameters(), lr=hp.learning_rate)
"""
STUDY = ["study=smoke", "rules.num_trials=1", "budget_sec=1", "budget_scale=1", "score=false", "quiet=true"]


def _adamw(results: Path) -> tuple[str, pd.Series]:
    """adamw's outcome, and its metrics at the first eval (after step 1: the same in any process)."""
    (trial,) = results.glob("external_tuning/adamw/study_0/digits_logreg/trial_0")
    first = pd.read_csv(trial / "evals.csv").drop(columns=["submission_time", "eval_time"]).iloc[0]
    return json.loads((trial / "outcome.json").read_text())["status"], first


def test_a_submission_that_changes_global_state_changes_no_other_trial(tmp_path):
    record = tmp_path / "imported_in.txt"
    mine = _write(tmp_path, "contaminates", CONTAMINATES.format(record=str(record)))
    alone, together = tmp_path / "alone", tmp_path / "together"
    assert study_command([*STUDY, "study.submissions=[adamw]", f"results_dir={alone}"]) == 0
    assert study_command([*STUDY, f"study.submissions=[{mine},adamw]", f"results_dir={together}"]) == 0
    (status, first), (status_alone, first_alone) = _adamw(together), _adamw(alone)
    assert status != "failed" and status_alone != "failed" and first["step"] == 1
    pd.testing.assert_series_equal(first, first_alone)
    (spec,) = together.glob("external_tuning/contaminates/*/*/*/spec.json")
    assert (spec.parent / "outcome.json").is_file()  # it ran, in a process of its own
    assert str(os.getpid()) not in record.read_text().split()


def test_planning_runs_no_submission_code_in_the_study_process(tmp_path):
    record = tmp_path / "imported_in.txt"
    mine = _write(tmp_path, "contaminates", CONTAMINATES.format(record=str(record)))
    adamw = torch.optim.AdamW
    settings = load_config("study", [*STUDY, f"study.submissions=[{mine},adamw]", f"results_dir={tmp_path}"])
    plan = prepare_plan(trial_configs(settings, "cpu"))
    assert [t.record.submission_form for t in plan] == ["native", "native"]
    assert record.read_text().split() and str(os.getpid()) not in record.read_text().split()  # loaded elsewhere
    assert torch.get_default_dtype() == torch.float32 and torch.is_grad_enabled()
    assert torch.get_float32_matmul_precision() == "highest" and not torch.backends.cudnn.benchmark
    assert torch.optim.AdamW is adamw
