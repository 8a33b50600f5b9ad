"""The rule constants of a ruleset version. The presets live in ``configs/rules/``, so
that each constant is configured in one place and overridable from the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from algoperf_lite.errors import UserError
from algoperf_lite.json_files import read_yaml
from algoperf_lite.paths import configs_dir

RULESETS = ("external", "self")


@dataclass  # not frozen: it is also the schema of configs/rules/*.yaml, which Hydra fills in
class Rules:
    preset: str
    num_trials: int  # external tuning: trials (hyperparameter points) per study
    num_studies: int  # studies per submission and workload; the median is scored
    self_tuning_budget_multiplier: float
    held_out_variants: bool

    def __post_init__(self) -> None:
        if self.num_trials < 1 or self.num_studies < 1 or self.self_tuning_budget_multiplier <= 0:
            raise UserError("rules: num_trials and num_studies must be >= 1 and the budget multiplier > 0")

    def budget(self, workload_budget_sec: float, ruleset: str) -> float:
        """Self-tuning gets the workload's budget times the multiplier (docs/rules.md)."""
        return workload_budget_sec * (self.self_tuning_budget_multiplier if ruleset == "self" else 1.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_rules(preset: str = "v0.6") -> Rules:
    """A named preset from ``configs/rules/<preset>.yaml``."""
    path = configs_dir() / "rules" / f"{preset}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise UserError(f"unknown rules preset {preset!r}; known: {', '.join(known)}")
    data = read_yaml(path)
    try:
        return Rules(**data)
    except TypeError as e:
        raise UserError(f"bad rules preset {path}: {e}") from e


def check_ruleset(ruleset: str) -> str:
    if ruleset not in RULESETS:
        raise UserError(f"unknown ruleset {ruleset!r}; use ruleset=external or ruleset=self")
    return ruleset
