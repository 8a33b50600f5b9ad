"""Time to target at a finer resolution than the evals (rules: "Time to target").

Evaluation is untimed but not free, so evals come every ``eval_period_sec`` of submission
time, and the time to target would only be known to within a period: the ratios that
scores are built from would move with the grid. Between evals the runner keeps
checkpoints instead: an eval whose evaluation is deferred. At each, ``prepare_for_eval``
runs on the clock, as before any eval, and a copy of the model is kept off the clock. When
an eval first reaches the target, the kept copies since the previous eval are evaluated
by bisection (a few evals instead of one per copy): the time to target is that of the
first copy that reaches it after one that does not. When the budget runs out between
two evals, the last copy (kept within the budget) is evaluated, and if it reaches the
target the others are bisected alike. Checkpoints come every
``resolution`` of the submission time so far (a relative resolution), at most
:data:`PER_PERIOD` per eval period (or per budget, if that is shorter).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from algoperf_lite import spec

PER_PERIOD = 32  # checkpoints kept per eval period at most (bounds memory and the bisection's evals)


@dataclass
class Checkpoint:
    step: int
    submission_time: float
    model: dict[str, torch.Tensor]
    model_state: Any


class Checkpoints:
    """The copies kept since the last eval, and when the next one is due."""

    def __init__(self, resolution: float, interval_sec: float):
        self.resolution = resolution
        self.min_gap = interval_sec / PER_PERIOD  # the eval period, or the budget if shorter
        self.kept: list[Checkpoint] = []
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def schedule_after(self, now: float) -> None:
        self.next_at = now + max(self.resolution * now, self.min_gap)

    def keep(self, step: int, now: float, model: torch.nn.Module, model_state: Any) -> None:
        self.kept.append(Checkpoint(step, now, _copy(model), copy.deepcopy(model_state)))
        self.schedule_after(now)

    def clear(self) -> None:
        self.kept.clear()

    def first_reaching(self, model: torch.nn.Module, evaluate: Callable[[torch.nn.Module, Any], dict[str, float]],
                       reached: Callable[[dict[str, float]], bool],
                       eval_after: bool = True) -> tuple[Checkpoint | None, list[dict[str, Any]]]:
        """Bisect the kept copies, knowing that the eval before them did not reach the
        target and (``eval_after``) the eval after them did: the earliest copy found to
        reach it after one that does not (None: the eval after them, or with no eval
        after them, when the last copy does not reach it either), and a row per copy
        evaluated, in time order. The model gets its own weights back afterwards."""
        if not self.kept:
            return None, []
        own = _copy(model)
        evaluated: list[tuple[Checkpoint, dict[str, float], float]] = []

        def reaches(i: int) -> bool:
            point = self.kept[i]
            model.load_state_dict(point.model)
            started = time.perf_counter()
            metrics = evaluate(model, point.model_state)
            evaluated.append((point, metrics, time.perf_counter() - started))
            return reached(metrics)

        lo, hi = -1, len(self.kept)  # kept[lo] does not reach (or the eval before), kept[hi] does (or the eval after)
        if not eval_after:  # the trial ended without an eval: the last copy decides whether any reached it
            hi = len(self.kept) - 1 if reaches(len(self.kept) - 1) else None
        while hi is not None and hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
        model.load_state_dict(own)
        found = self.kept[hi] if hi is not None and hi < len(self.kept) else None
        return found, [{"step": p.step, "submission_time": p.submission_time, "eval_time": sec, "checkpoint": True,
                        **metrics} for p, metrics, sec in sorted(evaluated, key=lambda r: r[0].step)]


def _copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def target_check(target: spec.Target) -> Callable[[dict[str, float]], bool]:
    return lambda metrics: target.reached(metrics[f"validation/{target.metric}"])
