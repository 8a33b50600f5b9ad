"""The same trial spec twice on the CPU gives identical eval records."""

from __future__ import annotations

import csv

from algoperf_lite.trial.config import TrialConfig
from algoperf_lite.trial.run import prepare_trial, run_prepared


def test_same_spec_twice_gives_identical_evals(tmp_path):
    rows = []
    for name in ("a", "b"):
        spec = TrialConfig(workload="digits_logreg", submission="adamw", device="cpu", trial=2,
                           results_dir=str(tmp_path / name), eval_every_steps=40, max_steps=200,
                           budget_sec=600, stop_at_target=False)
        run_prepared(prepare_trial(spec))
        (path,) = (tmp_path / name).glob("**/evals.csv")
        rows.append([{k: v for k, v in r.items() if k not in ("submission_time", "eval_time")}
                     for r in csv.DictReader(path.open())])
    assert [r["step"] for r in rows[0]] == ["1", "40", "80", "120", "160", "200"]
    assert rows[0] == rows[1]  # every metric, to the last digit
