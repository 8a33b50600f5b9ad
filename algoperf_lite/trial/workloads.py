"""Discover workload folders and build workloads by name.

Each folder under a workloads folder of the search path (the built-in ``workloads/``,
then the user's: :func:`algoperf_lite.paths.search_path`) holds ``workload.py`` defining
``WORKLOADS = {"name": WorkloadClass, ...}``: a family with its instances and variants.
A class is built as ``WorkloadClass(scale, device, data_dir)``. ``workloads_path`` is the
config key of the same name: the user's folders added to the search path."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from algoperf_lite import spec
from algoperf_lite.errors import UserError
from algoperf_lite.paths import builtin_dir, search_path
from algoperf_lite.trial.importing import exec_file, path_digest

SCALES = ("smoke", "full")


class Registered(NamedTuple):
    family: str  # the family folder's name
    cls: type
    folder: Path  # the family folder


def _module_name(file: Path) -> str:
    """Built-in families keep plain names; the user's get their path's digest, so that two
    folders may both hold a family of the same name."""
    family = file.parent.name
    if file.parent.parent == builtin_dir("workloads"):
        return f"algoperf_lite_workloads.{family}"
    return f"algoperf_lite_workloads.{family}_{path_digest(file)}"


@functools.cache
def _discover(roots: tuple[Path, ...]) -> dict[str, Registered]:
    found: dict[str, Registered] = {}
    for file in (f for root in roots for f in sorted(root.glob("*/workload.py"))):
        module = exec_file(file, _module_name(file))
        for name, cls in getattr(module, "WORKLOADS", {}).items():
            if name in found:
                raise UserError(f"workload {name!r} is registered twice ({found[name].folder} and {file.parent}); "
                                f"rename one: a folder on the search path may add workloads, not replace them")
            found[name] = Registered(file.parent.name, cls, file.parent)
    for name, entry in found.items():
        base = entry.cls.variant_of
        if base is not None and (base not in found or found[base].cls.variant_of):
            raise UserError(f"workload {name!r} ({entry.folder}) is a held-out variant of {base!r}, "
                            f"which is not a registered base workload")
    return found


def workload_classes(workloads_path: Sequence[str] = ()) -> dict[str, Registered]:
    """Registered name -> (family, class, folder), over the search path."""
    return _discover(tuple(search_path("workloads", workloads_path)))


def with_held_out_variants(names: tuple[str, ...], workloads_path: Sequence[str] = ()) -> tuple[str, ...]:
    """``names`` followed by the held-out variants of each (docs/rules.md, AlgoPerf v0.5)."""
    variants = [v for base in names for v, entry in sorted(workload_classes(workloads_path).items())
                if entry.cls.variant_of == base and v not in names]
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


def build_workload(name: str, scale: str, device: torch.device, data_dir: Path | None = None,
                   workloads_path: Sequence[str] = ()) -> spec.Workload:
    classes = workload_classes(workloads_path)
    if name not in classes:
        close = difflib.get_close_matches(name, classes, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UserError(f"unknown workload {name!r}: {hint}known: {', '.join(sorted(classes))}")
    workload = classes[name].cls(scale, device, data_dir)
    workload.name = name
    return workload
