"""Performance ratios, performance profiles and the area-under-profile score (docs/rules.md, "Scoring").

Arrays are shaped (..., submissions, workloads) so that the bootstrap can push a whole batch of
resampled tables through the same code. Every column is a workload of the benchmark: one a
submission did not run is an inf column entry, hence a failure in the denominator.
"""

from __future__ import annotations

import numpy as np

INTEGRALS = ("trapezoid", "exact")


def performance_ratios(times: np.ndarray) -> np.ndarray:
    """r[s, w] = t[s, w] / min over s' of t[s', w]; inf where not reached (also when nobody did)."""
    t = np.asarray(times, dtype=float)
    best = t.min(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = t / best
    return np.where(np.isfinite(t), ratios, np.inf)


def tau_grid(max_tau: float = 4.0, num_points: int = 100) -> np.ndarray:
    """AlgoPerf's evaluation points: `num_points` evenly spaced taus in [1, max_tau]."""
    if max_tau <= 1:
        raise ValueError(f"max_tau must be > 1, got {max_tau}")
    return np.linspace(1.0, max_tau, num_points)


def performance_profiles(ratios: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """rho_s(tau): the fraction of the benchmark's workloads with r <= tau, shaped (..., S, taus)."""
    r = np.asarray(ratios, dtype=float)
    return (r[..., None] <= taus).sum(axis=-2) / r.shape[-1]


def aup_scores(
    ratios: np.ndarray, max_tau: float = 4.0, integral: str = "trapezoid", num_points: int = 100
) -> np.ndarray:
    """B_s = 1/(max_tau - 1) * integral of rho_s over [1, max_tau], in [0, 1].

    "trapezoid" is AlgoPerf's rule (the published leaderboards use it); "exact" integrates the
    step function: each workload with r <= max_tau adds (max_tau - r) / (max_tau - 1) / n.
    """
    r = np.asarray(ratios, dtype=float)
    if integral == "trapezoid":
        taus = tau_grid(max_tau, num_points)
        return np.trapezoid(performance_profiles(r, taus), taus, axis=-1) / (max_tau - 1)
    if integral == "exact":
        if max_tau <= 1:
            raise ValueError(f"max_tau must be > 1, got {max_tau}")
        area = np.where(r <= max_tau, (max_tau - r) / (max_tau - 1), 0.0)
        return area.sum(axis=-1) / r.shape[-1]
    raise ValueError(f"integral must be one of {INTEGRALS}, got {integral!r}")
