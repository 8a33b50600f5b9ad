"""AlgoPerf v0.5's held-out workload rule, on arrays of times shaped (..., submissions, workloads).

A base workload's time counts only if the submission also reached the held-out variant's
target, within budget and within `max_ratio` of the fastest submission on that variant.
The order of the steps follows AlgoPerf's scoring code, which the published numbers depend on:
a variant's time is first dropped where its base was not reached, so the "fastest on the
variant" is taken among submissions that reached the base.
"""

from __future__ import annotations

import numpy as np


def apply_heldout(times: np.ndarray, pairs: list[tuple[int, int]], max_ratio: float = 4.0) -> np.ndarray:
    """A copy of `times` with the rule applied; `pairs` are (variant column, base column)."""
    t = np.array(times, dtype=float, copy=True)
    for v, b in pairs:
        t[..., v] = np.where(np.isfinite(t[..., b]), t[..., v], np.inf)
    for v, _ in pairs:
        fastest = t[..., v].min(axis=-1, keepdims=True)
        t[..., v] = np.where(t[..., v] > max_ratio * fastest, np.inf, t[..., v])
    for v, b in pairs:
        t[..., b] = np.where(np.isfinite(t[..., v]), t[..., b], np.inf)
    return t
