"""From trials to scores: per-study pick, median over studies, held-out rule, bootstrap, speedup."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from algoperf_lite.scoring import (
    ScoreSettings,
    ScoringError,
    ScoringWarning,
    TrialSet,
    compute_scores,
    normalize_trials,
)
from algoperf_lite.scoring.heldout import apply_heldout
from algoperf_lite.scoring.speedup import geometric_mean_speedup
from algoperf_lite.scoring.trials import benchmark_from_trials

INF = math.inf


def trial_set(rows: list[dict]) -> TrialSet:
    trials = normalize_trials(pd.DataFrame(rows))
    return TrialSet(trials, benchmark_from_trials(trials), None)


def studies(submission: str, workload: str, per_study: list[list[float]], **extra) -> list[dict]:
    return [{"submission": submission, "workload": workload, "study": k, "trial": i, "time_to_target": t, **extra}
            for k, trials in enumerate(per_study) for i, t in enumerate(trials)]


def medians(result) -> dict:
    return result.times.set_index(["submission", "workload"])["time_to_target"].to_dict()


def test_fastest_trial_per_study_then_median() -> None:
    # A: study 0 picks 20 (fastest of 30, inf, 20), study 1 inf (nothing reached), study 2 40;
    #    median(20, inf, 40) = 40. B: median(10, 30) = 20 (even count: mean of the middle two).
    #    C: median(10, inf) = inf: half the studies failing is failing.
    rows = (studies("A", "w", [[30, INF, 20], [INF, INF], [40]]) + studies("B", "w", [[10], [30, 50]])
            + studies("C", "w", [[10], [INF]]))
    with pytest.warns(ScoringWarning):  # irregular trial and study counts, scored anyway
        result = compute_scores(trial_set(rows), ScoreSettings(n_boot=0))
    assert medians(result) == {("A", "w"): 40, ("B", "w"): 20, ("C", "w"): INF}
    picks = result.picks.set_index(["submission", "study"])
    assert picks.loc[("A", 0), "trial"] == 2 and picks.loc[("A", 1), "trial"] is None
    counts = result.times.set_index("submission")[["num_studies", "num_reached"]]
    assert counts.loc["A"].tolist() == [3, 2]


def test_first_eval_selection_is_algoperfs_flaw() -> None:
    # Trial 0 reached at eval 3 after 50 s, trial 1 at eval 2 after 60 s (slower evals).
    # docs/rules.md picks the least time (50); AlgoPerf v0.5's code picks the smaller eval index (60).
    rows = [{"submission": "A", "workload": "w", "study": 0, "trial": 0, "time_to_target": 50, "eval_index": 3},
            {"submission": "A", "workload": "w", "study": 0, "trial": 1, "time_to_target": 60, "eval_index": 2},
            {"submission": "A", "workload": "w", "study": 0, "trial": 2, "time_to_target": INF, "eval_index": -1}]
    ts = trial_set(rows)
    fastest = compute_scores(ts, ScoreSettings(n_boot=0))
    first = compute_scores(ts, ScoreSettings(n_boot=0, trial_selection="first_eval"))
    assert medians(fastest)[("A", "w")] == 50
    assert medians(first)[("A", "w")] == 60


def test_first_eval_needs_eval_index() -> None:
    ts = trial_set(studies("A", "w", [[10]]))
    with pytest.raises(ScoringError, match="eval_index"):
        compute_scores(ts, ScoreSettings(n_boot=0, trial_selection="first_eval"))


def test_heldout_rule_by_hand() -> None:
    # One base workload b with its held-out variant v; times (b, v):
    #   A (100, 100)  counts.
    #   B (150, inf)  variant not reached -> b not counted.
    #   C (200, 500)  variant 5x the fastest (100) -> b not counted.
    #   D (inf, 50)   base not reached, so its fast variant is dropped first and is NOT the
    #                 "fastest on the variant" (AlgoPerf's order of steps).
    #   E (120, 350)  3.5x A's 100 -> counts (it would be 7x D's 50 with the other order).
    t = np.array([[100, 100], [150, INF], [200, 500], [INF, 50], [120, 350]], dtype=float)
    gated = apply_heldout(t, pairs=[(1, 0)])
    assert gated[:, 0].tolist() == [100, INF, INF, INF, 120]


def test_heldout_scores_by_hand() -> None:
    rows = []
    for sub, (b, v) in {"A": (100, 100), "B": (150, INF), "E": (120, 350)}.items():
        rows += studies(sub, "b", [[b]]) + studies(sub, "b_variant", [[v]], variant_of="b")
    result = compute_scores(trial_set(rows), ScoreSettings(n_boot=0))
    assert result.benchmark.workloads == ("b",) and result.benchmark.variants == {"b_variant": "b"}
    got = dict(zip(result.scores["submission"], result.scores["score"]))
    # Only b is scored (n = 1). A: r = 1 -> 1. E: r = 1.2 -> 92.5/99 (see test_scoring_profiles).
    # B: its b time does not count -> 0.
    assert got == pytest.approx({"A": 1.0, "E": 92.5 / 99, "B": 0.0}, abs=1e-12)
    counted = result.times.set_index(["submission", "workload"])["counted"]
    assert counted[("B", "b")] == INF and counted[("E", "b")] == 120


def test_heldout_gating_moves_the_fastest() -> None:
    # If A misses its variant, A's base no longer counts and E (120) becomes the fastest: r_E = 1.
    rows = []
    for sub, (b, v) in {"A": (100, INF), "E": (120, 350)}.items():
        rows += studies(sub, "b", [[b]]) + studies(sub, "b_variant", [[v]], variant_of="b")
    result = compute_scores(trial_set(rows), ScoreSettings(n_boot=0))
    assert dict(zip(result.scores["submission"], result.scores["score"])) == {"E": 1.0, "A": 0.0}


def test_bootstrap_in_the_pipeline() -> None:
    # One workload. A has studies (10, 10), B (10, 40): a resampled median of B is 10 (p = 1/4),
    # 25 (1/2) or 40 (1/4): ratio 1, 2.5 or 4, score 1, 0.5 or 0.5/99 (the by-hand check of the
    # method without jitter is in test_scoring_intervals.py). Point: B 0.5, A 1. The field's
    # noise can only lower A's score, and the pivot reflects that: A's interval is [1, 1].
    rows = studies("A", "w", [[10], [10]]) + studies("B", "w", [[10], [40]])
    ts = trial_set(rows)
    result = compute_scores(ts, ScoreSettings(n_boot=1000, seed=0))
    board = result.scores.set_index("submission")
    assert board.loc["B", "score"] == pytest.approx(0.5)
    assert board.loc["B", ["score_low", "score_high"]].tolist() == pytest.approx([0.0, 1.0], abs=0.01)
    assert (board.loc["B", "rank_low"], board.loc["B", "rank_high"]) == (1, 2)  # ties with A when 10
    assert board.loc["A", ["score_low", "score_high"]].tolist() == [1.0, 1.0]
    assert (board.loc["A", "rank_low"], board.loc["A", "rank_high"]) == (1, 1)
    assert board["num_studies"].tolist() == [2, 2] and board["interval_note"].tolist() == ["", ""]
    again = compute_scores(ts, ScoreSettings(n_boot=1000, seed=0)).scores
    pd.testing.assert_frame_equal(result.scores, again)  # seeded: deterministic


def test_speedup_by_hand() -> None:
    # ref / A: w1 200/100 = 2, w2 400/100 = 4, w3 A failed -> left out. sqrt(2 * 4) = 2.8284.
    times = pd.DataFrame({"w1": [100, 200], "w2": [100, 400], "w3": [INF, 300]}, index=["A", "ref"])
    got = geometric_mean_speedup(times, "ref")
    assert got.loc["A", "speedup"] == pytest.approx(math.sqrt(8))
    assert got.loc["A", "speedup_workloads"] == 2
    assert got.loc["ref", "speedup"] == 1.0 and got.loc["ref", "speedup_workloads"] == 3


def test_speedup_in_scores_and_unknown_reference() -> None:
    rows = (studies("A", "w1", [[100]]) + studies("A", "w2", [[300]])
            + studies("ref", "w1", [[200]]) + studies("ref", "w2", [[150]]))
    result = compute_scores(trial_set(rows), ScoreSettings(n_boot=0, reference="ref"))
    board = result.scores.set_index("submission")
    assert board.loc["A", "speedup"] == pytest.approx(1.0)  # sqrt(2 * 0.5)
    with pytest.raises(ScoringError, match="reference submission 'nope' not found"):
        compute_scores(trial_set(rows), ScoreSettings(n_boot=0, reference="nope"))


def test_steps_metric_scores_steps() -> None:
    # On time A is 2x faster; on steps B needs half as many steps (A runs more steps per second).
    rows = [{"submission": "A", "workload": "w", "study": 0, "trial": 0, "time_to_target": 10, "steps_to_target": 2000},
            {"submission": "B", "workload": "w", "study": 0, "trial": 0, "time_to_target": 20, "steps_to_target": 1000}]
    ts = trial_set(rows)
    def score(metric: str) -> pd.Series:
        settings = ScoreSettings(n_boot=0, integral="exact", metric=metric)
        return compute_scores(ts, settings).scores.set_index("submission")["score"]

    on_time, on_steps = score("time"), score("steps")
    # Ratio 2 -> (4 - 2)/3 = 2/3.
    assert on_time.to_dict() == pytest.approx({"A": 1.0, "B": 2 / 3})
    assert on_steps.to_dict() == pytest.approx({"A": 2 / 3, "B": 1.0})


def test_steps_metric_without_steps_is_an_error() -> None:
    with pytest.raises(ScoringError, match="steps_to_target"):
        compute_scores(trial_set(studies("A", "w", [[10]])), ScoreSettings(n_boot=0, metric="steps"))


def test_rulesets_are_scored_separately() -> None:
    # The same name in two rulesets: each is compared only within its own ruleset.
    rows = (studies("A", "w", [[10]], ruleset="external") + studies("B", "w", [[20]], ruleset="external")
            + studies("A", "w", [[40]], ruleset="self"))
    scores = compute_scores(trial_set(rows), ScoreSettings(n_boot=0)).scores
    assert scores[["ruleset", "submission", "rank"]].values.tolist() == [
        ["external_tuning", "A", 1], ["external_tuning", "B", 2], ["self_tuning", "A", 1]]


@pytest.mark.parametrize("settings, message", [
    (ScoreSettings(max_tau=1.0), "max tau"),
    (ScoreSettings(integral="simpson"), "integral"),
    (ScoreSettings(metric="flops"), "metric"),
    (ScoreSettings(trial_selection="best"), "trial selection"),
])
def test_bad_settings(settings: ScoreSettings, message: str) -> None:
    with pytest.raises(ScoringError, match=message):
        compute_scores(trial_set(studies("A", "w", [[10]])), settings)
