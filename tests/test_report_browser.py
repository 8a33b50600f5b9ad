"""The leaderboard in a real browser: Debian's headless chromium renders and parses it.

CI installs it with `apt-get install -y chromium`; without /usr/bin/chromium these tests skip.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.image import imread
from test_report_leaderboard import XSS, XSS_IMG, Page, build_results

from algoperf_lite.scoring import ScoringWarning
from algoperf_lite.commands.report import report_command
from algoperf_lite.commands.score import score_command

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                "(apt-get install -y chromium); CI installs it")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_results(tmp_path_factory.mktemp("results"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        score_command(root, None)
        report_command(root, None)
    return root


def chromium(tmp_path: Path, *args: str) -> str:
    done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_screenshot_is_not_blank(site: Path, tmp_path: Path) -> None:
    png = tmp_path / "page.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", (site / "leaderboard.html").as_uri())
    pixels = imread(png)[..., :3]  # floats in [0, 1]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05  # a blank or single-colour page has ~0
    assert (pixels.min(axis=-1) < 0.5).mean() > 0.01  # text and lines: over 1% dark pixels
    # The figures are the only saturated colour on the page (the CSS is grey): they were drawn.
    saturation = pixels.max(axis=-1) - pixels.min(axis=-1)
    assert (saturation > 0.4).mean() > 0.002


def test_rendered_dom_matches_scores_and_stays_inert(site: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", (site / "leaderboard.html").as_uri())
    page = Page(dom)
    # No injected markup ran: the hostile <img onerror> would have marked the body.
    body = [a for t, a in page.tags if t == "body"][0]
    assert "data-pwned" not in body
    scores = pd.read_csv(site / "scores.csv", keep_default_na=False)
    ext = scores[scores["ruleset"] == "external_tuning"]
    rows = page.tables["ranking-external_tuning"][1:]
    assert [r[1:3] for r in rows] == [[s, f"{v:.4f}"] for s, v in zip(ext["submission"], ext["score"])]
    assert XSS in [r[1] for r in rows] and XSS_IMG in [r[1] for r in rows]
    assert page.tables["workloads-external_tuning"][0][:3] == ["Workload", "Target", "Budget"]
    assert any(t == "img" and a.get("id") == "profile-external_tuning" for t, a in page.tags)
