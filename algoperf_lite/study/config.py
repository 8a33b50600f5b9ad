"""The study config (configs/study.yaml and the files it picks), checked and typed: a
wrong value is a UserError naming the key, before anything is planned."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from algoperf_lite.errors import UserError
from algoperf_lite.rules import Rules, check_ruleset

EXECUTOR_KINDS = ("sequential", "pool", "launcher")


class _Reader:
    """Typed access to the resolved config by dotted key."""

    def __init__(self, config: dict[str, Any]):
        self.config = config

    def get(self, key: str) -> Any:
        node: Any = self.config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise UserError(f"the study config has no key {key}; add it (configs/study.yaml lists every key)")
            node = node[part]
        return node

    def _bad(self, key: str, kind: str) -> UserError:
        return UserError(f"{key}={self.get(key)!r} is not valid: {key} must be {kind}")

    def flag(self, key: str) -> bool:
        if not isinstance(self.get(key), bool):
            raise self._bad(key, "true or false")
        return self.get(key)

    def number(self, key: str, cast: type = float, minimum: float = 0.0, positive: bool = False) -> Any:
        """A number >= ``minimum``; with ``positive``, > 0 or null."""
        value = self.get(key)
        if value is None and positive:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and cast(value) == value
        if not ok or value < minimum or positive and value <= 0:
            what = "an integer" if cast is int else "a number"
            raise self._bad(key, "a positive number or null" if positive else f"{what} >= {minimum:g}")
        return cast(value)

    def names(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self._bad(key, f"a non-empty list of names, e.g. {key}=[a,b]")
        names = tuple(str(v) for v in value)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UserError(f"{key} lists {', '.join(repeated)} more than once; list each once")
        return names

    def optional_str(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else str(value)


@dataclass(frozen=True)
class StudySettings:
    name: str
    workloads: tuple[str, ...]
    submissions: tuple[str, ...]
    scale: str
    data_dir: str | None
    reference_submission: str | None
    ruleset: str
    rules: Rules
    seed: int
    results_dir: Path
    executor: dict[str, Any]  # configs/executor/<choice>.yaml, resolved; "kind" says which
    devices: tuple[str, ...]  # ("auto",) or the listed devices
    workers: int
    trial_overhead_sec: float
    trial_timeout_margin_sec: float | None
    stop_at_target: bool
    budget_sec: float | None
    eval_period_sec: float | None
    compile: bool
    threads: int | None
    budget_scale: float | dict[str, float]
    score: bool
    quiet: bool
    overwrite: bool
    config: dict[str, Any]  # the whole resolved config, for study.json

    @property
    def executor_kind(self) -> str:
        return self.executor["kind"]

    def timeout_sec(self, budget_sec: float) -> float:
        """How long a trial may train (from its first eval) before the pool kills it as hung."""
        margin = self.trial_timeout_margin_sec
        return budget_sec + (max(60.0, budget_sec) if margin is None else margin)

    @classmethod
    def from_config(cls, cfg: DictConfig) -> StudySettings:
        try:
            config = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as e:  # e.g. an interpolation that does not resolve
            raise UserError(f"bad study config: {str(e).splitlines()[0]}") from e
        c = _Reader(config)
        executor = c.get("executor")
        if not isinstance(executor, dict) or executor.get("kind") not in EXECUTOR_KINDS:
            raise UserError(f"an executor config needs kind: one of {', '.join(EXECUTOR_KINDS)}; got {executor!r}")
        return cls(
            name=str(c.get("study.name")),
            workloads=c.names("study.workloads"),
            submissions=c.names("study.submissions"),
            scale=str(c.get("study.scale")),
            data_dir=c.optional_str("study.data_dir"),
            reference_submission=c.optional_str("study.reference_submission"),
            ruleset=check_ruleset(str(c.get("ruleset"))),
            rules=Rules.from_mapping(c.get("rules")),
            seed=c.number("seed", int),
            results_dir=Path(str(c.get("results_dir"))).expanduser().resolve(),  # jobs may run elsewhere
            executor=executor,
            devices=("auto",) if c.get("devices") == "auto" else c.names("devices"),
            workers=c.number("workers", int, minimum=1),
            trial_overhead_sec=c.number("trial_overhead_sec"),
            trial_timeout_margin_sec=c.number("trial_timeout_margin_sec", positive=True),
            stop_at_target=c.flag("stop_at_target"),
            budget_sec=c.number("budget_sec", positive=True),
            eval_period_sec=c.number("eval_period_sec", positive=True),
            compile=c.flag("compile"),
            threads=c.number("threads", int, minimum=1, positive=True),
            budget_scale=c.get("budget_scale"),
            score=c.flag("score"),
            quiet=c.flag("quiet"),
            overwrite=c.flag("overwrite"),
            config=config,
        )
