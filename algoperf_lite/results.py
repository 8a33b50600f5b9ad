"""The trial record on disk (layout: results/README.md). One writer, the trial; every
file is written atomically, and ``outcome.json`` last, so its presence means finished."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from algoperf_lite.atomic import write_json_atomic, write_text_atomic
from algoperf_lite.rules import RULESET_DIRS

FORMAT_VERSION = 1
EVAL_COLUMNS = ("step", "submission_time", "eval_time")


def trial_dir(results_dir: Path, ruleset: str, submission: str, study: int, workload: str, trial: int) -> Path:
    return Path(results_dir) / RULESET_DIRS[ruleset] / submission / f"study_{study}" / workload / f"trial_{trial}"


def is_finished(path: Path) -> bool:
    """A trial is finished when its outcome is on disk and readable."""
    try:
        json.loads((path / "outcome.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


class TrialWriter:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._rows: list[dict[str, Any]] = []

    def write_spec(self, spec: dict[str, Any]) -> None:
        write_json_atomic(self.path / "spec.json", {"format_version": FORMAT_VERSION, **spec})

    def write_environment(self, env: dict[str, Any]) -> None:
        write_json_atomic(self.path / "environment.json", env)

    def append_eval(self, row: dict[str, Any]) -> None:
        """Add one eval row and rewrite evals.csv (small: one row per eval)."""
        self._rows.append(row)
        metrics = sorted({k for r in self._rows for k in r} - set(EVAL_COLUMNS))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*EVAL_COLUMNS, *metrics], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows)
        write_text_atomic(self.path / "evals.csv", out.getvalue())

    def write_outcome(self, outcome: dict[str, Any]) -> None:
        clean = {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in outcome.items()}
        write_json_atomic(self.path / "outcome.json", clean)
