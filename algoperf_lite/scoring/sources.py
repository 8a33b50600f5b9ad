"""Where trials are read from, into the trial table (:mod:`algoperf_lite.scoring.trials`):
a results directory (:mod:`~algoperf_lite.scoring.results_dir`), a CSV of trial outcomes,
or AlgoPerf's published logs (:mod:`~algoperf_lite.scoring.algoperf_logs`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .algoperf_logs import DEFAULT_VERSION, read_algoperf_logs
from .errors import ScoringError
from .results_dir import read_results_dir
from .trials import TrialSet, benchmark_from_trials, normalize_trials


def read_times_csv(path: Path) -> TrialSet:
    """A CSV of trial outcomes (one row per trial) as a TrialSet."""
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such file")
    try:
        # Everything as text, no NA guessing: a submission may well be called "NA".
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ScoringError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ScoringError(f"{path}: not a readable CSV ({e})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    trials = normalize_trials(raw, str(path))
    return TrialSet(trials, benchmark_from_trials(trials), path)


def load_trials(results_dir: Path | None = None, times_csv: Path | None = None, algoperf_dir: Path | None = None,
                targets: str | Path | None = None) -> TrialSet:
    """Exactly one of a results directory, a CSV of trial outcomes or an AlgoPerf logs
    directory; ``targets`` (a version, default v0.6, or a targets file) for AlgoPerf logs only."""
    if sum(x is not None for x in (results_dir, times_csv, algoperf_dir)) != 1:
        raise ScoringError("give a results directory or --times FILE.csv or --algoperf DIR "
                           "(either one, not several or none)")
    if algoperf_dir is not None:
        return read_algoperf_logs(Path(algoperf_dir), targets or DEFAULT_VERSION)
    if targets is not None:
        raise ScoringError("--targets applies to AlgoPerf logs (--algoperf DIR) only")
    return read_times_csv(Path(times_csv)) if times_csv is not None else read_results_dir(Path(results_dir))
