"""The figures of the page's analysis sections: hyperparameter sensitivity, the cost of tuning,
and the landscape of the winners (the loss along the line from initial to final weights, on a
plane around the final weights, and per tenth of a language model's vocabulary).

Built like plots.py's (matplotlib's object API, math text off); saved through plots.save.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from .plots import STYLE, color_of, figure_label, style_of


def _log_axis(ax, which: str) -> None:
    """A log scale on the x or y axis, labelled in plain numbers (math text is off, so
    matplotlib's 10^k labels would show their markup)."""
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _points_axis(ax, values: pd.Series, scaling: str) -> np.ndarray:
    """x positions for a hyperparameter's values: numbers on a log or linear axis, feasible
    points (any values) as evenly spaced categories."""
    numeric = pd.to_numeric(values, errors="coerce")
    if scaling != "choice" and numeric.notna().all() and not values.map(lambda v: isinstance(v, bool)).any():
        if scaling == "log" and (numeric > 0).all():
            _log_axis(ax, "x")
        return numeric.to_numpy(float)
    labels = sorted({str(v) for v in values})
    ax.set_xticks(range(len(labels)), [figure_label(v) for v in labels])
    ax.set_xlim(-0.5, len(labels) - 0.5)
    return values.map(lambda v: labels.index(str(v))).to_numpy(float)


def sensitivity_figure(points: pd.DataFrame, title: str, budget: float | None) -> Figure:
    """One column per hyperparameter of one (submission, workload): time to target of each point
    above (not reached: a cross at the top, above the budget line), the best validation value
    below, with the target line."""
    names = list(dict.fromkeys(points["hyperparameter"]))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(max(3.2 * len(names), 4.8), 4.8))
        axes = fig.subplots(2, len(names), squeeze=False, sharex="col",
                            gridspec_kw={"hspace": 0.12, "wspace": 0.35})  # no layout engine: it triples the cost
        first = points[points["hyperparameter"] == names[0]]
        reached_times = first["time_to_target"][np.isfinite(first["time_to_target"])]
        ceiling = max([*reached_times, budget or 0.0, 1e-9]) * 1.1
        for col, name in enumerate(names):
            rows = points[points["hyperparameter"] == name]
            top, bottom = axes[0, col], axes[1, col]
            x = _points_axis(top, rows["value"], rows["scaling"].iloc[0])
            reached = np.isfinite(rows["time_to_target"]).to_numpy()
            top.scatter(x[reached], rows["time_to_target"][reached], color=color_of(0), s=22, label="reached")
            top.scatter(x[~reached], np.full((~reached).sum(), ceiling), color="grey", marker="x", s=22,
                        label="not reached")
            if budget:
                top.axhline(budget, color="grey", linestyle=":", linewidth=1)
            bottom.scatter(x, rows["best_metric"], color=[color_of(0) if r else "grey" for r in reached], s=22)
            target = rows["target"].iloc[0]
            if np.isfinite(target):
                bottom.axhline(target, color="black", linestyle="--", linewidth=1)
            top.set(ylim=(0, ceiling * 1.08))
            bottom.set_xlabel(figure_label(name) + (" (log)" if rows["scaling"].iloc[0] == "log" else ""))
            for ax in (top, bottom):
                ax.grid(alpha=0.3)
        axes[0, 0].set_ylabel("time to target (s)")
        metric = str(first["metric"].iloc[0] or "metric")
        axes[1, 0].set_ylabel(f"best validation {figure_label(metric)}")
        axes[0, 0].legend(fontsize=7, frameon=False, loc="upper left")
        fig.suptitle(title)
        return fig


