"""Trials in, leaderboard tables out: the scoring steps of docs/rules.md, once per ruleset."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_intervals, ranks
from .checks import enforce, find_irregularities
from .errors import ScoringError, ScoringWarning
from .heldout import apply_heldout
from .odds import odds_against_reference
from .profiles import INTEGRALS, aup_scores, performance_profiles, performance_ratios, tau_grid
from .speedup import geometric_mean_speedup
from .time_to_target import METRICS, metric_column, study_picks, workload_medians
from .trials import Benchmark, TrialSet


@dataclass(frozen=True)
class ScoreSettings:
    """Every choice a score depends on; a leaderboard prints them."""

    metric: str = "time"  # "time" (time to target) or "steps" (hardware-independent)
    max_tau: float = 4.0  # r_max
    integral: str = "trapezoid"  # AlgoPerf's 100-point rule, or "exact"
    num_points: int = 100
    trial_selection: str = "fastest"  # or "first_eval" (AlgoPerf v0.5's code, to check its numbers)
    reference: str | None = None  # submission for the geometric-mean speedup and the odds against it
    n_boot: int = 1000  # bootstrap replicates over studies; 0 = no intervals
    seed: int = 0
    level: float = 0.95
    heldout_max_ratio: float = 4.0  # a variant counts within this factor of the fastest on it

    def check(self) -> None:
        if self.metric not in METRICS:
            raise ScoringError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
        if not self.max_tau > 1:
            raise ScoringError(f"max tau must be greater than 1, got {self.max_tau}")
        if self.integral not in INTEGRALS:
            raise ScoringError(f"integral must be one of {', '.join(INTEGRALS)}, got {self.integral!r}")
        if self.num_points < 2 or self.n_boot < 0 or not 0 < self.level < 1:
            raise ScoringError("need num_points >= 2, n_boot >= 0 and 0 < level < 1")


@dataclass
class ScoreResult:
    """Long tables, each with a `ruleset` column: scores (ranked), times, profiles, study picks."""

    settings: ScoreSettings
    benchmark: Benchmark
    scores: pd.DataFrame
    times: pd.DataFrame
    profiles: pd.DataFrame
    picks: pd.DataFrame
    issues: list[str] = field(default_factory=list)


def _times_table(ruleset: str, column: str, medians: pd.DataFrame, wide: pd.DataFrame, gated: np.ndarray,
                 ratios: np.ndarray, bench: Benchmark) -> pd.DataFrame:
    """One row per submission and workload (variants last): the median, what counted after the
    held-out rule, the ratio (base workloads only), and how many studies ran and reached."""
    subs, workloads = list(wide.index), list(wide.columns)
    padded = np.full(gated.shape, np.nan)
    padded[:, : ratios.shape[1]] = ratios
    long = pd.DataFrame({
        "ruleset": ruleset, "submission": np.repeat(subs, len(workloads)),
        "workload": np.tile(workloads, len(subs)),
        "variant_of": [bench.variants.get(w, "") for w in workloads] * len(subs),
        column: wide.to_numpy().ravel(),
        "counted": gated.ravel(), "ratio": padded.ravel(),
    })
    counts = medians[["submission", "workload", "num_studies", "num_reached"]]
    long = long.merge(counts, how="left", on=["submission", "workload"])
    long[["num_studies", "num_reached"]] = long[["num_studies", "num_reached"]].fillna(0).astype(int)
    return long


def compute_scores(trialset: TrialSet, settings: ScoreSettings | None = None, strict: bool = False) -> ScoreResult:
    """Score every ruleset in the trial set. Irregular input warns (or, strict, raises)."""
    s = settings or ScoreSettings()
    s.check()
    trials, bench = trialset.trials, trialset.benchmark
    column = metric_column(trials, s.metric)
    issues = [*trialset.notes, *find_irregularities(trials, bench)]
    enforce(issues, strict)

    picks = study_picks(trials, column, s.trial_selection)
    medians = workload_medians(picks)
    workloads = [*bench.workloads, *bench.variants]
    pairs = [(workloads.index(v), workloads.index(b)) for v, b in bench.variants.items()]
    n_base = len(bench.workloads)

    def counted(t: np.ndarray) -> np.ndarray:
        return apply_heldout(t, pairs, s.heldout_max_ratio)

    def counted_base(t: np.ndarray) -> np.ndarray:
        return counted(t)[..., :n_base]

    def score_of(base: np.ndarray) -> np.ndarray:
        return aup_scores(performance_ratios(base), s.max_tau, s.integral, s.num_points)

    def score_fn(t: np.ndarray) -> np.ndarray:
        return score_of(counted_base(t))

    rulesets = sorted(picks["ruleset"].unique())
    if s.reference is not None and s.reference not in set(picks["submission"]):
        raise ScoringError(f"reference submission {s.reference!r} not found; "
                           f"submissions: {', '.join(sorted(picks['submission'].unique()))}")
    scores, times, profiles = [], [], []
    taus = tau_grid(s.max_tau, s.num_points)
    for ruleset in rulesets:
        mine = medians[medians["ruleset"] == ruleset]
        subs = sorted(mine["submission"].unique())
        wide = mine.pivot(index="submission", columns="workload", values="value")
        wide = wide.reindex(index=pd.Index(subs, name="submission"), columns=pd.Index(workloads, name="workload"))
        wide = wide.fillna(np.inf)  # never run = not reached
        gated = counted(wide.to_numpy())
        ratios = performance_ratios(gated[:, :n_base])
        board = pd.DataFrame({
            "ruleset": ruleset, "submission": subs,
            "score": aup_scores(ratios, s.max_tau, s.integral, s.num_points),
            "reached": np.isfinite(gated[:, :n_base]).sum(axis=1), "num_workloads": n_base,
        })
        board.insert(1, "rank", ranks(board["score"].to_numpy()))
        if s.n_boot:
            mine_picks = picks[picks["ruleset"] == ruleset].groupby(["submission", "workload"])
            by_cell = {key: group["value"].to_numpy() for key, group in mine_picks}
            cells = [[by_cell.get((sub, w), np.empty(0)) for w in workloads] for sub in subs]
            for key, values in bootstrap_intervals(cells, score_fn, s.n_boot, s.seed, s.level).items():
                board[key] = values
            # Ranks stay integers; where there is no interval (1 study) they are <NA>, empty in CSV.
            board[["rank_low", "rank_high"]] = board[["rank_low", "rank_high"]].round().astype("Int64")
            if s.reference in subs:
                odds = odds_against_reference(picks[picks["ruleset"] == ruleset], subs, workloads,
                                              list(bench.workloads), s.reference, counted_base, score_of,
                                              s.n_boot, s.seed)
                board = board.merge(odds, on="submission", how="left")
        if s.reference is not None:
            if s.reference in subs:
                board = board.join(geometric_mean_speedup(wide.iloc[:, :n_base], s.reference), on="submission")
            else:
                warnings.warn(f"{ruleset}: reference {s.reference!r} has no trials here; no speedup",
                              ScoringWarning, stacklevel=2)
        scores.append(board.sort_values(["rank", "submission"]))
        times.append(_times_table(ruleset, column, mine, wide, gated, ratios, bench))
        rho = performance_profiles(ratios, taus)
        profiles.append(pd.DataFrame({
            "ruleset": ruleset, "submission": np.repeat(subs, len(taus)),
            "tau": np.tile(taus, len(subs)), "rho": rho.ravel(),
        }))
    return ScoreResult(s, bench, pd.concat(scores, ignore_index=True), pd.concat(times, ignore_index=True),
                       pd.concat(profiles, ignore_index=True), picks, issues)
