"""The leaderboard page, read back with the standard library's HTML parser."""

from __future__ import annotations

import json
import math
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from test_scoring_fakes import make_results_dir, write_trial

from algoperf_lite.scoring.trial_index import eval_column
from algoperf_lite.scoring import ScoringError, ScoringWarning
from algoperf_lite.commands.report import report_command
from algoperf_lite.commands.score import score_command

INF = math.inf
XSS = "<script>alert(1)</script>"
# If the page ever let markup through, this would mark the body in a real browser.
XSS_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


class Page(HTMLParser):
    """Tags with their attributes, and every table (by id) as rows of cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if self._cell is not None:
            self._cell.append(" ")  # text in nested elements stays separate words
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def build_results(root: Path) -> Path:
    """Two rulesets; external: 4 submissions (two with hostile names) x 2 workloads, 2 x 2 trials;
    study.json names a third workload nobody ran."""
    make_results_dir(root, {
        ("baseline", "mnist"): [[10.0, 12.0], [11.0, INF]], ("baseline", "cifar"): [[50.0, 60.0], [INF, 40.0]],
        ("adamw", "mnist"): [[8.0, 9.0], [INF, 7.5]], ("adamw", "cifar"): [[INF, INF], [INF, INF]],
    }, study={"name": "quickstart <b>study</b>", "rules": {"num_trials": 2, "num_studies": 2},
              "workloads": ["mnist", "cifar", "tiny_lm"]})
    for k in range(2):
        for i in range(2):
            write_trial(root, XSS, "mnist", k, i, 9.0 + k + i, folder="xss", hyperparameters={"lr": 0.1})
            write_trial(root, XSS_IMG, "cifar", k, i, 45.0 + k, folder="img", hyperparameters={"lr": 0.2})
        write_trial(root, "baseline", "mnist", k, 0, 30.0, ruleset="self", budget=150)
        write_trial(root, "baseline", "cifar", k, 0, INF, ruleset="self", budget=150)
    space = root / "submissions" / "baseline" / "tuning_search_space.json"  # spec's submission_path
    space.parent.mkdir(parents=True)
    space.write_text(json.dumps({"learning_rate": {"min": 1e-4, "max": 1e-2, "scaling": "log"}}))
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results dir scored (scores.csv) and reported (leaderboard.html), once for the module."""
    root = build_results(tmp_path_factory.mktemp("results"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        assert score_command(root, None) == 0
        assert report_command(root, None) == 0
    return root


@pytest.fixture(scope="module")
def page(site: Path) -> Page:
    return Page((site / "leaderboard.html").read_text(encoding="utf-8"))


def ranking_rows(page: Page, ruleset: str) -> list[list[str]]:
    return page.tables[f"ranking-{ruleset}"][1:]  # without the header row


def test_ranking_table_matches_scores_csv(site: Path, page: Page) -> None:
    scores = pd.read_csv(site / "scores.csv", keep_default_na=False)
    for ruleset, group in scores.groupby("ruleset"):
        rows = ranking_rows(page, ruleset)
        assert [r[:3] for r in rows] == [[str(k), s, f"{v:.4f}"] for k, s, v in
                                         zip(group["rank"], group["submission"], group["score"])]
        intervals = zip(group["score_low"], group["score_high"], group["interval_note"])
        assert [r[3] for r in rows] == [note or f"{lo:.4f} – {hi:.4f}" for lo, hi, note in intervals]
        assert all(lo <= v <= hi for lo, v, hi in zip(group["score_low"], group["score"], group["score_high"]))
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    note = html.split('id="interval-note-external_tuning">', 1)[1].split("</p>", 1)[0]
    assert "covers the population score" in note and "pinned at 1.0" in note  # the honest figures
    # Hand check of the external order: baseline is fastest on cifar (median of 50 and 40 = 45) and
    # 1.35x adamw's 7.75 on mnist; adamw wins mnist only; the others win nothing.
    assert [r[1] for r in ranking_rows(page, "external_tuning")] == ["baseline", "adamw", XSS_IMG, XSS]


def test_one_study_shows_no_interval(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_results_dir(tmp_path, {("a", "w"): [[10.0, 12.0]], ("b", "w"): [[20.0, INF]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        assert score_command(root, None) == 0 and report_command(root, None) == 0
    assert capsys.readouterr().out.count("n/a: 1 study") == 2  # the CLI table
    scores = pd.read_csv(root / "scores.csv", keep_default_na=False)
    assert scores["interval_note"].tolist() == ["n/a: 1 study"] * 2
    assert (scores[["score_low", "score_high", "rank_low", "rank_high"]] == "").all().all()  # empty cells
    page = Page((root / "leaderboard.html").read_text(encoding="utf-8"))
    assert [r[3:5] for r in ranking_rows(page, "external_tuning")] == [["n/a: 1 study", "n/a"]] * 2
    assert "1 – 1" not in (root / "leaderboard.html").read_text(encoding="utf-8")


def test_hostile_names_are_text(site: Path, page: Page) -> None:
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not [t for t, _ in page.tags if t in ("script", "iframe", "object", "embed", "link")]
    assert all(a.get("src", "").startswith("data:image/png;base64,") for t, a in page.tags if t == "img")
    assert not any(k.startswith("on") for _, a in page.tags for k in a)  # no event handlers at all
    assert "quickstart &lt;b&gt;study&lt;/b&gt;" in html  # config text too


def test_page_is_self_contained(site: Path, page: Page) -> None:
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "url(" not in html
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]
    images = [a for t, a in page.tags if t == "img"]
    # 2 rulesets x (profiles + heatmap + curves on mnist and cifar); external tuning also has a sensitivity
    # figure per submission and workload run (2 + 2 + 1 + 1) and a tuning-cost figure per workload (2).
    assert len(images) == 8 + 6 + 2 and any(a.get("id") == "profile-external_tuning" for a in images)


def test_workload_table_shows_budget_target_and_infinity(page: Page) -> None:
    table = page.tables["workloads-external_tuning"]
    header, rows = table[0], {r[0]: r for r in table[1:]}
    assert header[:3] == ["Workload", "Target", "Budget"] and header[3:] == ["baseline", "adamw", XSS_IMG, XSS]
    assert rows["cifar"][1:3] == ["validation/accuracy ≥ 0.9", "100 s"]
    # baseline cifar: studies pick 50 and 40 -> median 45, the fastest; adamw never reached it;
    # the script-named submission never ran cifar.
    assert rows["cifar"][3] == "45 s ×1.00 · 2/2 studies"
    assert rows["cifar"][4] == "∞ 0/2 studies"
    assert rows["cifar"][6] == "not run"
    assert rows["tiny_lm"][3:] == ["not run"] * 4


def test_details_settings_and_environment(site: Path) -> None:
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    for text in ("NVIDIA H100 80GB HBM3", "0123abcd4567", "2.4.1", "2025-01-02T03:04:05Z", "100-point trapezoid",
                 "learning_rate", "weight_decay", "&#34;num_studies&#34;: 2"):
        assert text in html, text


def test_search_space_and_best_trial_hyperparameters(site: Path, page: Page) -> None:
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    assert "&#34;scaling&#34;: &#34;log&#34;" in html  # baseline's tuning_search_space.json, escaped
    # baseline (ranked first) on mnist: study 0 picks trial 0 (10 s), study 1 trial 0 (11 s); the
    # best is study 0 / trial 0, whose point is learning_rate 0.001 * (0 + 1), weight_decay 0.1 * 0.
    table = page.tables["hparams-external_tuning-1"]
    assert table[0] == ["Workload", "learning_rate", "weight_decay"]
    assert {r[0]: r[1:] for r in table[1:]}["mnist"] == ["0.001", "0"]


def test_eval_column_accepts_both_metric_spellings() -> None:
    evals = pd.DataFrame({"submission_time": [1.0], "validation/accuracy": [0.5], "train/accuracy": [0.6]})
    assert eval_column(evals, "accuracy") == "validation/accuracy"  # as the trial writes spec.json
    assert eval_column(evals, "validation/accuracy") == "validation/accuracy"  # as docs/results.md shows
    assert eval_column(evals, "loss") is None


def test_figures_are_written_as_png_and_svg(site: Path) -> None:
    plots = site / "leaderboard_plots"
    names = {p.name for p in plots.iterdir()}
    for stem in ("external_tuning_performance_profiles", "external_tuning_ratio_heatmap",
                 "external_tuning_curves_mnist", "self_tuning_curves_cifar"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
        assert (plots / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (plots / f"{stem}.svg").read_text().lstrip().startswith("<?xml")


def test_report_output_path_and_bad_input(tmp_path: Path, site: Path) -> None:
    out = tmp_path / "pages" / "board.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        assert report_command(site, out) == 0
    assert out.is_file() and (tmp_path / "pages" / "board_plots").is_dir()
    with pytest.raises(ScoringError, match="no finished trials"):
        report_command(tmp_path / "pages", None)


def test_analysis_sections(site: Path, page: Page) -> None:
    # Odds against the reference (study.json names none: the one called "baseline"). adamw never
    # reached cifar, the script-named submission never ran it: neither beats baseline there.
    odds = {r[0]: r[1:] for r in page.tables["odds-external_tuning"][1:]}
    header = page.tables["odds-external_tuning"][0]
    assert header == ["Submission", "Overall", "cifar", "mnist", "tiny_lm"]
    assert odds["baseline"] == ["reference"] * 4
    assert odds["adamw"][1] == "0.00" and odds[XSS][1] == "0.00"
    assert all(0 <= float(v) <= 1 for v in odds["adamw"])
    assert [r[-1] for r in ranking_rows(page, "external_tuning")] == [odds[s][0] for s in
                                                                       ("baseline", "adamw", XSS_IMG, XSS)]
    html = (site / "leaderboard.html").read_text(encoding="utf-8")
    assert "Paired: every cell ran the same studies" in html
    scores = pd.read_csv(site / "scores.csv", keep_default_na=False).set_index(["ruleset", "submission"])
    assert float(scores.loc[("external_tuning", "adamw"), "p_beats_reference/cifar"]) == 0.0
    # The share of points that reach the target: baseline reached 3 of 4 on each workload.
    shares = {r[0]: r[1:] for r in page.tables["reach-shares-external_tuning"][1:]}
    assert shares["baseline"] == ["75% (6/8)", "75% (3/4)", "75% (3/4)", "–"]
    assert shares["adamw"] == ["38% (3/8)", "0% (0/4)", "75% (3/4)", "–"]
    # Best of k points: baseline on mnist has 10, 12, 11 and a miss: one point reaches with P 3/4
    # and then takes 11 s on average; all four take the best, 10 s.
    cost = {(r[0], r[1]): r[2:] for r in page.tables["tuning-cost-external_tuning"][1:]}
    assert cost[("mnist", "baseline")] == ["4", "11 s (P 0.75)", "10 s (P 1.00)"]
    assert cost[("cifar", "adamw")] == ["4", "– (P 0.00)", "– (P 0.00)"]
    assert "reach-shares-self_tuning" not in page.tables  # self-tuning trials are not points
    # No diagnostics yet: the page says how to get them.
    assert "algoperf-lite diagnose" in html and "save_weights=true" in html
    cost_csv = pd.read_csv(site / "tuning_cost.csv")
    assert set(cost_csv["ruleset"]) == {"external_tuning"} and (cost_csv["k"] <= cost_csv["n_points"]).all()
    points = pd.read_csv(site / "sensitivity.csv")
    assert set(points["hyperparameter"]) == {"learning_rate", "weight_decay", "lr"}


def test_above_the_chord() -> None:
    from algoperf_lite.report.analysis import above_chord

    # The chord from 2 (a = 0) to 1 (a = 1) is 1.5 at a = 0.5: a loss of 1.8 there is 0.3 above it;
    # points outside [0, 1] do not count, and a path below its chord gives 0 (its ends).
    entry = {"loss_init": 2.0, "loss_final": 1.0,
             "line": {"alpha": [-0.5, 0.0, 0.5, 1.0], "loss": [9.0, 2.0, 1.8, 1.0]}}
    assert above_chord(entry) == pytest.approx(0.3)
    entry["line"]["loss"] = [9.0, 2.0, 1.2, 1.0]
    assert above_chord(entry) == 0.0
    assert above_chord({"loss_init": None, "loss_final": 1.0}) is None


def test_the_page_says_how_trials_were_measured(tmp_path: Path, site: Path) -> None:
    assert "clock" not in settings_rows(site)  # trials that do not name their clock: nothing guessed
    root = tmp_path / "results"
    make_results_dir(root, {("adamw", "mnist"): [[8.0, 9.0]], ("sgd", "mnist"): [[10.0, 12.0]]})
    specs = sorted(root.glob("*_tuning/*/study_*/*/trial_*/spec.json"))
    for i, path in enumerate(specs):
        spec = json.loads(path.read_text())
        spec.update(clock="cpu" if i else "wall", time_resolution=0.02, common_random_numbers=True)
        path.write_text(json.dumps(spec))
        outcome = json.loads((path.parent / "outcome.json").read_text())
        outcome["core_wait_share"] = 0.3 if i == 0 else 0.01
        (path.parent / "outcome.json").write_text(json.dumps(outcome))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        assert report_command(root, None) == 0
    rows = settings_rows(root)
    assert rows["clock"].startswith("cpu: the CPU seconds") and f"({len(specs) - 1} trials)" in rows["clock"]
    assert "wall: wall time" in rows["clock"] and "(1 trials)" in rows["clock"]
    assert rows["time-to-target resolution"].startswith("to within 2%: checkpoints every 2%")
    assert rows["common random numbers"].startswith("yes")
    assert rows["cores shared"].startswith("trials waited for a core 1.0% of their time (median; most 30.0%)")
    assert "1 trial(s) waited over 5%" in rows["cores shared"]


def settings_rows(results: Path) -> dict[str, str]:
    page = Page((results / "leaderboard.html").read_text(encoding="utf-8"))
    return {name: value for name, value in page.tables["settings"]}
