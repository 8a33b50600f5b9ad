"""``workers=0``: a CPU pool with one worker per core that other programs leave free
(trials that take turns on a core compute slower: docs/repeatability.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from algoperf_lite.commands.study import _free_core_workers, study_command
from algoperf_lite.configs import load_config
from algoperf_lite.study import pool

BURN = "while True: pass"


@pytest.mark.skipif(pool.cores() < 2, reason="needs 2 cores: one busy, one left")
def test_a_busy_program_takes_its_core_from_the_pool():
    # Another program: started by a shell that exits at once, so not a child of this process.
    pid = int(subprocess.check_output(["sh", "-c", f"{sys.executable} -c '{BURN}' >/dev/null 2>&1 & echo $!"]))
    try:
        time.sleep(0.3)
        workers, seen = pool.free_cpu_workers(sample_sec=0.5)
    finally:
        os.kill(pid, signal.SIGKILL)
    assert seen >= 0.7  # the busy process's core (and whatever else runs)
    assert 1 <= workers <= pool.cores() - 1


def test_this_process_and_its_children_are_not_other_programs():
    before = pool.busy_cores(sample_sec=0.5)  # whatever else the machine runs (a busy CI runner)
    child = subprocess.Popen([sys.executable, "-c", BURN])  # as a study's trial server importing torch
    try:
        time.sleep(0.3)
        seen = pool.busy_cores(sample_sec=0.5)
    finally:
        child.kill()
        child.wait()
    assert seen < before + 0.5  # the child's whole core would add about 1


@pytest.mark.parametrize("busy, workers", [(0.1, 2), (1.0, 1), (1.6, 1), (2.0, 1)])
def test_workers_0_runs_one_per_free_core_and_at_least_one(tmp_path, capsys, monkeypatch, busy, workers):
    monkeypatch.setattr(pool, "cores", lambda: 2)
    monkeypatch.setattr(pool, "busy_cores", lambda sample_sec=1.0: busy)
    args = ["study=smoke", f"results_dir={tmp_path / 'r'}", "budget_scale=1", "executor=pool", "workers=0"]
    assert study_command(args, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"other programs keep {busy:.1f} of" in out and f"{workers} pool worker(s)" in out
    assert ("about" in out and "on 2 workers" in out) == (workers == 2)  # the plan's estimate, per worker
    assert not (tmp_path / "r").exists()


def test_workers_0_is_one_per_device_on_gpus():
    settings = load_config("study", ["study=smoke", "executor=pool", "workers=0"])
    assert _free_core_workers(settings, ["cuda:0", "cuda:1"], None).workers == 1
