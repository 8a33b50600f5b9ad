"""Where the project's drop-in folders and configs are found.

They sit beside the package in a checkout (``pip install -e .``); each can be moved with
an environment variable, e.g. to keep one's own submissions elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _dir(env: str, default: str) -> Path:
    return Path(os.environ.get(env, REPO_ROOT / default)).resolve()


def workloads_dir() -> Path:
    return _dir("ALGOPERF_LITE_WORKLOADS_DIR", "workloads")


def submissions_dir() -> Path:
    return _dir("ALGOPERF_LITE_SUBMISSIONS_DIR", "submissions")


def configs_dir() -> Path:
    return _dir("ALGOPERF_LITE_CONFIGS_DIR", "configs")


def data_dir(override: str | os.PathLike | None = None) -> Path | None:
    """The data directory: config key ``data_dir``, else ``ALGOPERF_LITE_DATA_DIR``."""
    value = override or os.environ.get("ALGOPERF_LITE_DATA_DIR")
    return Path(value).expanduser().resolve() if value else None
