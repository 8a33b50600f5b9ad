"""Search spaces: validation on load, quasirandom points, fixed-point lists."""

from __future__ import annotations

import json
import math

import pytest

from algoperf_lite.errors import UserError
from algoperf_lite.rules import load_rules
from algoperf_lite.trial.search_space import Choice, Range, load_search_space, parse_search_space
from algoperf_lite.trial.tuning import study_points, trial_point

SPACE = {
    "learning_rate": {"min": 1e-4, "max": 1e-1, "scaling": "log"},
    "weight_decay": {"min": 0.0, "max": 0.5, "scaling": "linear"},
    "warmup_factor": {"feasible_points": [0.02, 0.05, 0.1]},
}


def test_range_and_choice_map_the_unit_interval():
    log = Range("lr", 1e-4, 1e-2, "log")
    assert log.value(0.0) == pytest.approx(1e-4) and log.value(1.0) == pytest.approx(1e-2)
    assert log.value(0.5) == pytest.approx(1e-3)  # geometric midpoint
    assert Range("wd", 0.0, 0.5, "linear").value(0.5) == pytest.approx(0.25)
    choice = Choice("w", (1, 2, 3))
    assert [choice.value(u) for u in (0.0, 0.33, 0.34, 0.99, 1.0)] == [1, 1, 2, 3, 3]


def test_points_lie_in_the_space_and_reproduce():
    space = parse_search_space(SPACE)
    points = space.sample(5, seed=7)
    assert len(points) == 5
    for p in points:
        assert 1e-4 <= p["learning_rate"] <= 1e-1
        assert 0.0 <= p["weight_decay"] <= 0.5
        assert p["warmup_factor"] in (0.02, 0.05, 0.1)
    assert space.sample(5, seed=7) == points  # same seed, same points
    assert len({p["learning_rate"] for p in points}) == 5


def test_studies_draw_different_points_and_the_same_config_repeats():
    space, rules = parse_search_space(SPACE), load_rules("v0.6")
    study0 = study_points(space, rules, root_seed=0, submission="adamw", study=0)
    study1 = study_points(space, rules, root_seed=0, submission="adamw", study=1)
    assert len(study0) == rules.num_trials == 5
    # AlgoPerf's flaw (docs/rules.md, "What differs from AlgoPerf", 1): its studies got the same points reordered. Not here.
    assert not {p["learning_rate"] for p in study0} & {p["learning_rate"] for p in study1}
    assert study_points(space, rules, 0, "adamw", 0) == study0
    assert trial_point(space, "external", rules, 0, "adamw", 1, 3) == study1[3]
    assert trial_point(space, "self", rules, 0, "adamw", 1, 3) is None


def test_fixed_points_are_drawn_without_replacement_per_study():
    points = [{"learning_rate": v} for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    space = parse_search_space(points)
    drawn = space.sample(5, seed=3)
    assert sorted(p["learning_rate"] for p in drawn) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert space.sample(3, seed=3) == drawn[:3]
    with pytest.raises(UserError, match="only 5 fixed points"):
        space.sample(6, seed=0)


@pytest.mark.parametrize("bad, message", [
    ({"lr": {"min": 1.0, "max": 0.1, "scaling": "log"}}, "min 1.0 > max 0.1"),
    ({"lr": {"min": 0.0, "max": 0.1, "scaling": "log"}}, "log-scaled with min 0.0 <= 0"),
    ({"lr": {"min": 0.1, "max": 1.0, "scaling": "cubic"}}, "unknown scaling 'cubic'"),
    ({"lr": {"feasible_points": []}}, "empty feasible_points"),
    ({"lr": {"min": 0.1, "max": 1.0}}, "lacks scaling"),
    ({"lr": 0.1}, "must be a mapping"),
    ([], "non-empty"),
    ({}, "non-empty"),
])
def test_bad_spaces_are_refused_with_the_reason(bad, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        parse_search_space(bad)


def test_yaml_and_json_load_the_same(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SPACE))
    (tmp_path / "s.yaml").write_text(
        "learning_rate: {min: 1.0e-4, max: 0.1, scaling: log}\n"
        "weight_decay: {min: 0.0, max: 0.5, scaling: linear}\n"
        "warmup_factor: {feasible_points: [0.02, 0.05, 0.1]}\n"
    )
    assert load_search_space(tmp_path / "s.json").sample(3, 1) == load_search_space(tmp_path / "s.yaml").sample(3, 1)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_search_space(tmp_path / "broken.json")
    assert math.isclose(load_search_space(tmp_path / "s.json").dimensions[0].max, 0.1)
