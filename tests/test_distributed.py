"""One trial on two processes (torchrun, gloo on the CPU) follows the same loss curve
as one process with the same global batch."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys

import pytest

from algoperf_lite.cli import main

RUN = ["run", "device=cpu", "submission=sgd_momentum", "eval_every_steps=50", "max_steps=200",
       "budget_sec=600", "stop_at_target=false", "quiet=true"]


def free_port() -> int:
    """A port no one listens on now: several suites may run at once on one machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def evals(results_dir):
    (path,) = results_dir.glob("external_tuning/*/study_0/*/trial_0/evals.csv")
    return list(csv.DictReader(path.open()))


def run_once_and_on_two_processes(run, tmp_path):
    """The evals of ``run`` in one process and under torchrun on two, and the two-process results dir."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*run, f"results_dir={one}"]) == 0
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
         "-m", "algoperf_lite.cli", *run, f"results_dir={two}"],
        capture_output=True, text=True, timeout=300,
    )
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    return evals(one), evals(two), two


def assert_same_curve(single, double):
    # Same data, same global mean gradient; only the order of float reductions differs
    # (two partial sums instead of one): agreement to 1e-4 relative.
    for a, b in zip(single, double):
        for key in ("train/loss", "validation/loss", "validation/accuracy"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-4), (a["step"], key)


def test_two_processes_match_one(tmp_path):
    single, double, two = run_once_and_on_two_processes(RUN, tmp_path)
    assert [r["step"] for r in single] == [r["step"] for r in double] == ["1", "50", "100", "150", "200"]
    assert_same_curve(single, double)
    # Rank 0 alone wrote the trial.
    assert len(list(two.glob("external_tuning/*/study_0/*/trial_*"))) == 1


def test_two_processes_match_one_at_full_scale(tmp_path):
    """modular_arithmetic's full-scale transformer (width 128, batch 512: 256 per rank)."""
    run = ["run", "device=cpu", "submission=sgd_momentum", "workload=modular_arithmetic", "scale=full",
           "max_steps=3", "budget_sec=600", "budget_scale=1", "stop_at_target=false", "quiet=true"]
    single, double, two = run_once_and_on_two_processes(run, tmp_path)
    assert [r["step"] for r in single] == [r["step"] for r in double] == ["1", "3"]
    assert_same_curve(single, double)
    (spec,) = two.glob("external_tuning/*/study_0/*/trial_0/spec.json")
    record = json.loads(spec.read_text())
    assert (record["scale"], record["num_processes"], record["batch_size"]) == ("full", 2, 512)
