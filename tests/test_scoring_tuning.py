"""The tuning analyses read from a results directory: the expected best time of k points against
brute-force enumeration of the subsets, and the sensitivity points read back from trial records."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_scoring_fakes import write_trial

from algoperf_lite.scoring import load_trials
from algoperf_lite.scoring.sensitivity import reach_shares, scalings, sensitivity_points
from algoperf_lite.scoring.trial_index import TrialIndex
from algoperf_lite.scoring.tuning_cost import best_of_k, tuning_cost

INF = math.inf


def brute_force(times: list[float], k: int) -> tuple[float, float, float]:
    """Every k-subset, enumerated: P(some reach), mean best (inf if any subset has none), mean
    best over the subsets that reach."""
    bests = [min(subset) for subset in itertools.combinations(times, k)]
    finite = [b for b in bests if math.isfinite(b)]
    return (len(finite) / len(bests), float(np.mean(bests)) if len(finite) == len(bests) else INF,
            float(np.mean(finite)) if finite else math.nan)


@pytest.mark.parametrize("times", [
    [5.0, 3.0, 9.0, 4.0, 7.0],
    [5.0, INF, 3.0, INF, 8.0, 2.0],
    [INF, INF, 4.0],
    [INF, INF],
    [3.0, 3.0, 1.0, INF, 3.0, 6.0, INF, 2.0],  # ties
    list(np.random.default_rng(0).lognormal(3, 1, 12)) + [INF] * 3,
])
def test_expected_best_of_k_against_brute_force(times: list[float]) -> None:
    for k in range(1, len(times) + 1):
        p, expected, if_reached = best_of_k(np.array(times), k)
        bp, be, bi = brute_force(times, k)
        assert p == pytest.approx(bp, abs=1e-12)
        assert expected == pytest.approx(be, rel=1e-12) if math.isfinite(be) else expected == INF
        assert if_reached == pytest.approx(bi, rel=1e-12) if math.isfinite(bi) else math.isnan(if_reached)


def test_expected_best_by_hand() -> None:
    # Times 1, 2, 3 and one failure; k = 2 draws one of 6 pairs: {1,2} {1,3} {1,inf} -> best 1,
    # {2,3} {2,inf} -> 2, {3,inf} -> 3. Every pair reaches: E = (3 * 1 + 2 * 2 + 3) / 6 = 10/6.
    assert best_of_k(np.array([3.0, INF, 1.0, 2.0]), 2) == (1.0, pytest.approx(10 / 6), pytest.approx(10 / 6))
    # k = 1: P(reach) 3/4, infinite expectation, 2 among those that reach.
    assert best_of_k(np.array([3.0, INF, 1.0, 2.0]), 1) == (0.75, INF, 2.0)
    with pytest.raises(ValueError):
        best_of_k(np.array([1.0]), 2)


def test_tuning_cost_table(tmp_path: Path) -> None:
    for i, t in enumerate([4.0, INF, 2.0]):
        write_trial(tmp_path, "adamw", "mnist", 0, i, t, hyperparameters={"lr": 0.1})
    for i, t in enumerate([6.0, 8.0]):
        write_trial(tmp_path, "adamw", "mnist", 1, i, t, hyperparameters={"lr": 0.1})
    write_trial(tmp_path, "adamw", "mnist", 0, 0, 3.0, ruleset="self")  # self-tuning: no points
    table = tuning_cost(load_trials(tmp_path).trials)
    assert table["ruleset"].unique().tolist() == ["external_tuning"] and table["k"].tolist() == [1, 2, 3, 4, 5]
    assert (table["n_points"] == 5).all()
    first, last = table.iloc[0], table.iloc[-1]
    assert first["p_reach"] == pytest.approx(0.8) and first["expected_best_time"] == INF
    assert first["expected_best_time_if_reached"] == pytest.approx(5.0)  # mean of 4, 2, 6, 8
    assert last["expected_best_time"] == 2.0 and last["p_reach"] == 1.0
    assert table["expected_best_time"].iloc[1] == pytest.approx(brute_force([4.0, INF, 2.0, 6.0, 8.0], 2)[1])


def build_sweep(root: Path) -> Path:
    """adamw on mnist: 2 studies x 3 points of a log-scaled learning rate and a choice; the
    evals of a trial that does not reach climb to 0.72 (write_trial: 0.8 of the 0.9 target)."""
    space = {"learning_rate": {"min": 1e-4, "max": 1e-1, "scaling": "log"},
             "warmup": {"min": 0.0, "max": 0.1, "scaling": "linear"}, "nesterov": {"feasible_points": [True, False]}}
    times = {(0, 0): 12.0, (0, 1): INF, (0, 2): 30.0, (1, 0): 15.0, (1, 1): INF, (1, 2): 8.0}
    for (study, trial), t in times.items():
        point = {"learning_rate": 10.0 ** -(trial + 2), "warmup": 0.05 * study, "nesterov": trial % 2 == 0}
        path = write_trial(root, "adamw", "mnist", study, trial, t, hyperparameters=point)
        spec = json.loads((path / "spec.json").read_text())
        (path / "spec.json").write_text(json.dumps({**spec, "search_space": space}))
    write_trial(root, "adamw", "mnist", 0, 0, 9.0, ruleset="self")
    return root


def test_sensitivity_points_read_back(tmp_path: Path) -> None:
    trials = load_trials(build_sweep(tmp_path)).trials
    points = sensitivity_points(TrialIndex(trials))
    assert len(points) == 6 * 3 and set(points["ruleset"]) == {"external_tuning"}  # self-tuning has no point
    lr = points[points["hyperparameter"] == "learning_rate"].set_index(["study", "trial"])
    assert lr.loc[(1, 2), "value"] == pytest.approx(1e-4) and lr.loc[(1, 2), "time_to_target"] == 8.0
    assert lr.loc[(0, 1), "time_to_target"] == INF
    assert lr.loc[(0, 1), "best_metric"] == pytest.approx(0.72)  # what it got to, short of 0.9
    assert lr.loc[(0, 0), "best_metric"] == pytest.approx(0.9)
    assert (lr["scaling"] == "log").all() and lr["metric"].eq("accuracy").all() and lr["target"].eq(0.9).all()
    by_name = points.drop_duplicates("hyperparameter").set_index("hyperparameter")["scaling"].to_dict()
    assert by_name == {"learning_rate": "log", "warmup": "linear", "nesterov": "choice"}
    shares = reach_shares(trials).set_index(["ruleset", "workload"])
    assert shares.loc[("external_tuning", "mnist"), ["points", "reached"]].tolist() == [6, 4]
    assert shares.loc[("external_tuning", "mnist"), "share"] == pytest.approx(4 / 6)
    assert shares.loc[("external_tuning", "all"), "share"] == pytest.approx(4 / 6)
    assert ("self_tuning", "mnist") not in shares.index


def test_scalings_of_recorded_spaces() -> None:
    assert scalings([{"lr": 0.1}, {"lr": 0.2}]) == {}  # fixed points: linear axes by default
    assert scalings(None) == {}
    assert scalings({"a": {"min": 1, "max": 2, "scaling": "linear"}, "b": {"feasible_points": [1]}}) == {
        "a": "linear", "b": "choice"}


def test_no_points_no_rows(tmp_path: Path) -> None:
    write_trial(tmp_path, "adamw", "mnist", 0, 0, 9.0, ruleset="self")
    trials = load_trials(tmp_path).trials
    assert sensitivity_points(TrialIndex(trials)).empty and tuning_cost(trials).empty
    assert reach_shares(trials).empty
    assert isinstance(reach_shares(trials), pd.DataFrame)
