"""The Python API (algoperf_lite.run, run_study, score, submission): the example of
docs/getting-started.md as written, and what the API adds to the commands (values into
overrides, Python objects as submissions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import algoperf_lite
from algoperf_lite.api import hydra_value, overrides_of
from algoperf_lite.configs import load_config
from algoperf_lite.errors import UserError
from algoperf_lite.results import read_spec
from conftest import REPO, load_module

FIXTURES = Path(__file__).parent / "fixtures"


def readme_example() -> str:
    """The first python block of the "From Python" section of docs/getting-started.md."""
    text = (REPO / "docs" / "getting-started.md").read_text()
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def with_tiny_budget(monkeypatch) -> None:
    """The API's run and run_study, each trial given 1.5 s (evals every 0.25 s) in place of
    the workload's budget measured against this machine (which alone takes seconds)."""
    tiny = ["budget_sec=1.5", "eval_period_sec=0.25"]
    for name in ("run", "run_study"):
        real = getattr(algoperf_lite, name)

        def wrapper(*args, _real=real, overrides=(), **kwargs):
            return _real(*args, overrides=[*overrides, *tiny], **kwargs)

        monkeypatch.setattr(algoperf_lite, name, wrapper)


def test_readmes_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # its results_dir are relative: they land here
    with_tiny_budget(monkeypatch)
    exec(compile(readme_example(), "docs/getting-started.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out

    (trial,) = (tmp_path / "results/notebook").glob("external_tuning/my_adamw/study_0/digits_logreg/trial_0")
    assert (trial / "outcome.json").is_file()
    scores = algoperf_lite.score(tmp_path / "results/notebook_study")
    assert sorted(scores["submission"]) == ["adamw", "my_adamw"]
    assert scores["score"].between(0, 1).all() and set(scores["reached"]) <= {0, 1}
    assert read_spec(trial)["budget_sec"] == 1.5  # the tiny budget, not the workload's
    assert "my_adamw" in out and "submission" in out  # the printed table


def test_import_loads_no_torch_and_scoring_none_either():
    code = ("import sys, algoperf_lite; algoperf_lite.score(sys.argv[1]); "
            "print(sorted(m for m in ('torch', 'hydra') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "algoperf_v05_workload_times.csv")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_score_returns_the_table_of_a_trials_csv():
    scores = algoperf_lite.score(FIXTURES / "algoperf_v05_workload_times.csv", n_boot=0)
    assert isinstance(scores, pd.DataFrame)
    external = scores[scores["ruleset"] == "external_tuning"].set_index("submission")["score"]
    assert list(external) == sorted(external, reverse=True)  # ranked
    assert len(external) == 11 and external["shampoo_submission"] == pytest.approx(0.7784, abs=5e-5)  # published


@pytest.mark.parametrize("value", [
    "/tmp/a b/c", "it's", "back\\slash", "ends in\\", "C:\\dir\\", "${not.an.interpolation}", "a,b]c=d",
])
def test_strings_reach_the_config_as_given(value):
    assert load_config("run", overrides_of({"results_dir": value})).results_dir == value


def test_values_and_groups_become_overrides():
    settings = {"budget_scale": {"digits_logreg": 1.5}, "max_steps": None, "stop_at_target": False,
                "submissions_path": ["/a b", "c"], "hp": {"learning_rate": 1e-5}, "rules": "v0.5"}
    assert overrides_of(settings) == ["budget_scale={digits_logreg:1.5}", "max_steps=null", "stop_at_target=false",
                                      "submissions_path=['/a b','c']", "hp.learning_rate=1e-05", "rules=v0.5"]
    config = load_config("run", overrides_of(settings))
    assert (config.budget_scale, config.max_steps, config.hp, config.rules.preset) == (
        {"digits_logreg": 1.5}, None, {"learning_rate": 1e-5}, "v0.5")
    assert load_config("run", overrides_of({"rules": {"num_trials": 3}})).rules.num_trials == 3
    with pytest.raises(UserError, match="cannot be a config value"):
        hydra_value(object())


def test_a_module_runs_as_its_file_and_python_objects_as_a_native_submission(tmp_path):
    module = load_module(REPO / "submissions" / "adamw" / "submission.py", "my_module")
    short = dict(device="cpu", budget_scale=1, max_steps=3, quiet=True, results_dir=str(tmp_path))
    result = algoperf_lite.run(submission=module, **short)
    assert result.record.submission == "adamw" and result.outcome.steps == 3

    calls = []

    def factory(model, hp, workload):
        calls.append((hp.learning_rate, workload.step_hint > 0))
        import torch

        return torch.optim.SGD(model.parameters(), lr=hp.learning_rate)

    result = algoperf_lite.run(optimizer=factory, search_space={"learning_rate": {"feasible_points": [0.05]}}, batch_size=32,
                               name="plain_sgd", **short)
    assert calls == [(0.05, True)] and result.record.batch_size == 32 and result.outcome.steps == 3
    assert result.record.submission == "plain_sgd" and result.record.submission_form == "native"
    assert result.path == tmp_path / "external_tuning/plain_sgd/study_0/digits_logreg/trial_0"
    assert len(result.evals()) == result.outcome.num_evals


def test_bad_python_submissions_are_user_errors_before_training(tmp_path):
    def factory(model, hp, workload):
        raise AssertionError("never called")

    with pytest.raises(UserError, match="not both"):
        algoperf_lite.run(submission="adamw", optimizer=factory)
    with pytest.raises(UserError, match="for a named submission, search_space is a file"):
        algoperf_lite.run(submission="adamw", search_space={"learning_rate": {"feasible_points": [0.1]}})
    with pytest.raises(UserError, match="submission name 'my adamw' is not valid"):
        algoperf_lite.submission(factory, name="my adamw")
    with pytest.raises(UserError, match="lacks"):
        algoperf_lite.submission(factory, search_space={"learning_rate": {"min": 0.1}})
    mine = algoperf_lite.submission(factory, search_space=[{"learning_rate": 0.1}])
    with pytest.raises(UserError, match="python:factory live in this process .* need executor='sequential', not pool"):
        algoperf_lite.run_study([mine], ["digits_logreg"], executor="pool", results_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_run_refuses_a_results_dir_that_a_study_holds_as_the_command_does(tmp_path):
    from algoperf_lite.locks import results_lock

    with results_lock(tmp_path), pytest.raises(UserError, match="is in use by a study"):
        algoperf_lite.run(device="cpu", budget_scale=1, max_steps=1, quiet=True, results_dir=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, the lock gone with its holder


def test_score_reads_algoperf_logs_with_their_pick_as_the_command_does(tmp_path):
    from test_scoring_algoperf_logs import quiet, targets_file, two_submissions

    logs, targets = two_submissions(tmp_path / "logs"), targets_file(tmp_path)
    # AlgoPerf's first-eval pick by default, as `score --algoperf` (A/w1: median(30, 40) = 35, fastest;
    # A reaches no w2: 0.5. B/w1 70 (ratio 2), B/w2 100 (ratio 1): ((4 - 2)/3 + 1) / 2 = 5/6, exact integral).
    board = quiet(algoperf_lite.score, logs, algoperf=True, targets=targets, integral="exact", n_boot=0)
    assert dict(zip(board["submission"], board["score"])) == pytest.approx({"A": 0.5, "B": 5 / 6})
    fastest = quiet(algoperf_lite.score, logs, algoperf=True, targets=targets, integral="exact", n_boot=0,
                    trial_selection="fastest")
    assert dict(zip(fastest["submission"], fastest["score"])) == pytest.approx({"A": 0.5, "B": 7 / 9})
    with pytest.raises(UserError, match="--targets applies to AlgoPerf logs"):
        algoperf_lite.score(logs, targets="v0.5")
