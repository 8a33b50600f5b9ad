"""A study's results dir across runs: study.json keeps two studies from mixing in one
folder; finished trials are kept, interrupted ones are cleared and rerun; a trial that an
executor had to kill is recorded as failed, so that a rerun does not retry it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from algoperf_lite.version import __version__
from algoperf_lite.atomic import write_json_atomic
from algoperf_lite.errors import UserError
from algoperf_lite.json_files import UnreadableFile
from algoperf_lite.locks import trial_lock
from algoperf_lite.results import (FORMAT_VERSION, OUTCOME_FILE, OUTPUT_FILES, RULESET_DIRS, SPEC_FILE, STUDY_FILE,
                                   STUDY_OUTPUTS, Outcome, TrialWriter, check_trial, read_evals, read_study)
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.trial.code import code_changes
from algoperf_lite.trial.config import result_keys


def trial_state(trial: PlannedTrial) -> tuple[str, str | None]:
    """finished, interrupted (a folder without an outcome: rerun from a clean folder),
    killed (its process died: recorded as failed, rerun), damaged (a record truncated,
    unparsable or not bound to its spec: rerun, with the reason) or new."""
    outcome, why = check_trial(trial.path)
    if outcome is not None and outcome.retry:
        return "killed", outcome.error
    if outcome is not None:
        return "finished", None
    if not trial.path.exists():
        return "new", None
    return ("interrupted", None) if why == f"no {OUTCOME_FILE}" else ("damaged", why)


def study_record(settings: StudyConfig, plan: list[PlannedTrial], plan_hash: str) -> dict[str, Any]:
    """study.json: what the scoring and the report read, and the resolved config."""
    return {
        "format_version": FORMAT_VERSION, "algoperf_lite_version": __version__, "plan_hash": plan_hash,
        "name": settings.name, "workloads": list(settings.study.workloads),
        "submissions": list(dict.fromkeys(t.record.submission for t in plan)),  # names, not paths
        "ruleset": settings.ruleset, "rules": settings.rules.to_json(), "seed": settings.seed,
        "scale": plan[0].record.scale, "reference_submission": settings.study.reference_submission,
        "num_trials_planned": len(plan), "config": dataclasses.asdict(settings),
        "trials": [str(t.path.relative_to(settings.results_path)) for t in plan],  # what scoring reads
        "code": _code(plan),
    }


def _code(plan: list[PlannedTrial]) -> dict[str, Any]:
    """The code the plan runs, once per submission and per workload (each trial's record has its own)."""
    out: dict[str, Any] = {"submissions": {}, "workloads": {}, "project": None}
    for t in plan:
        code = t.record.code or {}
        out["submissions"][t.record.submission] = code.get("submission")
        out["workloads"][t.record.workload] = code.get("workload")
        out["project"] = code.get("project")
    return out


def _code_differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What changed in the code a study runs, file by file, since study.json was written."""
    old = old or {}
    changes = []
    for kind, part in (("submissions", "submission"), ("workloads", "workload")):
        before, after = old.get(kind) or {}, new[kind]
        for name in sorted(before.keys() & after.keys()):
            changes += [f"{kind[:-1]} {name}: {c.split(' ', 1)[1]}"
                        for c in code_changes({part: before[name]}, {part: after[name]})]
    if old.get("project") != new["project"]:
        changes.append(f"algoperf-lite {old.get('project')} -> {new['project']}")
    return changes


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The config keys that decide trials' results and differ between two study.json."""
    keys = result_keys(StudyConfig)
    before = _flat({k: (old.get("config") or {}).get(k) for k in keys})
    after = _flat({k: new["config"].get(k) for k in keys})
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(before.keys() | after.keys())
            if before.get(k) != after.get(k)]


def _refusal_from(results_dir: Path, old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    if old is None:
        if any((results_dir / d).exists() for d in RULESET_DIRS.values()):
            return f"{results_dir} holds trial results but no {STUDY_FILE} (single runs, or another study)"
        return None
    if "_unreadable" in old:
        return f"{results_dir / STUDY_FILE} is not readable ({old['_unreadable']})"
    if old.get("format_version") != FORMAT_VERSION:
        return (f"{results_dir} was written in results format {old.get('format_version')} "
                f"(algoperf-lite {old.get('algoperf_lite_version')}); this is format {FORMAT_VERSION}")
    if old.get("plan_hash") != new["plan_hash"]:
        changed = _differences(old, new) + _code_differences(old.get("code"), new["code"])
        what = ("; ".join(changed) if changed else
                "same config, but a submission's search space or a workload's target, budget or batch size changed")
        return f"{results_dir} holds study {old.get('name')!r} with a different plan ({what})"
    return None


def _read_study_file(results_dir: Path) -> dict[str, Any] | None:
    """study.json (None: there is none; ``{"_unreadable": why}``: it is damaged)."""
    if not (results_dir / STUDY_FILE).exists():
        return None
    try:
        return read_study(results_dir)
    except UnreadableFile as e:
        return {"_unreadable": e.reason}


def recorded_budget_scale(results_dir: Path) -> dict[str, Any] | None:
    """The budget_scale mapping that a study in ``results_dir`` measured, if any."""
    old = _read_study_file(results_dir) or {}
    value = (old.get("config") or {}).get("budget_scale")
    return value if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()) else None


def refusal(results_dir: Path, record: dict[str, Any]) -> str | None:
    """Why ``results_dir`` cannot take the study of ``record`` (study.json), or None."""
    return _refusal_from(results_dir, _read_study_file(results_dir), record)


def claim_results_dir(results_dir: Path, record: dict[str, Any], overwrite: bool) -> None:
    """Write study.json, after refusing a results dir that holds another study (or an
    older format) unless ``overwrite``, which deletes that study's results first."""
    reason = refusal(results_dir, record)
    if reason and not overwrite:
        raise UserError(f"{reason}; resume needs the same study: use another results_dir=DIR, "
                        f"or overwrite=true to delete those results and start over")
    if reason:
        for name in (*STUDY_OUTPUTS, *OUTPUT_FILES):
            path = results_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    write_json_atomic(results_dir / STUDY_FILE, record)


def record_failure(trial: PlannedTrial, reason: str, wall_time: float, retry: bool = False) -> Outcome:
    """Write outcome.json for a trial the executor ended (its process died or hung):
    status failed, not reached, with the reason; the evals it wrote are kept. With
    ``retry`` (its process was killed) a rerun of the study trains it again."""
    with trial_lock(trial.path, warn=None):  # the killed trial's lock is taken over: expected
        writer = TrialWriter(trial.path)
        if not (trial.path / SPEC_FILE).is_file():
            writer.write_spec(trial.record.to_json())
        for leftover in trial.path.glob(".*.tmp"):  # a write the kill interrupted
            leftover.unlink()
        evals = read_evals(trial.path)
        outcome = Outcome.failed(reason, wall_time, evals[-1] if evals else None, len(evals), retry)
        writer.write_outcome(outcome)
    return outcome
