"""Reads a results directory (layout in docs/results.md, owned by
:mod:`algoperf_lite.results`) into a trial table.

Only finished trials count (:func:`algoperf_lite.results.read_outcome`). Names come from
spec.json (the folder's path is only a fallback), so a submission's display name survives
even when it could not be a folder name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from algoperf_lite.results import STUDY_FILE, read_outcome, read_spec, trial_dir_parts, trial_dirs

from .decomposition import OUTCOME_COLUMNS
from .errors import ScoringError
from .trials import TrialSet, benchmark_from_trials, normalize_trials


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


def _workload_names(value: Any) -> list[str]:
    """study.json's workload list, whether names, {"name": ...} objects or a name-keyed map."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v.get("name")) if isinstance(v, dict) else str(v) for v in value]
    return []


def _planned_dirs(results_dir: Path, study: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """(the trial folders to read, those left out): a study's plan (study.json's
    ``trials``) when there is one, else every trial folder."""
    found = trial_dirs(results_dir)
    if not isinstance(study.get("trials"), list):
        return found, []
    planned = [results_dir / p for p in study["trials"]]
    keep = set(planned)
    return planned, [p for p in found if p not in keep]


def read_results_dir(results_dir: Path) -> TrialSet:
    """The finished trials under `results_dir`, and the benchmark study.json describes."""
    if not results_dir.is_dir():
        raise ScoringError(f"{results_dir}: no such directory")
    study = read_json(results_dir / STUDY_FILE)
    folders, stray = _planned_dirs(results_dir, study)
    rows, unfinished, rules = [], [], {}
    for trial_dir in folders:
        outcome = read_outcome(trial_dir)
        if outcome is None:
            unfinished.append(trial_dir)
            continue
        spec, where = read_spec(trial_dir), trial_dir_parts(trial_dir)
        rules = rules or spec.get("rules") or {}
        rows.append({
            **{key: spec.get(key, where[key]) for key in ("ruleset", "submission", "workload", "study", "trial")},
            "variant_of": spec.get("variant_of") or "",
            "time_to_target": outcome.time_to_target,
            "steps_to_target": outcome.steps_to_target,
            "status": outcome.status,
            **{column: getattr(outcome, column) for column in OUTCOME_COLUMNS},
            "path": str(trial_dir),
        })
    if not rows:
        hint = f" ({len(unfinished)} unfinished, without a whole record)" if unfinished else ""
        raise ScoringError(
            f"{results_dir}: no finished trials found{hint}; expected "
            "<ruleset>/<submission>/study_<k>/<workload>/trial_<i>/outcome.json"
        )
    df = pd.DataFrame(rows)
    for column in ("time_to_target", "steps_to_target", *OUTCOME_COLUMNS):  # JSON null -> not reached / unknown
        df[column] = pd.to_numeric(df[column], errors="coerce")
    trials = normalize_trials(df, str(results_dir))
    rules = study.get("rules") or rules
    benchmark = benchmark_from_trials(
        trials, _workload_names(study.get("workloads")), rules.get("num_studies"), rules.get("num_trials")
    )
    notes = []
    if unfinished:
        notes.append(
            f"{len(unfinished)} unfinished trial(s) (no whole, bound record) ignored, "
            f"e.g. {unfinished[0].relative_to(results_dir)}"
        )
    if stray:
        notes.append(
            f"{len(stray)} trial folder(s) not in the study's plan (study.json) left out, "
            f"e.g. {stray[0].relative_to(results_dir)}"
        )
    return TrialSet(trials, benchmark, results_dir, notes)


def study_reference(results_dir: Path, trials: pd.DataFrame) -> str | None:
    """The submission the study compares against (study.json's ``reference_submission``, else one
    called "baseline"), when it has trials here."""
    name = read_json(Path(results_dir) / STUDY_FILE).get("reference_submission") or "baseline"
    return name if name in set(trials["submission"]) else None
