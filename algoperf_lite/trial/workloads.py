"""Discover workload folders and build workloads by name.

Each folder under ``workloads/`` holds ``workload.py`` defining
``WORKLOADS = {"name": WorkloadClass, ...}``: a family with its instances and variants.
A class is built as ``WorkloadClass(scale, device, data_dir)``."""

from __future__ import annotations

import difflib
import functools
import importlib.util
import sys
from pathlib import Path

import torch

from algoperf_lite import spec
from algoperf_lite.errors import UserError
from algoperf_lite.paths import workloads_dir

SCALES = ("smoke", "full")


@functools.cache
def _discover(root: Path) -> dict[str, tuple[str, type]]:
    found: dict[str, tuple[str, type]] = {}
    for file in sorted(root.glob("*/workload.py")):
        family = file.parent.name
        module_name = f"algoperf_lite_workloads.{family}"
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
        for name, cls in getattr(module, "WORKLOADS", {}).items():
            if name in found:
                raise RuntimeError(f"workload {name!r} is registered twice ({found[name][0]} and {family})")
            found[name] = (family, cls)
    for name, (family, cls) in found.items():
        if cls.variant_of is not None and (cls.variant_of not in found or found[cls.variant_of][1].variant_of):
            raise RuntimeError(f"workload {name!r} ({family}) is a held-out variant of {cls.variant_of!r}, "
                               f"which is not a registered base workload")
    return found


def workload_classes() -> dict[str, tuple[str, type]]:
    """Registered name -> (family folder, class)."""
    return _discover(workloads_dir())


def with_held_out_variants(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` followed by the held-out variants of each (rules.md, AlgoPerf v0.5)."""
    variants = [v for base in names for v, (_, cls) in sorted(workload_classes().items())
                if cls.variant_of == base and v not in names]
    return (*names, *dict.fromkeys(variants))


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as e:
        raise UserError(f"bad device {device!r}: use cpu, cuda, cuda:N or auto") from e
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} asked for but CUDA is not available here; use device=cpu")
    return resolved


def resolve_scale(scale: str, device: torch.device) -> str:
    """``auto`` means smoke on a CPU and full on a GPU."""
    if scale == "auto":
        return "full" if device.type == "cuda" else "smoke"
    if scale not in SCALES:
        raise UserError(f"unknown scale {scale!r}; use scale=auto, smoke or full")
    return scale


def build_workload(name: str, scale: str, device: torch.device, data_dir: Path | None = None) -> spec.Workload:
    classes = workload_classes()
    if name not in classes:
        close = difflib.get_close_matches(name, classes, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UserError(f"unknown workload {name!r}: {hint}known: {', '.join(sorted(classes))}")
    workload = classes[name][1](scale, device, data_dir)
    workload.name = name
    return workload
