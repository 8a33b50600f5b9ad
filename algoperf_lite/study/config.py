"""What a study is configured with: the schema of ``configs/study.yaml`` and the files it
picks (``configs/study/``, ``rules/``, ``executor/``). The trial settings it gives every
trial are :class:`~algoperf_lite.trial.config.TrialSettings`' fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING

from algoperf_lite.errors import UserError
from algoperf_lite.trial.config import POSITIVE, WHERE, TrialSettings

EXECUTOR_KINDS = ("sequential", "pool", "launcher")


@dataclass
class StudyPreset:
    """configs/study/<name>.yaml: what a study runs."""

    name: str = MISSING
    workloads: list[str] = MISSING
    submissions: list[str] = MISSING  # names under submissions/ or paths
    reference_submission: Optional[str] = None  # the leaderboard's speedups are relative to it

    def __post_init__(self) -> None:
        for key in ("workloads", "submissions"):
            names = getattr(self, key)
            if not names:
                raise UserError(f"study.{key} must be a non-empty list of names, e.g. study.{key}=[a,b]")
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise UserError(f"study.{key} lists {', '.join(repeated)} more than once; list each once")


@dataclass
class StudyConfig(TrialSettings):
    """A study: every submission of ``study`` on every workload of it, under a ruleset."""

    study: StudyPreset = MISSING
    # configs/executor/<choice>.yaml: `kind` (sequential | pool | launcher) and, for a
    # launcher, `cluster` (slurm | local) and submitit's settings (study/launcher.py).
    executor: Any = MISSING
    results_dir: str = field(default="results/${study.name}_${ruleset}", metadata=WHERE)
    # auto: every GPU, else the CPU | a list, e.g. [cuda:0, cuda:1] or [cpu]
    devices: Any = field(default="auto", metadata=WHERE)
    # pool: trials at once per device; 0: on the CPU, one per core that other programs
    # leave free when the study starts (trials that share a core compute slower), else 1
    workers: int = field(default=1, metadata={**WHERE, "minimum": 0})
    # Per-trial set-up and eval time beyond the budget: for the plan's estimate, and the
    # set-up a trial is allowed before its first eval.
    trial_overhead_sec: float = field(default=10.0, metadata={**WHERE, "minimum": 0})
    # pool and launcher: a trial still running budget + margin after its first eval is
    # killed and recorded as failed; null: max(60 s, budget).
    trial_timeout_margin_sec: Optional[float] = field(default=None, metadata={**WHERE, **POSITIVE})
    score: bool = field(default=True, metadata=WHERE)  # at the end: score the results, write the leaderboard
    quiet: bool = field(default=False, metadata=WHERE)  # one plain line per finished trial, no live display
    overwrite: bool = field(default=False, metadata=WHERE)  # delete the previous study's results here first

    def __post_init__(self) -> None:
        super().__post_init__()  # the value checks of every field's metadata
        if not isinstance(self.executor, dict) or self.executor.get("kind") not in EXECUTOR_KINDS:
            raise UserError(f"an executor config needs kind: one of {', '.join(EXECUTOR_KINDS)}; "
                            f"got {self.executor!r}")
        if self.devices != "auto":
            self.devices = [self.devices] if isinstance(self.devices, str) else list(self.devices)
            if not self.devices:
                raise UserError("devices must be auto or a non-empty list, e.g. devices=[cpu]")
        self.results_dir = str(Path(self.results_dir).expanduser().resolve())  # jobs may run elsewhere

    @property
    def name(self) -> str:
        return self.study.name

    @property
    def executor_kind(self) -> str:
        return self.executor["kind"]

    @property
    def results_path(self) -> Path:
        return Path(self.results_dir)

    def timeout_sec(self, budget_sec: float) -> float:
        """How long a trial may train (from its first eval) before the pool kills it as hung."""
        margin = self.trial_timeout_margin_sec
        return budget_sec + (max(60.0, budget_sec) if margin is None else margin)
