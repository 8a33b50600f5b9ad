"""This machine's record of speed measurements (``budget_scale=auto``): one JSON file in
the per-user cache, an entry per machine fingerprint and measurement setting, each with
its date, so that studies on one machine share one careful measurement instead of each
catching the machine at its own moment. ``budget_scale=measure`` replaces an entry.

The fingerprint names the hardware and software a speed depends on: host name, CPU
model and count, memory, GPU, torch version. Nothing outside this file reads the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import psutil
import torch
from filelock import FileLock

from algoperf_lite.atomic import write_json_atomic
from algoperf_lite.json_files import UnreadableFile, read_json
from algoperf_lite.paths import cache_dir
from algoperf_lite.trial.environment import cpu_name, device_name

FILE = "speed.json"
MEASURED = ("steps_per_sec", "steps_per_sec_repeats", "measured_sec", "date")  # what an entry keeps


def fingerprint(device: torch.device) -> dict[str, Any]:
    return {"host": platform.node(), "cpu": cpu_name(), "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30), "device": device_name(device),
            "torch": torch.__version__}


def key(device: torch.device, setting: dict[str, Any]) -> dict[str, Any]:
    """What a measurement depends on: the machine's fingerprint and the ``setting``
    (workload, scale, threads, clock, concurrency, the reference run)."""
    return {"machine": fingerprint(device), **{k: v for k, v in setting.items() if k != "device_name"}}


def _id(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _path() -> Path:
    return cache_dir() / FILE


def _read() -> dict[str, Any]:
    try:
        data = read_json(_path())
    except UnreadableFile:
        return {}  # none yet, or damaged: measured again and rewritten
    return data if isinstance(data, dict) else {}


def lookup(key: dict[str, Any]) -> dict[str, Any] | None:
    """The kept measurement for ``key``, or None."""
    entry = _read().get(_id(key))
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(key, default=str)):
        return None
    measured = entry.get("measured")
    if not isinstance(measured, dict) or any(k not in measured for k in MEASURED):
        return None
    speed = measured["steps_per_sec"]
    return measured if isinstance(speed, (int, float)) and speed > 0 else None


def store(key: dict[str, Any], measured: dict[str, Any]) -> None:
    """Keep ``measured`` for ``key`` (several processes may store at once)."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        data = _read()
        data[_id(key)] = {"key": json.loads(json.dumps(key, default=str)), "measured": measured}
        write_json_atomic(path, data)