def tuning_cost_figure(cost: pd.DataFrame, order: Sequence[str], title: str) -> Figure:
    """Per submission: the expected best time to target of k points (among the k-subsets that
    reach it), and the probability that at least one of k reaches it, for k = 1..N."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 5.2))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"hspace": 0.1})
        for i, name in enumerate(order):
            rows = cost[cost["submission"] == name]
            if rows.empty:
                continue
            top.plot(rows["k"], rows["expected_best_time_if_reached"], marker="o", markersize=3,
                     label=figure_label(name), **style_of(i))
            bottom.plot(rows["k"], rows["p_reach"], marker="o", markersize=3, **style_of(i))
        top.set(ylabel="expected best time\nto target (s), if reached", title=title)
        bottom.set(xlabel="k points drawn of N", ylabel="P(some of k reach)", ylim=(-0.03, 1.03))
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        top.legend(fontsize=7, frameon=False, loc="best")
        return fig


def line_figure(lines: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str) -> Figure:
    """The training loss on the fixed batch along (1 - a) initial + a final, one line per submission."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 3.8))
        ax = fig.add_subplot()
        shown = []
        for i, (name, alpha, loss) in enumerate(lines):
            shown.append(np.array(loss, dtype=float))
            ax.plot(alpha, shown[-1], label=figure_label(name), linewidth=1.6, **style_of(i))
        for a in (0, 1):
            ax.axvline(a, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel="a: 0 = initial weights, 1 = final weights", ylabel="training loss (fixed batch)", title=title)
        values = np.concatenate(shown) if shown else np.array([])
        values = values[np.isfinite(values) & (values > 0)]
        if values.size and values.max() > 10 * values.min():  # losses over decades: a log axis
            _log_axis(ax, "y")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, loc="best")
        return fig


def plane_figure(planes: Sequence[tuple[str, Sequence[float], Sequence[Sequence[float]]]], title: str) -> Figure:
    """Loss contours around each submission's final weights (at the centre) on two filter-normalized
    directions of the same seed, one panel per submission, one colour scale (log) for all."""
    grids = [np.array(loss, dtype=float) for _, _, loss in planes]
    finite = np.concatenate([g[np.isfinite(g)] for g in grids]) if grids else np.array([])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 2.0)
    low = max(low, high * 1e-6, 1e-12)
    levels = np.geomspace(low, max(high, low * 1.001), 15)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.1 * len(planes) + 1.2, 3.3))
        axes = fig.subplots(1, len(planes), squeeze=False, gridspec_kw={"wspace": 0.3})[0]
        image = None
        for ax, (name, coords, _), grid in zip(axes, planes, grids):
            c = np.array(coords, dtype=float)
            shown = np.clip(np.where(np.isfinite(grid), grid, high), low, high)
            image = ax.contourf(c, c, shown.T, levels=levels, cmap="viridis",
                                norm=LogNorm(low, levels[-1]))
            ax.plot([0], [0], marker="*", color="white", markersize=9)
            ax.set(title=figure_label(name), xlabel="direction 1", aspect="equal")
        axes[0].set_ylabel("direction 2")
        if image is not None:
            fig.colorbar(image, ax=list(axes), label="training loss (fixed batch)", format="%.3g")
        fig.suptitle(title, y=1.06)
        return fig


def token_figure(buckets: Sequence[tuple[str, Sequence[dict]]], title: str) -> Figure:
    """Final training loss per tenth of the vocabulary (most frequent first), bars per submission."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.0, 3.8))
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(buckets))
        for i, (name, rows) in enumerate(buckets):
            x = np.arange(len(rows)) + (i - (len(buckets) - 1) / 2) * width
            loss = [np.nan if r.get("loss") is None else r["loss"] for r in rows]
            ax.bar(x, loss, width=width, label=figure_label(name), color=color_of(i))
        if buckets:
            rows = buckets[0][1]
            ax.set_xticks(range(len(rows)), [f"{i + 1}\n{r['share']:.1%}" for i, r in enumerate(rows)])
        ax.set(xlabel="tenth of the vocabulary, most to least frequent (share of training tokens)",
               ylabel="final training loss per token", title=title)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        return fig
