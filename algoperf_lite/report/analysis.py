"""The page's analysis sections, as plain strings and figures for the template: the odds against
the reference, hyperparameter sensitivity, the cost of tuning, and the landscape of the winners
(from ``algoperf-lite diagnose``'s diagnostics.json). Each function gets one ruleset's data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from algoperf_lite.results import relative_trial_path
from algoperf_lite.scoring.odds import COLUMN as ODDS
from algoperf_lite.scoring.odds import ODDS_NOTE, odds_cell, workload_column

from . import analysis_plots
from .plots import figure_label

FigureFn = Callable[[Figure, str], str]  # (figure, file name) -> data URI


def _fmt(value: float | None, spec: str = ".3g", unit: str = "") -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:{spec}}{unit}"


def odds_section(board: pd.DataFrame, workloads: Sequence[str], reference: str | None) -> dict | None:
    """Per submission, P(beats the reference) overall and per workload (None without a reference)."""
    if reference is None or ODDS not in board:
        return None
    rows = [{"submission": r["submission"], "overall": odds_cell(r[ODDS], r["odds_note"]),
             "cells": [odds_cell(r[workload_column(w)], r["odds_note"]) for w in workloads]}
            for r in board.to_dict("records")]
    paired = bool(board["odds_paired"].iloc[0])
    how = ("Paired: every cell ran the same studies, so a replicate draws one list of study indices for all."
           if paired else "Unpaired: the cells ran different studies, so each cell's studies are drawn on their own.")
    return {"reference": reference, "workloads": list(workloads), "rows": rows, "note": f"{ODDS_NOTE} {how}"}


def sensitivity_section(points: pd.DataFrame, shares: pd.DataFrame, order: Sequence[str], workloads: Sequence[str],
                        budgets: dict[str, float], figure: FigureFn) -> dict | None:
    """The share of points that reach the target per submission and workload (and over all), and
    a figure per (submission, workload) of time to target against each hyperparameter."""
    if shares.empty:
        return None
    keyed = shares.set_index(["submission", "workload"])

    def share(sub: str, w: str) -> str:
        if (sub, w) not in keyed.index:
            return "–"
        r = keyed.loc[(sub, w)]
        return f"{r['share']:.0%} ({int(r['reached'])}/{int(r['points'])})"

    subs = [s for s in order if (s, "all") in keyed.index]
    figures = []
    for sub in subs:
        for w in workloads:
            mine = points[(points["submission"] == sub) & (points["workload"] == w)]
            if mine.empty:
                continue
            title = f"{figure_label(sub)} on {figure_label(w)}: {share(sub, w)} of the points reach the target"
            figures.append({"submission": sub, "workload": w, "image": figure(
                analysis_plots.sensitivity_figure(mine, title, budgets.get(w)), f"sensitivity_{sub}_{w}")})
    return {"workloads": list(workloads),
            "rows": [{"submission": s, "all": share(s, "all"), "cells": [share(s, w) for w in workloads]}
                     for s in subs],
            "figures": figures}


def tuning_cost_section(cost: pd.DataFrame, order: Sequence[str], workloads: Sequence[str],
                        figure: FigureFn) -> dict | None:
    """Per workload, the expected best time to target of k of each submission's N points; a table
    of k = 1 (one untuned try) against k = N (every point it was given)."""
    if cost.empty:
        return None
    rows, figures = [], []
    for w in workloads:
        mine = cost[cost["workload"] == w]
        if mine.empty:
            continue
        figures.append({"workload": w, "image": figure(analysis_plots.tuning_cost_figure(
            mine, order, f"{figure_label(w)}: best of k points"), f"tuning_cost_{w}")})
        for sub in order:
            rows_of = mine[mine["submission"] == sub].sort_values("k")
            if rows_of.empty:
                continue
            one, every = rows_of.iloc[0], rows_of.iloc[-1]
            rows.append({"workload": w, "submission": sub, "points": int(every["n_points"]),
                         "one": f"{_fmt(one['expected_best_time_if_reached'], '.3g', ' s')} (P {one['p_reach']:.2f})",
                         "every": f"{_fmt(every['expected_best_time_if_reached'], '.3g', ' s')} "
                                  f"(P {every['p_reach']:.2f})"})
    return {"rows": rows, "figures": figures}


def above_chord(entry: dict[str, Any]) -> float | None:
    """The largest excess, over a in [0, 1], of the loss on the line above the chord between its ends."""
    line, start, end = entry.get("line") or {}, entry.get("loss_init"), entry.get("loss_final")
    if start is None or end is None:
        return None
    gaps = [v - ((1 - a) * start + a * end) for a, v in zip(line.get("alpha", []), line.get("loss", []))
            if v is not None and 0 <= a <= 1]
    return max(gaps, default=None)


def landscape_section(diagnostics: dict[str, Any], ruleset: str, order: Sequence[str], workloads: Sequence[str],
                      best: dict[tuple, str], results_dir: Path, figure: FigureFn) -> dict:
    """Sharpness and the loss around each best trial's final weights, from diagnostics.json; where
    it has nothing for this ruleset, how to get it."""
    cells = diagnostics.get("cells") or {}
    how = (f"Run `algoperf-lite diagnose {results_dir}` after a study run with save_weights=true (the trials "
           f"then keep their initial and final weights), then `algoperf-lite report {results_dir}` again.")
    if "unreadable" in diagnostics:
        how = f"{diagnostics['unreadable']}. Run `algoperf-lite diagnose {results_dir} --force` to write it anew."
    found: dict[tuple[str, str], dict] = {}
    stale = []
    for sub in order:
        for w in workloads:
            entry = cells.get(f"{ruleset}/{sub}/{w}")
            if entry is None:
                continue
            current = best.get((ruleset, sub, w))
            if current is None or str(relative_trial_path(Path(current))) != entry.get("trial"):
                stale.append(f"{sub} on {w}")
                continue
            found[(sub, w)] = entry
    if not found:
        return {"available": False, "how": how, "stale": stale}
    settings = diagnostics.get("settings") or {}
    rows, figures = [], []
    for w in workloads:
        mine = [(sub, found[(sub, w)]) for sub in order if (sub, w) in found]
        if not mine:
            continue
        for sub, e in mine:
            rows.append({
                "workload": w, "submission": sub,
                "time": _fmt(e.get("time_to_target"), ".3g", " s") if e.get("reached") else "not reached",
                "sharpness": _fmt(e.get("sharpness"), ".4g")
                + ("" if e.get("hessian_converged", True) else " (not converged)"),
                "sharpness_raw": "" if e.get("sharpness") is None else repr(float(e["sharpness"])),
                "loss_init": _fmt(e.get("loss_init"), ".4g"), "loss_final": _fmt(e.get("loss_final"), ".4g"),
                "above_chord": _fmt(above_chord(e), ".3g"),
            })
        figures.append({"workload": w, "kind": "line", "image": figure(analysis_plots.line_figure(
            [(sub, e["line"]["alpha"], e["line"]["loss"]) for sub, e in mine],
            f"{figure_label(w)}: from initial to final weights"), f"landscape_line_{w}")})
        figures.append({"workload": w, "kind": "plane", "image": figure(analysis_plots.plane_figure(
            [(sub, e["plane"]["coordinates"], e["plane"]["loss"]) for sub, e in mine],
            f"{figure_label(w)}: around the final weights (filter-normalized directions, seed "
            f"{settings.get('seed', 0)})"), f"landscape_plane_{w}")})
        tokens = [(sub, e["token_frequency"]) for sub, e in mine if e.get("token_frequency")]
        if tokens:
            figures.append({"workload": w, "kind": "tokens", "image": figure(analysis_plots.token_figure(
                tokens, f"{figure_label(w)}: final training loss by token frequency"), f"landscape_tokens_{w}")})
    batch = settings.get("batch_size")
    note = (f"Training loss on a fixed batch of {batch} examples of each workload's training data (the same for "
            f"every submission; dropout off, BatchNorm on batch statistics). Sharpness: the largest eigenvalue of its "
            f"Hessian at the final weights (Lanczos on Hessian-vector products). Above the chord: how far the loss "
            f"on the straight path from the initial (a = 0) to the final (a = 1) weights rises above the straight "
            f"line between its two ends (0: never; a barrier on the way where it is large).")
    return {"available": True, "how": how, "stale": stale, "rows": rows, "figures": figures, "note": note}
