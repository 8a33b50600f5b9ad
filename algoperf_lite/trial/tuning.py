"""Which hyperparameter point a trial gets under a ruleset (docs/rules.md), and the object a
submission receives it as."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from algoperf_lite.errors import UserError
from algoperf_lite.rules import Rules
from algoperf_lite.trial.search_space import SearchSpace
from algoperf_lite.trial.seeds import derive_seed


def study_points(space: SearchSpace, rules: Rules, root_seed: int, submission: str, study: int) -> list[dict[str, Any]]:
    """The ``num_trials`` points of one study. Seeded by study (not by workload): each
    study draws different points, and every workload of a study sees the same ones."""
    return space.sample(rules.num_trials, derive_seed(root_seed, "search_space", submission, study))


def trial_point(space: SearchSpace | None, ruleset: str, rules: Rules, root_seed: int,
                submission: str, study: int, trial: int) -> dict[str, Any] | None:
    """The point of the search space a trial gets; None under self-tuning."""
    if ruleset == "self":
        return None
    if space is None:
        raise UserError(
            f"submission {submission} has no tuning_search_space.json, which external tuning "
            f"needs; add one or run with ruleset=self"
        )
    if not 0 <= trial < rules.num_trials:
        raise UserError(f"trial={trial} is out of range: this ruleset runs trials 0..{rules.num_trials - 1}")
    return study_points(space, rules, root_seed, submission, study)[trial]


def as_hyperparameters(point: dict[str, Any] | None) -> Any:
    """A namedtuple of ``point`` (attribute access like AlgoPerf's: ``hp.learning_rate``,
    ``hasattr(hp, "grad_clip")``), or None."""
    if point is None:
        return None
    return namedtuple("Hyperparameters", sorted(point))(**point)
