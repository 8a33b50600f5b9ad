"""Tuning search spaces in AlgoPerf's format, and quasirandom points drawn from them.

Accepted forms (JSON, or the same structure in YAML):
  {"learning_rate": {"min": 1e-4, "max": 1e-2, "scaling": "log"},
   "warmup_factor": {"feasible_points": [0.05]}}
or a list of fixed points: [{"learning_rate": 0.001, ...}, ...].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from algoperf_lite.errors import UserError
from algoperf_lite.json_files import check_values, read_json_or_yaml

SCALINGS = ("linear", "log")


@dataclass(frozen=True)
class Range:
    name: str
    min: float
    max: float
    scaling: str

    def value(self, u: float) -> float:
        if self.scaling == "log":
            return float(math.exp(math.log(self.min) + u * (math.log(self.max) - math.log(self.min))))
        return float(self.min + u * (self.max - self.min))


@dataclass(frozen=True)
class Choice:
    name: str
    feasible_points: tuple[Any, ...]

    def value(self, u: float) -> Any:
        k = len(self.feasible_points)
        return self.feasible_points[min(int(u * k), k - 1)]


@dataclass(frozen=True)
class SearchSpace:
    """Either named dimensions (ranges and choices) or a list of fixed points."""

    dimensions: tuple[Range | Choice, ...] = ()
    fixed_points: tuple[dict[str, Any], ...] = ()
    source: str = "<memory>"

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` points for one study. Dimensions: a scrambled Halton sequence seeded by
        ``seed`` (so studies seeded differently draw different points). Fixed points:
        ``n`` of them without replacement, in an order drawn from ``seed``."""
        if n < 1:
            raise UserError(f"number of trials must be >= 1, got {n}")
        if self.fixed_points:
            if n > len(self.fixed_points):
                raise UserError(
                    f"{self.source}: {n} trials asked but the search space lists only "
                    f"{len(self.fixed_points)} fixed points; list more points or set "
                    f"rules.num_trials<={len(self.fixed_points)}"
                )
            order = np.random.default_rng(seed).permutation(len(self.fixed_points))[:n]
            return [dict(self.fixed_points[i]) for i in order]
        from scipy.stats import qmc  # here: a trial's runner path needs no scipy (scripts/gpu_check.py)

        unit = qmc.Halton(d=len(self.dimensions), scramble=True, seed=seed).random(n)
        return [{d.name: d.value(float(u)) for d, u in zip(self.dimensions, row)} for row in unit]

    def to_json(self) -> Any:
        """The space as AlgoPerf's JSON structure (for records and the leaderboard)."""
        if self.fixed_points:
            return [dict(p) for p in self.fixed_points]
        out: dict[str, Any] = {}
        for d in self.dimensions:
            if isinstance(d, Range):
                out[d.name] = {"min": d.min, "max": d.max, "scaling": d.scaling}
            else:
                out[d.name] = {"feasible_points": list(d.feasible_points)}
        return out


def _parse_dimension(source: str, name: str, spec: Any) -> Range | Choice:
    where = f"{source}: hyperparameter {name!r}"
    if not isinstance(spec, dict):
        raise UserError(f"{where} must be a mapping with min/max/scaling or feasible_points")
    if "feasible_points" in spec:
        points = spec["feasible_points"]
        if not isinstance(points, list) or not points:
            raise UserError(f"{where} has empty feasible_points; list at least one value")
        return Choice(name, tuple(points))
    missing = [k for k in ("min", "max", "scaling") if k not in spec]
    if missing:
        raise UserError(f"{where} lacks {', '.join(missing)}; give min, max and scaling, or feasible_points")
    lo, hi, scaling = spec["min"], spec["max"], spec["scaling"]
    if scaling not in SCALINGS:
        raise UserError(f"{where} has unknown scaling {scaling!r}; use one of {', '.join(SCALINGS)}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        raise UserError(f"{where}: min and max must be numbers")
    if lo > hi:
        raise UserError(f"{where} has min {lo} > max {hi}; swap them")
    if scaling == "log" and lo <= 0:
        raise UserError(f"{where} is log-scaled with min {lo} <= 0; use a positive min or linear scaling")
    return Range(name, float(lo), float(hi), scaling)


def parse_search_space(data: Any, source: str = "<memory>") -> SearchSpace:
    """Validate a loaded structure; every problem is one :class:`UserError` naming it (a
    point could not be recorded as JSON if it held NaN or Infinity)."""
    check_values(data, source)
    if isinstance(data, list):
        if not data or not all(isinstance(p, dict) and p for p in data):
            raise UserError(f"{source}: a list search space must be a non-empty list of non-empty mappings")
        return SearchSpace(fixed_points=tuple(data), source=source)
    if isinstance(data, dict) and data:
        dims = tuple(_parse_dimension(source, str(k), v) for k, v in data.items())
        return SearchSpace(dimensions=dims, source=source)
    raise UserError(f"{source}: a search space must be a non-empty mapping or a list of points")


def load_search_space(path: Path) -> SearchSpace:
    """Load ``.json``, ``.yaml`` or ``.yml``."""
    return parse_search_space(read_json_or_yaml(path), str(path))
