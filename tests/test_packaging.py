"""A real package: the wheel carries the built-in workloads, submissions, configs and the
Tiny Shakespeare text, and an installed copy finds them away from any checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(not (REPO / "setup.py").is_file(), reason="needs the source tree")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("algoperf_lite-*.whl")
    return path


def test_the_wheel_carries_the_built_in_folders_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("algoperf_lite/builtin/workloads/logreg/workload.py",
                     "algoperf_lite/builtin/workloads/logreg/targets.json",
                     "algoperf_lite/builtin/submissions/adamw/submission.py",
                     "algoperf_lite/builtin/submissions/adamw/tuning_search_space.json",
                     "algoperf_lite/builtin/configs/study/quickstart.yaml",
                     "algoperf_lite/builtin/configs/run/run.yaml",
                     "algoperf_lite/bundled_data/tinyshakespeare.txt.xz",
                     "algoperf_lite/report/templates/leaderboard.html.j2"):
        assert expected in names, expected
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_an_installed_copy_lists_every_built_in_workload_and_submission_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}  # before the checkout's editable install
    out = subprocess.run([sys.executable, "-m", "algoperf_lite.cli", "list"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    workloads = next(line for line in lines if line.startswith("workloads (built-in, "))
    submissions = next(line for line in lines if line.startswith("submissions (built-in, "))
    assert str(target / "algoperf_lite" / "builtin" / "workloads") in workloads
    assert all(w in workloads for w in ("digits_logreg", "mnist_cnn", "cifar10_cnn", "shakespeare_char_lm",
                                        "modular_arithmetic"))
    assert all(s in submissions for s in ("adamw", "sgd_momentum", "nadamw", "shampoo", "ema"))
