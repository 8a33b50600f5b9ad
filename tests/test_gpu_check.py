"""scripts/gpu_check.py end to end on the CPU (``--tiny``), as the GPU machine runs it: a
fresh python with none of the project's other dependencies importable (no Hydra, no
OmegaConf, no scipy, pandas or scikit-learn; PyYAML and airbench are carried as wheels).
``python scripts/gpu_check.py --tiny --device cpu`` (every workload, 1, 2 and 4 workers)
takes under a minute; this test runs the fastest subset that still covers every part."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from conftest import REPO

# Not on the GPU machine: import fails, importlib.util.find_spec says absent.
ABSENT = ("hydra", "omegaconf", "scipy", "pandas", "sklearn", "matplotlib", "jinja2", "rich", "mlxtend",
          "datasets", "pytorch_optimizer", "schedulefree", "prodigyopt", "submitit")


def test_gpu_check_tiny_runs_end_to_end_without_the_project_extras(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        f"for name in {ABSENT!r}:\n"
        "    sys.modules[name] = None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the checkout itself: the script puts it on sys.path
    out_file = tmp_path / "gpu_check.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gpu_check.py"), "--tiny", "--device", "cpu", "--out", str(out_file),
         "--workloads", "digits_logreg", "--workers", "1", "2"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(out_file.read_text())
    assert report["errors"] == [] and report["imports_hydra"] is False
    assert report["tiny"] is True and report["scale"] == "smoke"

    steps = {(r["workload"], r["autocast"]): r for r in report["steps"]}
    assert set(steps) == {("digits_logreg", False), ("digits_logreg", True)}
    for row in steps.values():
        assert row["runner_ms"] > 0 and row["bare_ms"] > 0 and row["ratio_q1"] <= row["ratio"] <= row["ratio_q3"]
        # scikit-learn, which ships the digits, is absent: random tensors of their shape, said so
        assert math.isfinite(row["sync_ratio"]) and row["data"].startswith("random tensors of the real shapes")
        assert row["peak_memory_mib"] is None and row["syncs_per_step"] is None  # CUDA only

    airbench = report["airbench"]
    assert airbench["step_ms"] > 0 or "airbench cannot be imported" in airbench["error"]

    ttt = {r["workload"]: r for r in report["time_to_target"]}
    assert set(ttt) == {"modular_arithmetic", "shakespeare_char_lm"}
    assert all(r["status"] == "training_complete" and r["steps"] == 5 for r in ttt.values())

    tph = report["trials_per_hour"]
    assert [r["workers"] for r in tph] == [1, 2]
    assert all(r["completed"] == r["trials"] == 2 * r["workers"] and r["trials_per_hour"] > 0 for r in tph)
    assert "skipped: torch.compile row" in run.stdout and "trials per hour, 2 worker(s)" in run.stdout


def test_help_gives_the_recipe_for_a_bare_gpu_machine():
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_check.py"), "--help"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    for step in ("pip wheel --no-deps -w gpu_wheels airbench", "pip download --no-deps --only-binary=:all:",
                 "--no-index --find-links gpu_wheels --target", "PYTHONPATH=/tmp/gpu_deps python3 scripts/gpu_check.py"):
        assert step in run.stdout
