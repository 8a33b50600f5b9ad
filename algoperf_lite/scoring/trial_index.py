"""Each trial's record, read once, and the best trial of each (ruleset, submission, workload):
what the leaderboard's curves and hyperparameters, the sensitivity analysis and ``diagnose`` look at."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from algoperf_lite.results import read_spec


def eval_column(evals: pd.DataFrame, metric: str | None) -> str | None:
    """The evals.csv column of a target metric: spec.json may name it "accuracy" (as the trial
    writes it) or "validation/accuracy" (as docs/results.md shows); the column is the latter."""
    for name in (metric, f"validation/{metric}"):
        if metric and name in evals.columns and evals[name].notna().any():
            return name
    return None


class TrialIndex:
    """Each trial's spec.json and evals.csv, read once, keyed by the trial's folder. Other layouts
    (AlgoPerf's logs) pass readers that give the same: a spec dict, evals with submission_time."""

    def __init__(self, trials: pd.DataFrame, read_spec: Callable[[str], dict] | None = None,
                 read_evals: Callable[[str], pd.DataFrame | None] | None = None) -> None:
        self.trials = trials
        self._times = dict(zip(trials["path"], trials["time_to_target"]))
        self._specs: dict[str, dict] = {}
        self._evals: dict[str, pd.DataFrame | None] = {}
        self._read_spec, self._read_evals = read_spec, read_evals

    def time_to_target(self, path: str) -> float:
        return float(self._times[path])

    def spec(self, path: str) -> dict:
        if path not in self._specs:
            self._specs[path] = self._read_spec(path) if self._read_spec else read_spec(Path(path))
        return self._specs[path]

    def evals(self, path: str) -> pd.DataFrame | None:
        if path not in self._evals and self._read_evals:
            self._evals[path] = self._read_evals(path)
        if path not in self._evals:
            try:
                self._evals[path] = pd.read_csv(Path(path) / "evals.csv")
            except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError):
                self._evals[path] = None
        return self._evals[path]

    def best_metric(self, path: str) -> float:
        """The best validation value of the target's metric the trial saw (NaN: none recorded)."""
        target = self.spec(path).get("target") or {}
        evals = self.evals(path)
        column = None if evals is None else eval_column(evals, target.get("metric"))
        if column is None:
            return float("nan")
        return float(evals[column].max() if target.get("maximize", True) else evals[column].min())

    def first_spec(self, **match: str) -> dict:
        rows = self.trials
        for key, value in match.items():
            rows = rows[rows[key] == value]
        return self.spec(rows["path"].iloc[0]) if len(rows) else {}


def best_trial_paths(trials: pd.DataFrame, picks: pd.DataFrame, index: TrialIndex) -> dict[tuple, str]:
    """(ruleset, submission, workload) -> folder of its best trial: the fastest that reached the
    target; if none did, the one whose validation metric came closest (best value seen)."""
    keyed = trials.set_index(["ruleset", "submission", "workload", "study", "trial"])["path"]
    best: dict[tuple, str] = {}
    reached = picks[np.isfinite(picks["value"])].sort_values("value")
    for row in reached.itertuples(index=False):
        best.setdefault((row.ruleset, row.submission, row.workload),
                        keyed[(row.ruleset, row.submission, row.workload, row.study, row.trial)])
    for (ruleset, sub, w), group in trials.groupby(["ruleset", "submission", "workload"]):
        if (ruleset, sub, w) in best:
            continue
        sign = 1 if (index.spec(group["path"].iloc[0]).get("target") or {}).get("maximize", True) else -1
        scored = [(sign * index.best_metric(path), path) for path in group["path"]]
        scored = [(value, path) for value, path in scored if np.isfinite(value)]
        if scored:
            best[(ruleset, sub, w)] = max(scored)[1]
    return best
