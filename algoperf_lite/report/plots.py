"""The leaderboard's figures: performance profiles, a ratio heatmap, metric-vs-time curves.

Figures are built on matplotlib's object API (no pyplot, no global backend: Agg renders them)
with math text off, so a submission called "$x$" is drawn as typed. `save` writes PNG + SVG
when given a path stem and returns the PNG bytes for embedding.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from algoperf_lite.console import CONTROLS

STYLE = {"text.parse_math": False, "svg.hashsalt": "algoperf-lite", "font.size": 10}
_LINESTYLES = ("-", "--", "-.", ":")
LABEL_CHARS = 60  # a 100,000-character name would make the tight bounding box, and the image, run out of memory


def figure_label(name: object) -> str:
    """A name as a figure shows it: at most LABEL_CHARS characters (the page's tables show it
    whole), without control characters (no font has them: matplotlib warns, and its
    warning would print them raw)."""
    text = str(name).translate(CONTROLS)
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def color_of(i: int) -> tuple:
    return matplotlib.colormaps["tab10"](i % 10)


def style_of(i: int) -> dict:
    return {"color": color_of(i), "linestyle": _LINESTYLES[(i // 10) % len(_LINESTYLES)]}


def save(fig: Figure, stem: Path | None = None) -> bytes:
    """PNG bytes of `fig`; with a stem also `stem.png` and `stem.svg` (dates left out: reproducible)."""
    with matplotlib.rc_context(STYLE):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
        if stem is not None:
            stem.parent.mkdir(parents=True, exist_ok=True)
            stem.with_suffix(".png").write_bytes(buf.getvalue())
            fig.savefig(stem.with_suffix(".svg"), format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def profile_figure(profiles: pd.DataFrame, order: Sequence[str], title: str = "") -> Figure:
    """rho_s(tau) step curves, one per submission in leaderboard order (columns submission/tau/rho)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8, 4.5))
        ax = fig.add_subplot()
        for i, name in enumerate(order):
            p = profiles[profiles["submission"] == name]
            ax.step(p["tau"], p["rho"], where="post", label=figure_label(name), linewidth=2, alpha=0.85, **style_of(i))
        ax.set(xlabel="tau (ratio to the fastest submission)", ylabel="fraction of workloads  rho(tau)",
               ylim=(-0.02, 1.02), title=figure_label(title))
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        return fig


def ratio_heatmap(ratios: pd.DataFrame, max_tau: float, title: str = "") -> Figure:
    """Submissions x workloads of performance ratios; not reached (inf) cells are grey and say so."""
    with matplotlib.rc_context(STYLE):
        values = ratios.to_numpy(dtype=float)
        fig = Figure(figsize=(1.1 * values.shape[1] + 3, 0.45 * values.shape[0] + 1.8))
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["viridis_r"].with_extremes(bad="#d9d9d9")
        shown = np.ma.masked_invalid(np.where(np.isfinite(values), np.clip(values, 1, max_tau), np.nan))
        image = ax.imshow(shown, cmap=cmap, norm=LogNorm(1, max_tau), aspect="auto")
        for (s, w), r in np.ndenumerate(values):
            label = "∞" if not np.isfinite(r) else f"{r:.2f}"
            dark_cell = np.isfinite(r) and r >= np.sqrt(max_tau)  # viridis_r: large ratios are dark
            ax.text(w, s, label, ha="center", va="center", fontsize=8, color="white" if dark_cell else "black")
        ax.set_xticks(range(values.shape[1]), [figure_label(w) for w in ratios.columns], rotation=30, ha="right")
        ax.set_yticks(range(values.shape[0]), [figure_label(s) for s in ratios.index])
        ax.set_title(figure_label(title))
        bar = fig.colorbar(image, ax=ax, label=f"time / fastest (clipped to {max_tau:g})")
        ticks = [t for t in (1, 1.5, 2, 3, 4, 6, 8) if t <= max_tau]
        bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])  # plain labels: math text is off
        bar.minorticks_off()
        return fig


@dataclass
class Curve:
    """One submission's best trial on a workload: its evals, and when it reached the target."""

    label: str
    time: np.ndarray
    value: np.ndarray
    reached_at: float = float("inf")


def curves_figure(curves: Sequence[Curve], target: float | None, metric: str,
                  budget: float | None = None, title: str = "") -> Figure:
    """Validation metric vs submission time, with the target line (and the budget, if known)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 3.8))
        ax = fig.add_subplot()
        for i, c in enumerate(curves):
            ax.plot(c.time, c.value, label=figure_label(c.label), linewidth=1.6, alpha=0.9, **style_of(i))
            if np.isfinite(c.reached_at):
                hit = np.searchsorted(c.time, c.reached_at)
                if hit < len(c.value):
                    ax.plot([c.reached_at], [c.value[hit]], marker="o", color=color_of(i))
        if target is not None:
            ax.axhline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:g}")
        if budget:
            ax.axvline(budget, color="grey", linestyle=":", linewidth=1, label="budget")
        ax.set(xlabel="submission time (s)", ylabel=figure_label(metric), title=figure_label(title))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, loc="best")
        return fig
