"""The hyperparameter object a submission receives: attribute access like AlgoPerf's
namedtuple (``hp.learning_rate``, ``hasattr(hp, "grad_clip")``)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def as_hyperparameters(point: dict[str, Any] | None) -> Any:
    """A namedtuple of ``point``, or None (self-tuning passes no hyperparameters)."""
    if point is None:
        return None
    return namedtuple("Hyperparameters", sorted(point))(**point)
