"""The rule constants of a ruleset version. The presets live in ``configs/rules/``, so
that each constant is configured in one place and overridable from the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import yaml

from algoperf_lite.errors import UserError
from algoperf_lite.paths import configs_dir

RULESETS = ("external", "self")
RULESET_DIRS = {"external": "external_tuning", "self": "self_tuning"}


@dataclass(frozen=True)
class Rules:
    preset: str
    num_trials: int
    num_studies: int
    self_tuning_budget_multiplier: float
    held_out_variants: bool

    def budget(self, workload_budget_sec: float, ruleset: str) -> float:
        """Self-tuning gets the workload's budget times the multiplier (rules.md)."""
        return workload_budget_sec * (self.self_tuning_budget_multiplier if ruleset == "self" else 1.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Rules:
        try:
            rules = cls(
                preset=str(data["preset"]),
                num_trials=int(data["num_trials"]),
                num_studies=int(data["num_studies"]),
                self_tuning_budget_multiplier=float(data["self_tuning_budget_multiplier"]),
                held_out_variants=bool(data["held_out_variants"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"bad rules config {dict(data)}: {e}") from e
        if rules.num_trials < 1 or rules.num_studies < 1 or rules.self_tuning_budget_multiplier <= 0:
            raise UserError("rules: num_trials and num_studies must be >= 1 and the budget multiplier > 0")
        return rules


def load_rules(preset: str = "v0.6") -> Rules:
    """A named preset from ``configs/rules/<preset>.yaml``."""
    path = configs_dir() / "rules" / f"{preset}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise UserError(f"unknown rules preset {preset!r}; known: {', '.join(known)}")
    return Rules.from_mapping(yaml.safe_load(path.read_text()))


def check_ruleset(ruleset: str) -> str:
    if ruleset not in RULESETS:
        raise UserError(f"unknown ruleset {ruleset!r}; use ruleset=external or ruleset=self")
    return ruleset
