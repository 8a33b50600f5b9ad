"""The trial record on disk: atomic files, and what each holds."""

from __future__ import annotations

import csv
import json

import pytest

from algoperf_lite.atomic import write_text_atomic
from algoperf_lite.results import Outcome, TrialWriter, is_finished


def test_atomic_write_leaves_no_temporary_file_and_keeps_the_old_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a" / "file.json"
    write_text_atomic(target, "first")
    assert target.read_text() == "first"

    import os

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_text_atomic(target, "second")
    assert target.read_text() == "first"  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]  # no temp file left


def test_writer_records_evals_and_outcome(tmp_path):
    writer = TrialWriter(tmp_path / "trial_0")
    writer.write_spec({"workload": "digits_logreg"})
    writer.append_eval({"step": 1, "submission_time": 0.01, "eval_time": 0.002, "validation/accuracy": 0.5})
    writer.append_eval({"step": 90, "submission_time": 0.25, "eval_time": 0.002, "validation/accuracy": 0.9,
                        "test/accuracy": 0.88})
    assert not is_finished(writer.path)
    writer.write_outcome(Outcome(status="budget_exhausted", reached=False, time_to_target=float("inf"),
                                 steps_to_target=None, submission_time=1.5, steps=90, num_evals=2, wall_time=2.0))
    assert is_finished(writer.path)

    rows = list(csv.DictReader((writer.path / "evals.csv").open()))
    assert [r["step"] for r in rows] == ["1", "90"]
    assert list(rows[0]) == ["step", "submission_time", "eval_time", "checkpoint", "test/accuracy",
                             "validation/accuracy"]
    outcome = json.loads((writer.path / "outcome.json").read_text())
    assert outcome["time_to_target"] is None and outcome["submission_time"] == 1.5
