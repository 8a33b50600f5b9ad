"""Reads a results directory (layout in results/README.md) into a trial table.

Only finished trials count: a trial folder is finished when it holds `outcome.json`. Names come
from spec.json (folder names are only a fallback), so a submission's display name survives
even when it could not be a folder name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ScoringError
from .trials import TrialSet, benchmark_from_trials, normalize_trials

RULESET_DIRS = ("external_tuning", "self_tuning")
TRIAL_GLOB = "*/*/study_*/*/trial_*"


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a results file; {} if the file is absent."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ScoringError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ScoringError(f"{path}: expected a JSON object")
    return value


def trial_dirs(results_dir: Path) -> list[Path]:
    """Every trial folder under a results directory, finished or not."""
    return sorted(
        p for p in results_dir.glob(TRIAL_GLOB) if p.is_dir() and p.parents[3].name in RULESET_DIRS
    )


def _index(name: str) -> int:
    return int(re.sub(r"\D", "", name) or 0)


def _workload_names(value: Any) -> list[str]:
    """study.json's workload list, whether names, {"name": ...} objects or a name-keyed map."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v.get("name")) if isinstance(v, dict) else str(v) for v in value]
    return []


def read_results_dir(results_dir: Path) -> TrialSet:
    """The finished trials under `results_dir`, and the benchmark study.json describes."""
    if not results_dir.is_dir():
        raise ScoringError(f"{results_dir}: no such directory")
    rows, unfinished, rules = [], [], {}
    for trial_dir in trial_dirs(results_dir):
        if not (trial_dir / "outcome.json").is_file():
            unfinished.append(trial_dir)
            continue
        spec = read_json(trial_dir / "spec.json")
        outcome = read_json(trial_dir / "outcome.json")
        study_dir, submission_dir, ruleset_dir = trial_dir.parents[1], trial_dir.parents[2], trial_dir.parents[3]
        rules = rules or spec.get("rules") or {}
        rows.append({
            "ruleset": spec.get("ruleset") or ruleset_dir.name,
            "submission": spec.get("submission") or submission_dir.name,
            "workload": spec.get("workload") or trial_dir.parent.name,
            "variant_of": spec.get("variant_of") or "",
            "study": spec.get("study", _index(study_dir.name)),
            "trial": spec.get("trial", _index(trial_dir.name)),
            "time_to_target": outcome.get("time_to_target"),
            "steps_to_target": outcome.get("steps_to_target"),
            "status": outcome.get("status") or "",
            "path": str(trial_dir),
        })
    if not rows:
        hint = f" ({len(unfinished)} unfinished, without outcome.json)" if unfinished else ""
        raise ScoringError(
            f"{results_dir}: no finished trials found{hint}; expected "
            "<ruleset>/<submission>/study_<k>/<workload>/trial_<i>/outcome.json"
        )
    df = pd.DataFrame(rows)
    for column in ("time_to_target", "steps_to_target"):  # JSON null -> not reached
        df[column] = pd.to_numeric(df[column], errors="coerce")
    trials = normalize_trials(df, str(results_dir))
    study = read_json(results_dir / "study.json")
    rules = study.get("rules") or rules
    benchmark = benchmark_from_trials(
        trials, _workload_names(study.get("workloads")), rules.get("num_studies"), rules.get("num_trials")
    )
    notes = []
    if unfinished:
        notes.append(
            f"{len(unfinished)} unfinished trial(s) without outcome.json ignored, "
            f"e.g. {unfinished[0].relative_to(results_dir)}"
        )
    return TrialSet(trials, benchmark, results_dir, notes)
