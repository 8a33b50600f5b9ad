"""scripts/eval_share.py: the share of wall time spent in evals, and the resolution of the
times to target, from a results directory."""

from __future__ import annotations

import math

import pytest

from conftest import load_script
from test_scoring_fakes import write_trial

eval_share = load_script("eval_share")


def test_shares_and_resolution_by_hand(tmp_path, capsys):
    # The fake trial evaluates at 1/4, 2/4, 3/4 and 4/4 of its end, 0.5 s each, and its wall
    # time is 1.2 x its end. Reached at 8 s: evals at 2, 4, 6, 8 s, 2 s of 9.6 s; the
    # crossing lies between 6 and 8 s, a resolution of 2/8. Out of budget (100 s): evals at
    # 25-100 s, 2 s of 120 s, no resolution.
    write_trial(tmp_path, "a", "w", 0, 0, 8.0, ruleset="self")
    write_trial(tmp_path, "b", "w", 0, 0, math.inf, ruleset="self", budget=100.0)
    table = eval_share.eval_shares(tmp_path).set_index("share")
    assert sorted(table.index) == pytest.approx([2 / 120, 2 / 9.6])
    assert table.loc[table.index.max(), "resolution"] == pytest.approx(0.25)
    assert math.isnan(table.loc[table.index.min(), "resolution"])
    assert eval_share.main([str(tmp_path)]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    # workload, trials, evals per trial, median and max share, median and max resolution
    assert row == ["w", "2", "4.000", f"{(2 / 120 + 2 / 9.6) / 2:.3f}", f"{2 / 9.6:.3f}", "0.250", "0.250"]


def test_an_empty_folder_is_one_message(tmp_path, capsys):
    assert eval_share.main([str(tmp_path)]) == 1
    assert "no finished trials" in capsys.readouterr().err
