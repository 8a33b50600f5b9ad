"""What code a trial runs: a content hash of every file of its submission and of its
workload family, and the project's version and commit. Part of a trial's identity, so
that a study resumed after any of it changed is refused, naming what changed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from algoperf_lite.trial.environment import git_commit
from algoperf_lite.version import __version__

SKIPPED_DIRS = ("__pycache__", ".git", ".ipynb_checkpoints")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def folder_manifest(folder: Path) -> dict[str, str]:
    """Relative path -> content hash of every file under ``folder`` (caches and hidden files skipped)."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
             and not p.suffix == ".pyc" and not set(p.relative_to(folder).parts) & set(SKIPPED_DIRS))
    return {str(p.relative_to(folder)): _digest(p) for p in files}


def submission_manifest(module_file: Path | None) -> dict[str, str]:
    """A submission's files: its whole folder when it is a ``submission.py``; an AlgoPerf
    baseline file (``pytorch_<name>.py``, maybe beside other baselines) and the search
    space and self-tuning point files beside it otherwise."""
    if module_file is None:  # built from Python objects (algoperf_lite.api) in a notebook: no file
        return {}
    if module_file.name == "submission.py":
        return folder_manifest(module_file.parent)
    from algoperf_lite.trial.submissions import SEARCH_SPACE_FILES, SELF_TUNING_FILE

    beside = [module_file.parent / n for n in (*SEARCH_SPACE_FILES, SELF_TUNING_FILE)]
    return {p.name: _digest(p) for p in [module_file, *beside] if p.is_file()}


def project() -> dict[str, Any]:
    return {"version": __version__, "commit": git_commit()}


def code_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What differs between two trials' ``code`` (see TrialRecord): files added, removed
    or edited in the submission or the workload family, or another project version."""
    old = old or {}
    changes = []
    for part in ("submission", "workload"):
        before, after = old.get(part) or {}, new.get(part) or {}
        changes += [f"{part} file {name} {'added' if name not in before else 'removed' if name not in after else 'edited'}"
                    for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)]
    if old.get("project") != new.get("project"):
        changes.append(f"algoperf-lite {old.get('project')} -> {new.get('project')}")
    return changes
