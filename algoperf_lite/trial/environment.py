"""What a trial runs on: the record of it (every installed distribution, the checkout's
commit and whether it had uncommitted changes, the device and its driver, the
submission's declared requirements, host, date), and its torch thread count."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path
from typing import Any

import torch

from algoperf_lite.paths import CHECKOUT

REQUIREMENTS_FILE = "requirements.txt"  # a submission's declared dependencies, as pip reads them


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _run(*command: str) -> str | None:
    """A command's output, or None if it is not there, fails or hangs."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(path: Path = CHECKOUT) -> str | None:
    """The checkout's commit (None for an installed copy, which has no checkout)."""
    return _run("git", "-C", str(path), "rev-parse", "HEAD") or None if (path / ".git").exists() else None


def git_dirty(path: Path = CHECKOUT) -> bool | None:
    """Whether the checkout's tracked files differ from its commit."""
    if git_commit(path) is None:
        return None
    status = _run("git", "-C", str(path), "status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)


def installed_distributions() -> dict[str, str]:
    """Every distribution this Python can import from, name -> version."""
    return dict(sorted((d.metadata["Name"], d.version) for d in distributions() if d.metadata["Name"]))


def declared_requirements(folder: Path | None) -> dict[str, str | None] | None:
    """A submission's requirements.txt, each line -> the installed version of what it names."""
    file = folder / REQUIREMENTS_FILE if folder is not None else None
    if file is None or not file.is_file():
        return None
    lines = [line.split("#")[0].strip() for line in file.read_text().splitlines()]
    return {line: _version(re.match(r"[A-Za-z0-9_.\-]+", line).group()) for line in lines
            if line and not line.startswith("-")}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def describe_environment(device: torch.device, submission_folder: Path | None = None) -> dict[str, Any]:
    cuda = device.type == "cuda"
    return {
        "python": sys.version.split()[0],
        "packages": installed_distributions(),
        "submission_requirements": declared_requirements(submission_folder),
        "device": str(device),
        "device_name": device_name(device),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "driver": _run("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader") if cuda else None,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on ``threads`` torch threads (None: as set), then restore the count."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
