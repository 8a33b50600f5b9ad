"""One writer at a time (issue 26): a study per results directory, a writer per trial
folder. Holders are real processes holding real leases; a lock whose holder is gone (a
dead process, a process id reused by the system, a holder on another host that stopped
renewing it) is taken over, and nothing else is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from algoperf_lite import locks
from algoperf_lite.cli import main
from algoperf_lite.commands.study import study_command
from algoperf_lite.errors import UserError
from algoperf_lite.results import check_trial, trial_lock_file

STUDY = ["study=smoke", "budget_sec=0.3", "eval_period_sec=0.1", "stop_at_target=false", "score=false", "quiet=true"]
HOLDER = """
import sys, time
from filelock import SoftFileLease
lease = SoftFileLease(sys.argv[1], lease_duration=float(sys.argv[2]), timeout=0)
lease.acquire()
print("holding", flush=True)
if sys.argv[3] == "exit":  # gone without releasing it, as a process killed with SIGKILL
    import os
    os._exit(0)
time.sleep(600)
"""


def hold_in_another_process(path: Path, lease_sec: float, then: str = "hold") -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(lease_sec), then], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_second_study_is_refused_while_the_first_runs_and_takes_over_once_it_is_killed(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    holder = hold_in_another_process(results / ".lock", locks.STUDY_LEASE_SEC)
    try:
        with pytest.raises(UserError, match=rf"in use by another study \(host \S+, pid {holder.pid}, its lease "
                                            rf"renewed \d+ s ago\)"):
            study_command([*STUDY, f"results_dir={results}"])
        assert sorted(p.name for p in results.iterdir()) == [".lock"]  # nothing written
        assert main(["run", f"results_dir={results}", "max_steps=2"]) == 2  # nor by a stray run
        assert "in use by a study" in capsys.readouterr().out
        assert study_command([*STUDY, f"results_dir={results}"], status=True) == 0
        assert f"held by a study: host" in capsys.readouterr().out.replace("\n", "")
    finally:
        holder.kill()  # SIGKILL: the lock stays behind
        holder.wait()
    assert (results / ".lock").exists()
    assert study_command([*STUDY, f"results_dir={results}"]) == 0
    assert "took over the lock" in capsys.readouterr().out and len(list(results.glob("*/*/*/*/*/outcome.json"))) == 4
    assert not (results / ".lock").exists()  # released at the end


def test_a_process_id_the_system_reused_does_not_keep_a_lock(tmp_path):
    lock = tmp_path / ".lock"
    hold_in_another_process(lock, locks.STUDY_LEASE_SEC, then="exit").wait()
    marker = lock.read_text()
    dead = int(next(line for line in marker.splitlines() if line.startswith("pid=")).removeprefix("pid="))
    # The dead holder's record, with a live process's id: that process started at another time.
    lock.write_text(marker.replace(f"pid={dead}\n", f"pid={os.getppid()}\n"))
    with pytest.warns(locks.StaleLockWarning, match=rf"pid {os.getppid()}"):
        with locks.results_lock(tmp_path):
            pass


def test_a_lock_from_another_host_is_refused_until_it_stops_being_renewed(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "STUDY_LEASE_SEC", 1.0)  # every contender agrees on the lease
    lock = tmp_path / ".lock"
    hold_in_another_process(lock, 1.0, then="exit").wait()
    lock.write_text("".join(f"host=node-17\n" if line.startswith("host=") else f"{line}\n"
                            for line in lock.read_text().splitlines()))
    with pytest.raises(UserError, match="in use by another study \\(host node-17"):  # renewed just now
        with locks.results_lock(tmp_path):
            pass
    old = time.time() - 5
    os.utime(lock, (old, old))  # not renewed for 5 leases: watched for one, then taken over
    messages = []
    with locks.results_lock(tmp_path, warn=messages.append):
        assert "node-17" not in lock.read_text()
    assert "has not been renewed" in messages[0] and "took over the lock" in messages[1]


def test_a_trial_folder_has_one_writer(tmp_path, capsys):
    args = ["run", f"results_dir={tmp_path}", "max_steps=2", "quiet=true", "budget_scale=1"]
    folder = tmp_path / "external_tuning" / "adamw" / "study_0" / "digits_logreg" / "trial_0"
    with locks.trial_lock(folder):  # another writer: refused before it writes anything
        assert main(args) == 2
    assert f"{folder} is being written by another process (host" in capsys.readouterr().out.replace("\n", "")
    assert not folder.exists() and not trial_lock_file(folder).exists()
    hold_in_another_process(trial_lock_file(folder), locks.TRIAL_LEASE_SEC, then="exit").wait()
    assert main(args) == 0  # a lock left by a killed writer is taken over
    assert check_trial(folder)[0] is not None and not trial_lock_file(folder).exists()


def test_two_runs_started_together_into_one_folder_one_refuses_and_the_record_is_whole(tmp_path):
    # Long enough that the first still writes when the second arrives (or, on a slow
    # machine, has finished: the second is then refused for the record it finds).
    args = [sys.executable, "-m", "algoperf_lite.cli", "run", f"results_dir={tmp_path}", "budget_sec=4",
            "budget_scale=1", "stop_at_target=false", "quiet=true"]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [(r.wait(timeout=300), r.stdout.read()) for r in runs]
    assert sorted(code for code, _ in outputs) == [0, 2], outputs
    refused = next(out for code, out in outputs if code == 2).replace("\n", "")
    assert "is being written by another process" in refused or "holds a trial already" in refused
    (folder,) = tmp_path.glob("external_tuning/*/*/*/trial_0")
    outcome, why = check_trial(folder)
    assert outcome is not None, why  # spec, evals and outcome of the same run, bound by the spec's hash
    assert json.loads((folder / "spec.json").read_text())["seed"] is not None
