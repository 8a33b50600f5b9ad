"""The figures: drawn with Agg, saved as PNG and SVG, robust to odd names and infinities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from algoperf_lite.report import plots


def test_profile_figure_saves_png_and_svg(tmp_path: Path) -> None:
    taus = np.linspace(1, 4, 100)
    profiles = pd.DataFrame({"submission": np.repeat(["a $x", "b"], 100), "tau": np.tile(taus, 2),
                             "rho": np.r_[(taus >= 1.5) * 0.5, np.ones(100)]})
    # "a $x" has an unbalanced dollar: with math text on, matplotlib would fail to draw it.
    png = plots.save(plots.profile_figure(profiles, ["b", "a $x"], "t"), tmp_path / "profiles")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "profiles.png").read_bytes() == png
    assert "<svg" in (tmp_path / "profiles.svg").read_text()


def test_svg_is_reproducible(tmp_path: Path) -> None:
    ratios = pd.DataFrame({"w1": [1.0, 2.5], "w2": [math.inf, 1.0]}, index=["a", "b"])
    for name in ("one", "two"):
        plots.save(plots.ratio_heatmap(ratios, 4.0), tmp_path / name)
    assert (tmp_path / "one.svg").read_text() == (tmp_path / "two.svg").read_text()


def test_curves_mark_the_target(tmp_path: Path) -> None:
    curves = [plots.Curve("a", np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.9]), reached_at=3.0),
              plots.Curve("b", np.array([1.0, 2.0]), np.array([0.1, 0.3]))]
    fig = plots.curves_figure(curves, target=0.9, metric="validation/accuracy", budget=4.0, title="w")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "target 0.9" in labels and "budget" in labels
    assert plots.save(fig)[:4] == b"\x89PNG"
