"""The Hydra configs of ``configs/`` composed into typed objects: ``run`` into a
:class:`TrialConfig`, ``study`` into a :class:`StudyConfig`. Their dataclasses are the
schemas (Hydra structured configs), so OmegaConf checks names and types; every problem
is one :class:`UserError` naming the key."""

from __future__ import annotations

import re
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from algoperf_lite.errors import UserError
from algoperf_lite.paths import configs_dir
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.trial.config import TrialConfig

SCHEMAS = {"run": TrialConfig, "study": StudyConfig}
# ``run`` lives in configs/run/, apart from configs/study/: its ``study`` key is a study
# index, which Hydra would otherwise read as that group's choice.
SUBDIRS = {"run": "run"}
_KINDS = {"Integer": "an integer", "Float": "a number", "String": "a string"}


def register_schemas() -> None:
    """The schemas that configs/run/run.yaml and configs/study.yaml name in their defaults."""
    for name, schema in SCHEMAS.items():
        ConfigStore.instance().store(name=f"{name}_schema", node=schema)


def _register(name: str) -> None:
    register_schemas()
    store = ConfigStore.instance()
    if name in SUBDIRS:  # offer configs/rules/*.yaml to a config outside configs/ (one place for the presets)
        for file in sorted((configs_dir() / "rules").glob("*.yaml")):
            store.store(group="rules", name=file.stem, node=OmegaConf.load(file))


def _unregister() -> None:
    # Registered for one compose only: a later compose of configs/ finds the same presets
    # as files, and Hydra warns about a schema of the same name.
    ConfigStore.instance().repo.pop("rules", None)


def _validation_error(e: BaseException) -> UserError | None:
    """OmegaConf's type error somewhere in ``e``'s causes, as one line naming the key."""
    from omegaconf.errors import ValidationError

    while e is not None and not (isinstance(e, ValidationError) and e.full_key):
        e = e.__cause__ or e.__context__
    if e is None:
        return None
    converted = re.search(r"converted to (\w+)", e.msg)
    kind = "true or false" if "valid bool" in e.msg else _KINDS.get(converted.group(1)) if converted else None
    if kind is None:
        return None
    return UserError(f"{e.full_key}={e.value!r} is not valid: {e.full_key} must be {kind}")


def _strict_booleans(cfg: DictConfig, overrides: list[str]) -> None:
    """OmegaConf reads yes/no/on/off/1/0 as booleans; a flag here is true or false."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for override in OverridesParser.create().parse_overrides(overrides):
        value = override.value()
        if isinstance(OmegaConf.select(cfg, override.key_or_group), bool) and not isinstance(value, bool):
            key = override.key_or_group
            raise UserError(f"{key}={value!r} is not valid: {key} must be true or false")


def _hyperparameters(overrides: list[str]) -> list[str]:
    """``hp.NAME=VALUE`` adds NAME to the (empty by default) ``hp`` mapping: Hydra's ``+``."""
    return [f"+{o}" if o.startswith("hp.") else o for o in overrides]


def compose(name: str, overrides: list[str]) -> DictConfig:
    """``configs/[run/]<name>.yaml`` with command-line overrides, checked against its schema."""
    overrides = _hyperparameters(overrides)
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    config_dir = configs_dir() / SUBDIRS[name] if name in SUBDIRS else configs_dir()
    _register(name)
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            cfg = hydra_compose(config_name=name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as e:
        raise _validation_error(e) or UserError(
            f"bad override in {' '.join(overrides)!r}: {str(e).strip() or type(e).__name__}; "
            f"overrides look like key=value") from e
    finally:
        _unregister()
    _strict_booleans(cfg, overrides)
    return cfg


def typed(cfg: DictConfig) -> Any:
    """The composed config as its schema's dataclass (values checked by its __post_init__)."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:  # e.g. an interpolation that does not resolve
        raise _validation_error(e) or UserError(f"bad config: {str(e).strip()}") from e


def load_config(name: str, overrides: list[str]) -> Any:
    """``run`` -> TrialConfig, ``study`` -> StudyConfig."""
    return typed(compose(name, overrides))


def config_yaml(name: str, overrides: list[str]) -> str:
    """``--cfg``: the composed config as YAML, as Hydra's ``--cfg job`` prints it."""
    return OmegaConf.to_yaml(compose(name, overrides))
