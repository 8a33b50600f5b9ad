"""From trials to one time per (submission, workload): per study the best trial, then the median.

docs/rules.md: per study the fastest trial among those that reached the target (least time, or
least steps when scoring steps); per workload the median over studies, infinity included.
`selection="first_eval"` reproduces AlgoPerf v0.5's scoring code instead (its "flaw 2"): the
trial that reached the target at the smallest eval index, ties broken by least time. It needs
the `eval_index` column and exists only to check published numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ScoringError

METRICS = {"time": "time_to_target", "steps": "steps_to_target"}
SELECTIONS = ("fastest", "first_eval")
CELL = ["ruleset", "submission", "workload", "variant_of"]


def metric_column(trials: pd.DataFrame, metric: str) -> str:
    """The trial-table column a metric is read from, checked to be there."""
    if metric not in METRICS:
        raise ScoringError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    column = METRICS[metric]
    if trials[column].isna().all():
        raise ScoringError(f"scoring by {metric} needs a {column} column with values")
    return column


def study_picks(trials: pd.DataFrame, column: str, selection: str = "fastest") -> pd.DataFrame:
    """One row per study: `value` (inf if no trial reached) and the picked `trial` (None then)."""
    if selection not in SELECTIONS:
        raise ScoringError(f"trial selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
    df = trials[[*CELL, "study", "trial", column, "eval_index"]].rename(columns={column: "value"})
    df["value"] = df["value"].fillna(np.inf)
    reached = np.isfinite(df["value"])
    if selection == "fastest":
        order = ["value"]
    else:
        if (reached & (df["eval_index"] < 0)).any():
            raise ScoringError("trial selection 'first_eval' needs an eval_index column for every reached trial")
        df["eval_index"] = df["eval_index"].where(reached, np.iinfo(np.int64).max)
        order = ["eval_index", "value"]
    df = df.sort_values([*CELL, "study", *order, "trial"], kind="stable")
    picks = df.groupby([*CELL, "study"], sort=False).head(1).drop(columns="eval_index")
    picks["trial"] = picks["trial"].astype(object).where(np.isfinite(picks["value"]), None)
    return picks.reset_index(drop=True)


def workload_medians(picks: pd.DataFrame) -> pd.DataFrame:
    """One row per (ruleset, submission, workload): the median over studies and the counts."""
    grouped = picks.groupby(CELL, sort=True)["value"]
    return grouped.agg(
        value=lambda v: float(np.median(v.to_numpy())),
        num_studies="size",
        num_reached=lambda v: int(np.isfinite(v.to_numpy()).sum()),
    ).reset_index()
