"""Hyperparameter sensitivity, from the tuning trials a study already ran: each external-tuning
trial is one point of its submission's search space, with its time to target (or, when it did
not reach the target, the best validation value it saw). How much of a search space reaches
the target is "robust by default" in one number.

The axes follow the search space each trial's spec.json records: a log-scaled range is drawn on
a log axis, a linear range or a list of fixed points on a linear one, feasible points as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .trial_index import TrialIndex

CELL = ["ruleset", "submission", "workload"]


def scalings(space: Any) -> dict[str, str]:
    """Each hyperparameter's axis in a recorded search space (AlgoPerf's JSON form): "log",
    "linear" or "choice" (feasible points). A list of fixed points, or none recorded: {}."""
    if not isinstance(space, dict):
        return {}
    out = {}
    for name, dim in space.items():
        if isinstance(dim, dict) and "feasible_points" in dim:
            out[str(name)] = "choice"
        elif isinstance(dim, dict):
            out[str(name)] = "log" if dim.get("scaling") == "log" else "linear"
    return out


def sensitivity_points(index: TrialIndex) -> pd.DataFrame:
    """One row per (external-tuning trial, hyperparameter): ruleset, submission, workload, study,
    trial, hyperparameter, value, scaling, time_to_target (inf: not reached), best_metric, metric,
    maximize, target. Trials without a point (self-tuning) are left out."""
    rows = []
    trials = index.trials[index.trials["ruleset"] == "external_tuning"]
    for trial in trials.itertuples(index=False):
        spec = index.spec(trial.path)
        point = spec.get("hyperparameters")
        if not isinstance(point, dict) or not point:
            continue
        axes, target = scalings(spec.get("search_space")), spec.get("target") or {}
        best = index.best_metric(trial.path)
        for name, value in point.items():
            rows.append({
                "ruleset": trial.ruleset, "submission": trial.submission, "workload": trial.workload,
                "study": trial.study, "trial": trial.trial, "hyperparameter": name, "value": value,
                "scaling": axes.get(name, "linear"), "time_to_target": trial.time_to_target, "best_metric": best,
                "metric": target.get("metric", ""), "maximize": bool(target.get("maximize", True)),
                "target": target.get("value", np.nan),
            })
    return pd.DataFrame(rows, columns=[*CELL, "study", "trial", "hyperparameter", "value", "scaling",
                                       "time_to_target", "best_metric", "metric", "maximize", "target"])


def reach_shares(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (ruleset, submission, workload): points (trials), how many reached the target, and the
    share; and per (ruleset, submission) the same over every workload (workload "all")."""
    external = trials[trials["ruleset"] == "external_tuning"].assign(reached=lambda t: np.isfinite(t["time_to_target"]))
    per_cell = external.groupby(CELL)["reached"].agg(points="size", reached="sum").reset_index()
    overall = external.groupby(CELL[:2])["reached"].agg(points="size", reached="sum").reset_index()
    table = pd.concat([per_cell, overall.assign(workload="all")], ignore_index=True)
    table["reached"] = table["reached"].astype(int)
    table["share"] = table["reached"] / table["points"]
    return table[[*CELL, "points", "reached", "share"]]
