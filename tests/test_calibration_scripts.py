"""scripts/set_targets.py's restatement of a target on the loss, and scripts/cnn_layout.py."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from algoperf_lite.spec import Target
from conftest import load_script


def test_first_hits_are_each_runs_first_row_that_reaches_the_goal():
    set_targets = load_script("set_targets")
    rows = lambda *losses: [{"step": 10 * i, "validation/loss": v} for i, v in enumerate(losses)]  # noqa: E731
    runs = [SimpleNamespace(evals=rows(2.0, 0.4, 0.3, 0.35)), SimpleNamespace(evals=rows(2.0, 0.9)),
            SimpleNamespace(evals=rows(1.0, 0.3))]
    hits = set_targets.first_hits(runs, Target("loss", 0.35, False), "validation/loss")
    assert [h["step"] for h in hits] == [20, 10]  # the second run never reaches it


def test_as_loss_is_for_accuracy_targets_only(capsys):
    set_targets = load_script("set_targets")
    with pytest.raises(SystemExit) as stop:
        set_targets.main(["shakespeare_char_lm", "--tune-budget", "1", "--tune-steps", "10", "--as-loss"])
    assert stop.value.code == 2
    assert "restates an accuracy target; shakespeare_char_lm's target is on loss" in capsys.readouterr().err


def test_cnn_layout_times_both_layouts(capsys):
    assert load_script("cnn_layout").main(["mnist_cnn", "--rounds", "1"]) == 0
    line = capsys.readouterr().out.strip()
    match = re.fullmatch(r"mnist_cnn: full eval ([\d.]+) s default, ([\d.]+) s channels-last \([\d.]+x\); "
                         r"training step ([\d.]+) ms, ([\d.]+) ms \([\d.]+x\); medians of 7 evals and 3 x 10 steps "
                         r"per layout", line)
    assert match, line
    assert all(float(x) > 0 for x in match.groups())
