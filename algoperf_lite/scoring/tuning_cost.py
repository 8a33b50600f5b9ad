"""The cost of tuning: how a submission's best time to target on a workload improves with the
number of hyperparameter points it is given.

Of a submission's N recorded points on a workload (every external-tuning trial, all studies), k
are drawn at random without replacement and the best (least) time to target among them is kept.
Dodge et al. (2019, "Show your work") compute the expected maximum validation score of k trials
from the empirical distribution; here the same for a minimum, exactly over the C(N, k) subsets:
with the times sorted, t_(1) <= ... <= t_(N) (not reached = inf, sorted last), the best of k is
t_(i) exactly when the subset holds t_(i) and k - 1 of the N - i times after it, so

    P(best = t_(i)) = C(N - i, k - 1) / C(N, k),    E[best] = sum_i t_(i) P(best = t_(i)).

E[best] is infinite while some k-subset reaches nothing, so the table also gives the probability
that at least one of the k reaches, 1 - C(N - R, k) / C(N, k) with R of N reached, and the
expected best time among the subsets that do.
"""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd

CELL = ["ruleset", "submission", "workload"]


def best_of_k(times: np.ndarray, k: int) -> tuple[float, float, float]:
    """(P(some of k reach), E[best of k] (inf when a k-subset reaches nothing), E[best of k | some
    reach] (NaN when none can)) over the k-subsets of ``times`` drawn uniformly."""
    t = np.sort(np.asarray(times, dtype=float))
    n = len(t)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    weights = np.array([comb(n - i, k - 1) for i in range(1, n + 1)], dtype=float) / comb(n, k)
    reached = np.isfinite(t)
    p_reach = 1 - comb(n - int(reached.sum()), k) / comb(n, k)
    if p_reach == 0:
        return 0.0, float("inf"), float("nan")
    if_reached = float((weights[reached] * t[reached]).sum() / p_reach)
    return p_reach, float("inf") if weights[~reached].any() else if_reached, if_reached


def tuning_cost(trials: pd.DataFrame) -> pd.DataFrame:
    """Per external-tuning (submission, workload) and k = 1..N: n_points, k, p_reach,
    expected_best_time, expected_best_time_if_reached (see the module docstring)."""
    rows = []
    external = trials[trials["ruleset"] == "external_tuning"]
    for (ruleset, submission, workload), group in external.groupby(CELL):
        times = group["time_to_target"].to_numpy(float)
        for k in range(1, len(times) + 1):
            p_reach, expected, if_reached = best_of_k(times, k)
            rows.append({"ruleset": ruleset, "submission": submission, "workload": workload,
                         "n_points": len(times), "k": k, "p_reach": p_reach, "expected_best_time": expected,
                         "expected_best_time_if_reached": if_reached})
    return pd.DataFrame(rows, columns=[*CELL, "n_points", "k", "p_reach", "expected_best_time",
                                       "expected_best_time_if_reached"])
