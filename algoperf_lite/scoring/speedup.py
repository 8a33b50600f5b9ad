"""Geometric-mean speedup against a reference submission (docs/rules.md, "Scoring": also reported).

speedup[s] = geometric mean over workloads of t[ref, w] / t[s, w]: 2.0 means twice as fast as
the reference. Only workloads that both reached count, and how many did is reported beside it:
replacing a failure by the budget (AlgoPerf's choice) would invent a time that was never measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def geometric_mean_speedup(times: pd.DataFrame, reference: str) -> pd.DataFrame:
    """`times`: submissions x workloads (inf = not reached). Columns speedup, speedup_workloads."""
    ref = times.loc[reference]
    both = np.isfinite(times) & np.isfinite(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(ref / times).where(both, 0.0)
    n = both.sum(axis=1)
    speedup = np.exp(logs.sum(axis=1) / n.where(n > 0)).where(n > 0)
    return pd.DataFrame({"speedup": speedup, "speedup_workloads": n.astype(int)})
