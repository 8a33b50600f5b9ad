"""The command line, end to end: the checks of the core issue, on real data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from algoperf_lite.cli import main
from algoperf_lite.trial.environment import torch_threads
from conftest import FIXTURES


def trial_files(results_dir, ruleset="external_tuning"):
    folders = sorted(results_dir.glob(f"{ruleset}/*/study_*/*/trial_*"))
    assert len(folders) == 1, folders
    return folders[0]


def test_console_script_runs_the_reference_point_and_reaches_the_target(tmp_path):
    # sgd_momentum's first point reaches digits_logreg's target (a validation loss: targets.json)
    out = subprocess.run(
        [sys.executable, "-m", "algoperf_lite.cli", "run", "workload=digits_logreg", "submission=sgd_momentum",
         "device=cpu", f"results_dir={tmp_path}"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reached validation loss <=" in out.stdout
    folder = trial_files(tmp_path)
    assert folder.relative_to(tmp_path).parts == ("external_tuning", "sgd_momentum", "study_0", "digits_logreg",
                                                  "trial_0")
    assert {p.name for p in folder.iterdir()} == {"spec.json", "environment.json", "evals.csv", "outcome.json"}
    outcome = json.loads((folder / "outcome.json").read_text())
    assert outcome["reached"] is True and outcome["status"] == "reached"
    assert 0 < outcome["time_to_target"] <= json.loads((folder / "spec.json").read_text())["budget_sec"]


@pytest.mark.parametrize("submission, form", [
    ("sgd_momentum", "algoperf-v0.6"),
    (str(FIXTURES / "algoperf_v06_nadamw"), "algoperf-v0.6"),
    (str(FIXTURES / "algoperf_v05_sfadamw"), "algoperf-v0.5"),
])
def test_run_records_the_trial(tmp_path, capsys, submission, form):
    assert main(["run", f"submission={submission}", "device=cpu", f"results_dir={tmp_path}"]) == 0
    folder = trial_files(tmp_path)
    spec = json.loads((folder / "spec.json").read_text())
    assert spec["submission_form"] == form
    assert spec["batch_size_source"] == "workload_default"
    assert spec["scale"] == "smoke" and spec["device"] == "cpu"
    assert spec["hyperparameters"]  # a point of the search space
    env = json.loads((folder / "environment.json").read_text())
    assert env["packages"]["torch"] and env["device"] == "cpu"
    outcome = json.loads((folder / "outcome.json").read_text())
    assert outcome["status"] in {"reached", "budget_exhausted"} and outcome["error"] is None
    assert "step" in capsys.readouterr().out  # the live table


def test_run_applies_the_thread_count_records_it_and_restores_it(tmp_path):
    with torch_threads(2):  # and back to the tests' one thread after
        assert main(["run", "threads=1", "max_steps=5", "device=cpu", f"results_dir={tmp_path}", "quiet=true"]) == 0
        folder = trial_files(tmp_path)
        assert json.loads((folder / "spec.json").read_text())["threads"] == 1
        assert json.loads((folder / "environment.json").read_text())["torch_threads"] == 1
        assert torch.get_num_threads() == 2


@pytest.mark.parametrize("overrides, budget, eval_period", [
    (["budget_scale=2.5"], 2.5 * 3.0, 2.5 * 0.25),  # the workload's 3 s budget, 0.25 s eval period
    (["budget_scale={digits_logreg: 2, mnist_cnn: 5}"], 2 * 3.0, 2 * 0.25),
    (["budget_scale={mnist_cnn: 5}"], 3.0, 0.25),  # not named: unscaled
    (["budget_scale=2", "budget_sec=4", "eval_period_sec=1"], 4.0, 1.0),  # explicit values are taken as given
])
def test_budget_scale_multiplies_the_workloads_budget_and_eval_period(tmp_path, overrides, budget, eval_period):
    assert main(["run", "max_steps=2", "device=cpu", f"results_dir={tmp_path}", "quiet=true", *overrides]) == 0
    spec = json.loads((trial_files(tmp_path) / "spec.json").read_text())
    assert spec["budget_sec"] == pytest.approx(budget) and spec["eval_period_sec"] == pytest.approx(eval_period)


def test_self_tuning_passes_no_hyperparameters_and_multiplies_the_budget(tmp_path):
    assert main(["run", "ruleset=self", "rules=v0.5", "device=cpu", f"results_dir={tmp_path}", "quiet=true",
                 "budget_scale=1"]) == 0
    spec = json.loads((trial_files(tmp_path, "self_tuning") / "spec.json").read_text())
    assert spec["hyperparameters"] is None
    assert spec["rules"]["self_tuning_budget_multiplier"] == 3.0
    from algoperf_lite.trial.workloads import build_workload
    import torch
    base = build_workload("digits_logreg", "smoke", torch.device("cpu")).max_allowed_runtime_sec
    assert spec["budget_sec"] == pytest.approx(3.0 * base)


@pytest.mark.parametrize("args, message", [
    (["run", "workload=digits_logreg_typo"], "unknown workload 'digits_logreg_typo': did you mean digits_logreg"),
    (["run", "submission=adamv"], "unknown submission 'adamv': did you mean adamw"),
    (["run", "ruleset=internal"], "unknown ruleset 'internal'"),
    (["run", "scale=huge"], "unknown scale 'huge'"),
    (["run", "rules=v9"], "bad override"),
    (["run", "trial=7"], "trial=7 is out of range"),
    (["run", "device=cuda:0"], "CUDA is not available"),
])
def test_bad_input_exits_2_with_one_message(capsys, args, message):
    assert main(args) == 2
    out = capsys.readouterr().out
    assert message in out.replace("\n", "")
    assert "Traceback" not in out


def test_list_shows_workloads_and_submissions(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "digits_logreg" in out and "mnist_logreg" in out and "adamw" in out and "sgd_momentum" in out
