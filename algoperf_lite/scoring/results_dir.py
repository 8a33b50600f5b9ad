"""Reads a results directory (layout in docs/results.md, owned by
:mod:`algoperf_lite.results`) into a trial table.

Only finished trials count (:func:`algoperf_lite.results.read_outcome`). Names come from
spec.json (the folder's path is only a fallback), so a submission's display name survives
even when it could not be a folder name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from algoperf_lite.results import (OUTCOME_FILE, check_trial, planned_trial_path, read_spec, read_study,
                                   trial_dir_parts, trial_dirs)

from .decomposition import OUTCOME_COLUMNS
from .errors import ScoringError
from .trials import TrialSet, benchmark_from_trials, normalize_trials


def _workload_names(value: Any) -> list[str]:
    """study.json's workload list, whether names, {"name": ...} objects or a name-keyed map."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v.get("name")) if isinstance(v, dict) else str(v) for v in value]
    return []


def _planned_dirs(results_dir: Path, study: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """(the trial folders to read, those left out): a study's plan (study.json's
    ``trials``, checked by :func:`~algoperf_lite.results.read_study`) when there is one,
    else every trial folder."""
    found = trial_dirs(results_dir)
    if "trials" not in study:
        return found, []
    planned = [planned_trial_path(results_dir, p) for p in study["trials"]]
    keep = set(planned)
    return planned, [p for p in found if p not in keep]


def read_results_dir(results_dir: Path) -> TrialSet:
    """The finished trials under `results_dir`, and the benchmark study.json describes."""
    if not results_dir.is_dir():
        raise ScoringError(f"{results_dir}: no such directory")
    study = read_study(results_dir)  # UnreadableFile (a UserError) for a damaged one: it says what the plan is
    folders, stray = _planned_dirs(results_dir, study)
    rows, unfinished, rules = [], [], {}
    for trial_dir in folders:
        outcome, why = check_trial(trial_dir)
        if outcome is None:
            unfinished.append((trial_dir, why))
            continue
        spec, where = read_spec(trial_dir), trial_dir_parts(trial_dir)
        rules = rules or spec.get("rules") or {}
        rows.append({
            **{key: spec.get(key, where[key]) for key in ("ruleset", "submission", "workload", "study", "trial")},
            "variant_of": spec.get("variant_of") or "",
            "time_to_target": outcome.time_to_target,
            "steps_to_target": outcome.steps_to_target,
            "status": outcome.status,
            **{column: getattr(outcome, column) for column in (*OUTCOME_COLUMNS, "core_wait_share")},
            "path": str(trial_dir),
        })
    if not rows:
        hint = f" ({len(unfinished)} unfinished, without a whole record)" if unfinished else ""
        raise ScoringError(
            f"{results_dir}: no finished trials found{hint}; expected "
            "<ruleset>/<submission>/study_<k>/<workload>/trial_<i>/outcome.json"
        )
    df = pd.DataFrame(rows)
    for column in ("time_to_target", "steps_to_target", *OUTCOME_COLUMNS, "core_wait_share"):  # JSON null -> not reached / unknown
        df[column] = pd.to_numeric(df[column], errors="coerce")
    trials = normalize_trials(df, str(results_dir))
    rules = study.get("rules") or rules
    benchmark = benchmark_from_trials(
        trials, _workload_names(study.get("workloads")), rules.get("num_studies"), rules.get("num_trials")
    )
    notes = []
    if unfinished:
        damaged = [(p, why) for p, why in unfinished if why != f"no {OUTCOME_FILE}"]
        path, why = (damaged or unfinished)[0]
        notes.append(
            f"{len(unfinished)} unfinished trial(s) (no whole, bound record; {len(damaged)} damaged) ignored, "
            f"e.g. {path.relative_to(results_dir)} ({why})"
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
    name = read_study(Path(results_dir)).get("reference_submission") or "baseline"
    return name if name in set(trials["submission"]) else None
