"""Ratios, profiles and AUP scores against numbers computed by hand (docs/rules.md, "Scoring").

The 100-point grid is tau_i = 1 + i/33, i = 0..99 (step 3/99). For one workload with ratio r,
let k(r) = number of grid points with tau_i >= r. Its trapezoid contribution, normalized by
r_max - 1 = 3, is (k - 1/2 - [r <= 1]/2) * (1/33) / 3 = (k - 1/2 - [r <= 1]/2) / 99:
  r = 1    -> k = 100 -> 99/99   = 1
  r = 1.2  -> 0.2*33 = 6.6,  first i = 7  -> k = 93 -> 92.5/99
  r = 1.25 -> 0.25*33 = 8.25, first i = 9 -> k = 91 -> 90.5/99
  r = inf  -> 0
The exact step integral gives (4 - r)/3 instead: 1, 2.8/3, 2.75/3, 0.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from algoperf_lite.scoring import (
    ScoreSettings,
    ScoringWarning,
    TrialSet,
    aup_scores,
    compute_scores,
    normalize_trials,
    performance_profiles,
    performance_ratios,
    tau_grid,
)
from algoperf_lite.scoring.trials import benchmark_from_trials

INF = math.inf
# Hand case: 3 submissions x 3 workloads, times in seconds.
TIMES = {
    "A": {"w1": 100, "w2": 250, "w3": INF},
    "B": {"w1": 125, "w2": 200, "w3": 300},
    "C": {"w1": 120, "w2": INF, "w3": INF},
}
# Per-workload minimum: w1 100, w2 200, w3 300, so the ratios are
RATIOS = {"A": [1, 1.25, INF], "B": [1.25, 1, 1], "C": [1.2, INF, INF]}
# Trapezoid: A (99 + 90.5)/297, B (90.5 + 99 + 99)/297, C 92.5/297.
TRAPEZOID = {"A": 189.5 / 297, "B": 288.5 / 297, "C": 92.5 / 297}
# Exact: A (3 + 2.75)/9, B (2.75 + 3 + 3)/9, C 2.8/9.
EXACT = {"A": 5.75 / 9, "B": 8.75 / 9, "C": 2.8 / 9}


def trial_set(times: dict[str, dict[str, float]], ruleset: str = "external") -> TrialSet:
    """One study with one trial per (submission, workload)."""
    rows = [{"ruleset": ruleset, "submission": s, "workload": w, "study": 0, "trial": 0, "time_to_target": t}
            for s, per in times.items() for w, t in per.items()]
    trials = normalize_trials(pd.DataFrame(rows))
    return TrialSet(trials, benchmark_from_trials(trials), source=None)


def scores_of(times: dict, **settings) -> dict[str, float]:
    result = compute_scores(trial_set(times), ScoreSettings(n_boot=0, **settings))
    return dict(zip(result.scores["submission"], result.scores["score"]))


def test_ratios_by_hand() -> None:
    t = np.array([[TIMES[s][w] for w in ("w1", "w2", "w3")] for s in "ABC"], dtype=float)
    assert performance_ratios(t).tolist() == [RATIOS[s] for s in "ABC"]


def test_profiles_by_hand() -> None:
    r = np.array([RATIOS[s] for s in "ABC"], dtype=float)
    rho = performance_profiles(r, np.array([1.0, 1.2, 1.25, 4.0]))
    # A: r = 1 counts from tau = 1, r = 1.25 from tau = 1.25 (inclusive), inf never.
    assert rho.tolist() == [[1 / 3, 1 / 3, 2 / 3, 2 / 3], [2 / 3, 2 / 3, 1, 1], [0, 1 / 3, 1 / 3, 1 / 3]]


def test_tau_grid_is_algoperfs() -> None:
    taus = tau_grid(4.0, 100)
    assert len(taus) == 100 and taus[0] == 1 and taus[-1] == 4
    assert taus[1] - taus[0] == pytest.approx(1 / 33)


@pytest.mark.parametrize("integral, expected", [("trapezoid", TRAPEZOID), ("exact", EXACT)])
def test_scores_by_hand(integral: str, expected: dict) -> None:
    got = scores_of(TIMES, integral=integral)
    assert got == pytest.approx(expected, abs=1e-12)


def test_trapezoid_and_exact_agree_at_midpoints() -> None:
    # r = 2.5 sits halfway between grid points (1.5*33 = 49.5): k = 50, (50 - 0.5)/99 = 0.5 = (4 - 2.5)/3.
    r = np.array([[2.5]])
    assert aup_scores(r, integral="trapezoid")[0] == pytest.approx(0.5, abs=1e-12)
    assert aup_scores(r, integral="exact")[0] == pytest.approx(0.5, abs=1e-12)


def test_max_tau_is_configurable() -> None:
    # r_max = 2: only ratios <= 2 count. Exact: A (1 + 0.75)/3, B (0.75 + 1 + 1)/3, C 0.8/3.
    got = scores_of(TIMES, integral="exact", max_tau=2.0)
    assert got == pytest.approx({"A": 1.75 / 3, "B": 2.75 / 3, "C": 0.8 / 3}, abs=1e-12)


def test_ties_share_ratio_one_and_rank() -> None:
    # A and B tie on both workloads: both ratios 1, both score 1, both rank 1; C is 2x slower on w1
    # (exact: (4-2)/3 / 2 = 1/3) and fails w2, so it ranks 3.
    times = {"A": {"w1": 10, "w2": 5}, "B": {"w1": 10, "w2": 5}, "C": {"w1": 20, "w2": INF}}
    result = compute_scores(trial_set(times), ScoreSettings(n_boot=0, integral="exact"))
    board = result.scores.set_index("submission")
    assert board["score"].to_dict() == pytest.approx({"A": 1.0, "B": 1.0, "C": 1 / 3})
    assert board["rank"].to_dict() == {"A": 1, "B": 1, "C": 3}


def test_all_infinite_workload_counts_as_failed_for_everyone() -> None:
    # Nobody reaches w3: it stays in the denominator (n = 3), so the best possible score is 2/3.
    times = {"A": {"w1": 10, "w2": 10, "w3": INF}, "B": {"w1": 20, "w2": 10, "w3": INF}}
    result = compute_scores(trial_set(times), ScoreSettings(n_boot=0, integral="exact"))
    board = result.scores.set_index("submission")
    # A: (1 + 1 + 0)/3; B: ratio 2 on w1 -> (2/3 + 1 + 0)/3 = 5/9.
    assert board["score"].to_dict() == pytest.approx({"A": 2 / 3, "B": 5 / 9})
    ratios = result.times.set_index(["submission", "workload"])["ratio"]
    assert ratios[("A", "w3")] == INF and ratios[("B", "w3")] == INF
    assert board.loc["A", "reached"] == 2 and board.loc["A", "num_workloads"] == 3


def test_missing_workload_counts_as_failed_and_warns() -> None:
    # C never ran w3: the same score as if it had failed it (the C row of the hand case).
    times = {s: dict(per) for s, per in TIMES.items()}
    del times["C"]["w3"]
    with pytest.warns(ScoringWarning, match=r"C: w3"):
        got = scores_of(times)
    assert got == pytest.approx(TRAPEZOID, abs=1e-12)


def test_workload_nobody_ran_still_counts(tmp_path) -> None:
    # A benchmark of 4 workloads where w4 has no trials at all: every score is scaled by 3/4.
    ts = trial_set(TIMES)
    ts = TrialSet(ts.trials, benchmark_from_trials(ts.trials, workloads=["w1", "w2", "w3", "w4"]), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        result = compute_scores(ts, ScoreSettings(n_boot=0, integral="exact"))
    got = dict(zip(result.scores["submission"], result.scores["score"]))
    assert got == pytest.approx({s: v * 3 / 4 for s, v in EXACT.items()}, abs=1e-12)


def test_profiles_table_has_the_grid() -> None:
    result = compute_scores(trial_set(TIMES), ScoreSettings(n_boot=0))
    a = result.profiles[result.profiles["submission"] == "A"]
    assert len(a) == 100 and a["tau"].iloc[0] == 1.0 and a["tau"].iloc[-1] == 4.0
    assert a["rho"].iloc[0] == pytest.approx(1 / 3) and a["rho"].iloc[-1] == pytest.approx(2 / 3)
    # Integrating the written profile with the trapezoid rule gives the score back.
    assert np.trapezoid(a["rho"], a["tau"]) / 3 == pytest.approx(TRAPEZOID["A"])
