"""`algoperf-lite diagnose RESULTS_DIR`: the landscape of the winners, after the study, untimed.

For the best trial of each (ruleset, submission, workload) (the fastest that reached the target,
else the one that came closest: the leaderboard's curves show the same trials), from the weights
it saved (save_weights=true): sharpness, the loss on the line from its initial to its final
weights, the loss on a plane of filter-normalized directions through the final weights (the same
seed for every submission) and, for a language model, the final loss per tenth of the vocabulary.
The loss is the training loss on fixed batches of the workload's training queue (the same for
every submission). Writes RESULTS_DIR/diagnostics.json (atomically, after each trial, so an
interrupted run keeps what it computed) and nothing else; `algoperf-lite report` draws it.
A rerun reuses the entries whose trial, final weights and settings are unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape

from algoperf_lite.atomic import write_json_atomic
from algoperf_lite.console import stdout_console
from algoperf_lite.diagnose.hessian import top_eigenvalue
from algoperf_lite.diagnose.landscape import directions, line, plane
from algoperf_lite.diagnose.probe import Probe
from algoperf_lite.diagnose.settings import DiagnoseSettings
from algoperf_lite.diagnose.tokens import is_sequence_model, loss_by_frequency
from algoperf_lite.errors import UserError
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.json_files import UnreadableFile
from algoperf_lite.results import (DIAGNOSTICS_FILE, WEIGHTS_MOMENTS, read_diagnostics, read_study, relative_trial_path,
                                   weights_file)
from algoperf_lite.scoring.results_dir import read_results_dir
from algoperf_lite.scoring.time_to_target import study_picks
from algoperf_lite.scoring.trial_index import TrialIndex, best_trial_paths
from algoperf_lite.trial.environment import torch_threads
from algoperf_lite.trial.workloads import build_workload, resolve_device

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Cell:
    """One best trial to diagnose."""

    ruleset: str
    submission: str
    workload: str
    path: Path
    spec: dict[str, Any]
    time_to_target: float  # inf: not reached (the trial that came closest)

    @property
    def key(self) -> str:
        return f"{self.ruleset}/{self.submission}/{self.workload}"

    @property
    def label(self) -> str:
        return f"{self.submission} on {self.workload} ({self.ruleset.replace('_', ' ')})"


def best_cells(results_dir: Path, submissions: Sequence[str] = (), workloads: Sequence[str] = ()) -> list[Cell]:
    """The best trial of each (ruleset, submission, workload), optionally of some only."""
    trials = read_results_dir(results_dir).trials
    for option, names in (("submissions", submissions), ("workloads", workloads)):
        unknown = sorted(set(names) - set(trials[option[:-1]]))
        if unknown:
            raise UserError(f"--{option}: {', '.join(unknown)} not in {results_dir} (it has "
                            f"{', '.join(sorted(set(trials[option[:-1]])))})")
    index = TrialIndex(trials)
    best = best_trial_paths(trials, study_picks(trials, "time_to_target"), index)
    cells = []
    for (ruleset, submission, workload), path in sorted(best.items()):
        if (submissions and submission not in submissions) or (workloads and workload not in workloads):
            continue
        cells.append(Cell(ruleset, submission, workload, Path(path), index.spec(path), index.time_to_target(path)))
    return cells


def has_weights(path: Path) -> bool:
    return all(weights_file(path, moment).is_file() for moment in WEIGHTS_MOMENTS)


def weights_hash(path: Path) -> str:
    return hashlib.sha256(weights_file(path, "final").read_bytes()).hexdigest()[:16]


def no_weights_message(results_dir: Path) -> str:
    return (f"{results_dir}: the best trials saved no weights (weights_init.pt and weights_final.pt in their "
            f"folders); diagnose needs them. Run the study with save_weights=true, in a new results_dir or with "
            f"overwrite=true, e.g. `algoperf-lite study study=quickstart save_weights=true results_dir=DIR`")


def _finite(x: Any) -> Any:
    """JSON for numbers and nested lists: NaN and inf become null."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def load_weights(path: Path, moment: str, model: torch.nn.Module, device: torch.device) -> list[torch.Tensor]:
    """Load a trial's saved state_dict into ``model``; its parameters' values, detached."""
    file = weights_file(path, moment)
    try:
        state = torch.load(file, map_location=device, weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, OSError, ValueError) as e:
        raise UserError(f"{file}: cannot be loaded into the workload's model ({str(e).splitlines()[0]}); "
                        f"was the workload changed since the trial ran?") from None
    return [p.detach().clone() for p in model.parameters()]


