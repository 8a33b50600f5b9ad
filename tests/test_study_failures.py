"""A bad submission costs its trial only (issue 9.1): raising, diverging, crashing its
process or hanging, it is recorded as failed with its reason, and the study goes on and
scores the healthy one. Also: the pool runs the planned trials as they are, and a
self-tuning study records no hyperparameters and the multiplied budget."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from algoperf_lite.configs import load_config
from algoperf_lite.commands.study import study_command
from algoperf_lite.study.plan import prepare_plan, trial_configs

OPTIMIZER = "import os, signal, time\nimport torch\n\n\nclass Optimizer(torch.optim.SGD):\n" \
            "    def step(self, closure=None):\n{body}\n\n\n" \
            "def make_optimizer(model, hp, workload):\n    return {factory}(model.parameters(), lr=hp.learning_rate)\n"
SUBMISSIONS = {  # native submissions, each misbehaving in one way
    "healthy": OPTIMIZER.format(body="        return super().step(closure)", factory="torch.optim.Adam"),
    "raises": OPTIMIZER.format(body='        raise RuntimeError("this optimizer raises on purpose")',
                               factory="Optimizer"),
    "diverges": OPTIMIZER.format(body="        for g in self.param_groups:\n            for p in g['params']:\n"
                                      "                p.data.fill_(float('nan'))", factory="Optimizer"),
    "crashes": OPTIMIZER.format(body="        os.kill(os.getpid(), signal.SIGKILL)", factory="Optimizer"),
    "hangs": OPTIMIZER.format(body="        self.steps = getattr(self, 'steps', 0) + 1\n"  # after its first eval
                                   "        time.sleep(3600 if self.steps > 3 else 0)", factory="Optimizer"),
}


def submissions(root: Path, *names: str) -> str:
    """Write the named submissions under ``root``; their paths as a config list."""
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "submission.py").write_text(SUBMISSIONS[name])
        # Adam at 0.1 reaches the digits target in ~100 steps, even on a busy machine
        (root / name / "tuning_search_space.json").write_text(json.dumps([{"learning_rate": 0.1}]))
    return "[" + ",".join(str(root / n) for n in names) + "]"


def outcomes(results: Path) -> dict[str, dict]:
    return {p.parents[3].name: json.loads(p.read_text())
            for p in results.glob("external_tuning/*/study_0/digits_logreg/trial_0/outcome.json")}


DROP = {"device", "format_version"}  # where a trial ran, and the file's own version


def specs(results: Path) -> dict[str, dict]:
    return {p.parents[3].name: {k: v for k, v in json.loads(p.read_text()).items() if k not in DROP}
            for p in results.glob("external_tuning/*/study_0/digits_logreg/trial_0/spec.json")}


def test_failed_and_diverged_trials_are_recorded_and_the_healthy_one_is_scored(tmp_path, capsys):
    results = tmp_path / "results"
    names = submissions(tmp_path, "raises", "diverges", "healthy")
    # a budget the healthy trial cannot miss on a busy machine: it stops at the target
    assert study_command(["study=smoke", f"results_dir={results}", "rules.num_trials=1", f"study.submissions={names}",
                          "study.reference_submission=healthy", "budget_sec=30", "quiet=true"]) == 0
    out = capsys.readouterr().out.replace("\n", "")
    got = outcomes(results)
    assert got["raises"]["status"] == "failed" and "this optimizer raises on purpose" in got["raises"]["error"]
    assert got["diverges"]["status"] == "diverged" and "non-finite" in got["diverges"]["error"]
    assert got["healthy"]["status"] == "reached" and got["healthy"]["error"] is None
    assert "failed: raises on digits_logreg, study 0 trial 0: RuntimeError: this optimizer raises on purpose" in out
    assert "diverged: diverges on digits_logreg, study 0 trial 0: non-finite eval metrics" in out
    scores = pd.read_csv(results / "scores.csv").set_index("submission")
    assert scores.loc["healthy", "score"] == 1.0 and scores.loc["healthy", "reached"] == 1
    assert scores.loc["raises", "score"] == scores.loc["diverges", "score"] == 0.0
    assert (results / "leaderboard.html").is_file() and f"leaderboard: {results / 'leaderboard.html'}" in out


def test_the_pool_isolates_crashes_and_hangs_and_runs_the_planned_trials(tmp_path):
    results = tmp_path / "results"
    names = submissions(tmp_path, "hangs", "crashes", "healthy", "raises", "diverges")  # the slow ones first
    overrides = ["study=smoke", "rules.num_trials=1", "budget_sec=0.5", "budget_scale=1", f"study.submissions={names}",
                 f"results_dir={results}", "score=false", "quiet=true"]
    assert study_command([*overrides, "executor=pool", "workers=2", "trial_timeout_margin_sec=3"]) == 0
    got = outcomes(results)
    assert got["crashes"]["status"] == "failed" and "killed by SIGKILL" in got["crashes"]["error"]
    assert got["hangs"]["status"] == "failed" and got["hangs"]["steps"] >= 1
    assert ("no outcome within its budget (0.5 s) plus the margin (trial_timeout_margin_sec: 3 s) of its first eval"
            in got["hangs"]["error"])
    assert got["raises"]["status"] == "failed" and got["diverges"]["status"] == "diverged"
    assert got["healthy"]["status"] in {"reached", "budget_exhausted"}
    # the same trials (points, seeds, budgets) as the plan, which the sequential executor runs as is
    settings = load_config("study", overrides)
    planned = {t.record.submission: {k: v for k, v in t.record.to_json().items() if k not in DROP}
               for t in prepare_plan(trial_configs(settings, "cpu"))}
    assert specs(results) == planned
    assert sorted(p.name for p in (results / "logs").iterdir()) == ["worker_0.log", "worker_1.log"]


def test_a_self_tuning_study_passes_no_hyperparameters_and_the_multiplied_budget(tmp_path):
    results = tmp_path / "results"
    assert study_command(["study=smoke", f"results_dir={results}", "ruleset=self", "rules=v0.5",
                          "study.submissions=[adamw]", "budget_sec=0.4", "score=false", "quiet=true"]) == 0
    (spec_file,) = results.glob("self_tuning/adamw/study_0/digits_logreg/trial_0/spec.json")
    spec = json.loads(spec_file.read_text())
    assert spec["hyperparameters"] is None and spec["ruleset"] == "self"
    assert spec["budget_sec"] == pytest.approx(3.0 * 0.4)  # v0.5: x3
    assert (spec_file.parent / "outcome.json").is_file()
