"""Where things are found: the built-in drop-in folders and configs, the user's own
workload and submission folders, and the data directory.

The built-in ``workloads/``, ``submissions/`` and ``configs/`` sit beside the package in a
checkout (``pip install -e .``); an installed wheel carries copies of them under
``algoperf_lite/builtin/`` (``setup.py`` puts them there). A user's own folders are added
on a search path, never in place of the built-in ones."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent  # the repository root, when running from a checkout
BUILTIN = ("workloads", "submissions", "configs")
SEARCH_PATH_ENV = {"workloads": "ALGOPERF_LITE_WORKLOADS_PATH", "submissions": "ALGOPERF_LITE_SUBMISSIONS_PATH"}
DATA_DIR_ENV = "ALGOPERF_LITE_DATA_DIR"
CACHE_DIR_ENV = "ALGOPERF_LITE_CACHE_DIR"


def builtin_dir(name: str) -> Path:
    """The built-in ``name`` folder (one of :data:`BUILTIN`): the installed copy, else the checkout's."""
    installed = PACKAGE / "builtin" / name
    return installed if installed.is_dir() else CHECKOUT / name


def configs_dir() -> Path:
    """The Hydra configs; ``ALGOPERF_LITE_CONFIGS_DIR`` replaces them with one's own copy."""
    return Path(os.environ.get("ALGOPERF_LITE_CONFIGS_DIR") or builtin_dir("configs")).resolve()


def search_path(kind: str, extra: Iterable[str] = ()) -> list[Path]:
    """The folders that hold ``kind`` ("workloads" or "submissions"): the built-in one,
    then those in ``$ALGOPERF_LITE_<KIND>_PATH`` (separated by ``os.pathsep``), then
    ``extra`` (the config key ``<kind>_path``); each once."""
    from_env = [p for p in os.environ.get(SEARCH_PATH_ENV[kind], "").split(os.pathsep) if p]
    folders = [builtin_dir(kind), *(Path(p).expanduser().resolve() for p in [*from_env, *extra])]
    return list(dict.fromkeys(folders))


def default_data_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/algoperf-lite``, else ``~/.cache/algoperf-lite``."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "algoperf-lite"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The one data directory of every command: config key ``data_dir``, else
    ``$ALGOPERF_LITE_DATA_DIR``, else :func:`default_data_dir`."""
    value = override or os.environ.get(DATA_DIR_ENV) or default_data_dir()
    return Path(value).expanduser().resolve()


def cache_dir() -> Path:
    """Where this machine's measurements are kept (``budget_scale=auto``):
    ``$ALGOPERF_LITE_CACHE_DIR``, else the per-user cache of :func:`default_data_dir`."""
    return Path(os.environ.get(CACHE_DIR_ENV) or default_data_dir()).expanduser().resolve()
