"""Scoring: trial outcomes -> time to target -> performance profiles -> AUP scores (docs/rules.md).

Pure pandas/numpy; no torch, so old results can be rescored anywhere.
"""

from .errors import ScoringError, ScoringWarning
from .pipeline import ScoreResult, ScoreSettings, compute_scores
from .profiles import aup_scores, performance_profiles, performance_ratios, tau_grid
from .sources import load_trials, read_times_csv
from .trials import Benchmark, TrialSet, normalize_trials

__all__ = [
    "Benchmark", "ScoreResult", "ScoreSettings", "ScoringError", "ScoringWarning", "TrialSet",
    "aup_scores", "compute_scores", "load_trials", "normalize_trials", "performance_profiles",
    "performance_ratios", "read_times_csv", "tau_grid",
]