def diagnose_cell(cell: Cell, probe: Probe, settings: DiagnoseSettings, device: torch.device) -> dict[str, Any]:
    """Every diagnostic of one best trial (see the module docstring)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    started = time.perf_counter()
    model, _ = probe.workload.init_model_fn(settings.seed)
    # The math kernel of attention is twice differentiable (Hessian-vector products) on every device.
    with sdpa_kernel(SDPBackend.MATH):
        start = load_weights(cell.path, "init", model, device)
        end = load_weights(cell.path, "final", model, device)
        params = list(model.parameters())
        sharpness = top_eigenvalue(probe.loss(model), params, settings.max_products, seed=settings.seed)
        loss_at = probe.loss_at(model)
        on_line = line(loss_at, start, end, settings.alphas)
        first, second = directions(end, settings.seed)
        on_plane = plane(loss_at, end, first, second, settings.coordinates)
        ends = loss_at(start), loss_at(end)  # the trained weights stay in the model
        tokens = loss_by_frequency(probe, model) if is_sequence_model(probe) else None
    return {
        "trial": str(relative_trial_path(cell.path)), "weights": weights_hash(cell.path),
        "reached": math.isfinite(cell.time_to_target), "time_to_target": _finite(cell.time_to_target),
        "ruleset": cell.ruleset, "submission": cell.submission, "workload": cell.workload,
        "sharpness": _finite(sharpness.value), "hessian_products": sharpness.products,
        "hessian_converged": sharpness.converged,
        "loss_init": _finite(ends[0]), "loss_final": _finite(ends[1]),
        "line": {"alpha": _finite(settings.alphas), "loss": _finite(on_line)},
        "plane": {"coordinates": _finite(settings.coordinates), "loss": _finite(on_plane)},
        "token_frequency": tokens, "parameters": sum(p.numel() for p in params),
        "seconds": round(time.perf_counter() - started, 2),
    }


def diagnose(results_dir: Path, settings: DiagnoseSettings | None = None, device: str = "cpu",
             threads: int | None = 1, submissions: Sequence[str] = (), workloads: Sequence[str] = (),
             force: bool = False, console: Console | None = None) -> Path:
    """Diagnose the best trials of ``results_dir``; the diagnostics file written. UserError (exit 2)
    for a directory without trials or without saved weights, or a workload without a loss on a batch."""
    settings, console = settings or DiagnoseSettings(), console or stdout_console()
    results_dir = Path(results_dir)
    cells = best_cells(results_dir, submissions, workloads)
    ready = [c for c in cells if has_weights(c.path)]
    if not ready:
        raise UserError(no_weights_message(results_dir))
    for c in cells:
        if c not in ready:
            console.print(f"skipped {escape(c.label)}: its best trial {relative_trial_path(c.path)} saved no weights")
    if threads is not None and threads < 1:
        raise UserError(f"--threads must be an integer >= 1, got {threads}")
    target = resolve_device(device)
    out = results_dir / DIAGNOSTICS_FILE
    try:
        previous = read_diagnostics(results_dir)
    except UnreadableFile as e:
        console.print(f"{escape(str(e))}: it will be written anew")
        previous = {}
    same_settings = previous.get("settings") == dataclasses.asdict(settings) and not force
    entries: dict[str, Any] = dict(previous.get("cells") or {}) if same_settings else {}
    config = read_study(results_dir).get("config") or {}
    data_dir = resolve_data_dir(config.get("data_dir"))
    started, probes = time.perf_counter(), {}
    with torch_threads(threads):
        console.print(f"diagnosing {len(ready)} best trial(s) of {escape(str(results_dir))} on {target} "
                      f"({torch.get_num_threads()} thread(s)): batch {settings.batch_size}, line "
                      f"{settings.line_points}, plane {settings.grid}x{settings.grid}, up to {settings.max_products} "
                      f"Hessian-vector products each")
        for i, cell in enumerate(ready, 1):
            label = f"[{i}/{len(ready)}] {escape(cell.label)}"
            old = entries.get(cell.key) or {}
            trial, weights = str(relative_trial_path(cell.path)), weights_hash(cell.path)
            if old.get("trial") == trial and old.get("weights") == weights:
                console.print(f"  {label}: unchanged since the last run, kept")
                continue
            with console.status(f"  {label}: diagnosing its best trial"):
                where = (cell.workload, cell.spec.get("scale", "smoke"))
                if where not in probes:
                    workload = build_workload(where[0], where[1], target, data_dir, config.get("workloads_path") or ())
                    probes[where] = Probe.of(workload, settings.batch_size, settings.seed, settings.token_batches)
                e = entries[cell.key] = diagnose_cell(cell, probes[where], settings, target)
            write_json_atomic(out, {"format_version": FORMAT_VERSION, "settings": dataclasses.asdict(settings),
                                    "device": str(target), "cells": entries})
            console.print(f"  {label}: sharpness {_fmt(e['sharpness'])} ({e['hessian_products']} Hessian-vector "
                          f"products), loss {_fmt(e['loss_init'])} at init, {_fmt(e['loss_final'])} trained, "
                          f"{e['seconds']:.1f} s")
    console.print(f"{out} is up to date ({time.perf_counter() - started:.0f} s); `algoperf-lite report "
                  f"{escape(str(results_dir))}` adds it to the page")
    return out


def diagnose_command(results_dir: Path, settings: DiagnoseSettings, device: str = "cpu", threads: int | None = 1,
                     submissions: Sequence[str] = (), workloads: Sequence[str] = (), force: bool = False,
                     console: Console | None = None) -> int:
    """What the CLI runs: :func:`diagnose`, exit code 0 (bad input raises UserError: exit 2)."""
    diagnose(results_dir, settings, device, threads, submissions, workloads, force, console)
    return 0
