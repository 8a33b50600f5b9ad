"""The leaderboard: one self-contained HTML page from a results directory.

Everything the page shows is computed here and passed to the Jinja2 template as plain strings;
the template autoescapes all of it (submission names and configs are untrusted text) and embeds
the figures as base64 data URIs, so the page loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import jinja2
import numpy as np
import pandas as pd

from algoperf_lite.json_files import UnreadableFile, read_json
from algoperf_lite.results import (ENVIRONMENT_FILE, LEADERBOARD_FILE, SHARED_CORE, inside, plots_dir_of,
                                   read_diagnostics, read_study)
from algoperf_lite.scoring import ScoreResult, ScoreSettings, ScoringWarning, TrialSet, compute_scores
from algoperf_lite.scoring.algoperf_logs import load_rules, read_algoperf_logs, read_evals, trial_spec_reader
from algoperf_lite.scoring.bootstrap import COVERAGE_NOTE, interval_cells
from algoperf_lite.scoring.decomposition import decomposition, has_decomposition
from algoperf_lite.scoring.odds import COLUMN as ODDS
from algoperf_lite.scoring.odds import odds_cell
from algoperf_lite.scoring.results_dir import read_results_dir, study_reference
from algoperf_lite.scoring.sensitivity import reach_shares, sensitivity_points
from algoperf_lite.scoring.trial_index import TrialIndex, best_trial_paths, eval_column
from algoperf_lite.scoring.tuning_cost import tuning_cost

from . import analysis, plots

RULESET_TITLES = {"external_tuning": "External tuning", "self_tuning": "Self-tuning"}
ENV_SHOWN = 6  # distinct values shown per environment key


def fmt_time(v: float) -> str:
    if not np.isfinite(v):
        return "∞"
    return f"{v:,.0f} s" if v >= 1000 else f"{v:.3g} s"


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _safe(name: str) -> str:
    """A file-name-safe form of a workload or ruleset name (figures are also written as files)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]


def search_space(spec: dict, results_dir: Path) -> tuple[str | None, str]:
    """(pretty JSON or None, where it came from): spec's own copy, else the submission
    folder's file, read only if it lies inside ``results_dir``: a spec.json from elsewhere
    names any path it likes, and the page must show nothing from outside its results."""
    if isinstance(spec.get("search_space"), (dict, list)):
        return json.dumps(spec["search_space"], indent=2), "spec.json"
    folder = spec.get("submission_path")
    if not folder:
        return None, "no submission_path in spec.json"
    path = Path(results_dir) / folder / "tuning_search_space.json"
    if not inside(results_dir, path):
        return None, "the submission's folder is outside the results directory: not read"
    if not path.is_file():
        return None, f"{folder}/tuning_search_space.json not found"
    try:
        return json.dumps(read_json(path), indent=2), str(path.relative_to(results_dir))
    except UnreadableFile as e:
        return None, f"{folder}/tuning_search_space.json: {e.reason}"


# Of the installed distributions only these are shown, and any in which the trials differ.
ENV_PACKAGES = ("packages.torch", "packages.algoperf-lite")
ENV_EXPECTED_TO_VARY = ("date", "torch_threads")  # per trial by design, not a different environment


def environment_rows(paths: list[str]) -> tuple[list[tuple[str, str]], str]:
    """Each environment.json key with its distinct values across trials, and a warning
    naming the keys in which the trials' environments differ ("" if they do not)."""
    values: dict[str, Counter] = {}
    for path in paths:
        try:
            env = read_json(Path(path) / ENVIRONMENT_FILE) if (Path(path) / ENVIRONMENT_FILE).exists() else {}
        except UnreadableFile as e:
            env = {}
            warnings.warn(f"{e}: that trial's environment is left out of the page", ScoringWarning, stacklevel=2)
        for key, value in env.items() if isinstance(env, dict) else ():
            items = value.items() if isinstance(value, dict) else [("", value)]
            for sub, v in items:
                name = f"{key}.{sub}" if sub else key
                values.setdefault(name, Counter())[fmt_value(v)] += 1
    if not values:
        return [], ""
    rows, differing = [], []
    for name in sorted(values):
        seen = [v for v, _ in values[name].most_common()]
        varies = len(seen) > 1 or sum(values[name].values()) < len(paths)  # a key some trials lack differs too
        if varies and name.split(".")[0] not in ENV_EXPECTED_TO_VARY:
            differing.append(name)
        if not name.startswith("packages.") or name in ENV_PACKAGES or varies:
            more = f" (+{len(seen) - ENV_SHOWN} more)" if len(seen) > ENV_SHOWN else ""
            rows.append((name, ", ".join(seen[:ENV_SHOWN]) + more))
    flag = (f"The trials ran in different environments: they differ in {', '.join(differing)}. Scores compare "
            f"submissions on one machine and software stack; check these before comparing." if differing else "")
    return rows, flag


def budget_scale_rows(index: TrialIndex, workloads: list[str]) -> list[tuple[str, str]]:
    """How each workload's budget was put in this machine's seconds (budget_scale, from its trials' specs)."""
    rows = []
    for w in workloads:
        source = index.first_spec(workload=w).get("budget_scale_source") or {}
        if not source:
            continue
        factor, method = source.get("factor"), str(source.get("method", "?"))
        text = f"×{factor:.2f}, {method}" if isinstance(factor, (int, float)) else method
        if method == "measured":
            text += (f" {str(source.get('date', ''))[:10]}: {source['steps_per_sec']:.1f} steps/s here "
                     f"({source.get('device_name')}, {source.get('concurrency', 1)} worker(s) at once) against "
                     f"{source['calibration_steps_per_sec']:.1f} on the calibration machine "
                     f"({source.get('calibration_hardware')})")
            if source.get("from_base_workload"):
                text += f"; {source['from_base_workload']}'s speed"
        rows.append((f"budget scale: {w}", text))
    return rows


CLOCK_TEXT = {
    "cpu": "cpu: the CPU seconds of each trial's process (one torch thread) and of the processes it starts; "
           "other programs' turns on the cores are not charged",
    "wall": "wall: wall time, the device synchronized at each reading",
}


def measurement_rows(index: TrialIndex) -> list[tuple[str, str]]:
    """How the trials were measured: their clock, the time-to-target resolution and
    whether submissions shared their random numbers (from every trial's spec; nothing for
    results that do not say, such as AlgoPerf's logs or trials recorded before)."""
    specs = [index.spec(path) for path in index.trials["path"]]
    if not any("clock" in s for s in specs):
        return []

    def tally(values: list, text: Callable[[Any], str]) -> str:
        counts = Counter(values)
        if len(counts) == 1:
            return text(next(iter(counts)))
        return "; ".join(f"{text(v)} ({n} trials)" for v, n in counts.most_common())

    def resolution(r: Any) -> str:
        if not r:
            return "at evals only"
        return (f"to within {r:.0%}: checkpoints every {r:.0%} of the submission time between evals, bisected "
                f"once an eval reaches the target")

    rows = [("clock", tally([s.get("clock") for s in specs], lambda c: CLOCK_TEXT.get(c, str(c)))),
            ("time-to-target resolution", tally([s.get("time_resolution") for s in specs], resolution)),
            ("common random numbers", tally([s.get("common_random_numbers", False) for s in specs],
                                            lambda on: "yes: every submission's trial i of study j on a workload "
                                                       "has the same seed (initial weights, data order)"
                                                       if on else "no: every trial its own seed"))]
    waits = index.trials.get("core_wait_share", pd.Series(dtype=float)).dropna()
    if len(waits):
        shared = int((waits > SHARED_CORE).sum())
        rows.append(("cores shared", f"trials waited for a core {waits.median():.1%} of their time (median; most "
                                     f"{waits.max():.1%})" + (f"; {shared} trial(s) waited over {SHARED_CORE:.0%}: "
                                     f"other programs held their core, and sharing a core costs a trial up to "
                                     f"about 15% in time (docs/repeatability.md)" if shared else "")))
    return rows


def _target_text(target: dict) -> str:
    if not target:
        return "–"
    op = "≥" if target.get("maximize", True) else "≤"
    metric = str(target.get("metric", "?"))
    metric = metric if "/" in metric else f"validation/{metric}"
    return f"{metric} {op} {fmt_value(target.get('value'))}"


@dataclass
class Board:
    """What every section of the page is drawn from."""

    results_dir: Path
    trials: pd.DataFrame
    result: ScoreResult
    steps: ScoreResult | None  # the same scores on steps to target, when steps were recorded
    reference: str | None
    index: TrialIndex
    best: dict[tuple, str]  # (ruleset, submission, workload) -> best trial folder
    plots_dir: Path | None
    info: tuple[str, ...] = ()  # what the reader left out by rule (TrialSet.info)
    points: pd.DataFrame | None = None  # sensitivity points (scoring.sensitivity)
    cost: pd.DataFrame | None = None  # expected best of k points (scoring.tuning_cost)
    diagnostics: dict | None = None  # diagnostics.json (`algoperf-lite diagnose`)

    @property
    def all_workloads(self) -> list[str]:
        return [*self.result.benchmark.workloads, *self.result.benchmark.variants]

    def figure(self, fig, ruleset: str, name: str) -> str:
        """Save a figure (PNG + SVG in plots_dir, if any) and return it as a data URI."""
        stem = self.plots_dir / f"{_safe(ruleset)}_{_safe(name)}" if self.plots_dir else None
        return data_uri(plots.save(fig, stem))


def _ranking_rows(b: Board, ruleset: str) -> list[dict]:
    board = b.result.scores[b.result.scores["ruleset"] == ruleset]
    steps = {}
    if b.steps is not None:
        mine = b.steps.scores[b.steps.scores["ruleset"] == ruleset]
        steps = dict(zip(mine["submission"], mine["score"]))
    rows = []
    for r in board.itertuples(index=False):
        speedup = "–"
        if r.submission == b.reference:
            speedup = "reference"
        elif "speedup" in board.columns and np.isfinite(r.speedup):
            speedup = f"{r.speedup:.2f}× ({r.speedup_workloads})"
        rows.append({
            "rank": int(r.rank), "submission": r.submission, "score": f"{r.score:.4f}",
            "score_raw": repr(float(r.score)), **dict(zip(("interval", "ranks"), interval_cells(r))),
            "reached": f"{r.reached}/{r.num_workloads}",
            "steps_score": f"{steps[r.submission]:.4f}" if r.submission in steps else "–", "speedup": speedup,
            "odds": odds_cell(getattr(r, ODDS), r.odds_note) if ODDS in board else "–",
        })
    return rows


def _cell(t: pd.Series) -> dict:
    """One submission on one workload: its median time, ratio and how many studies reached."""
    if t["num_studies"] == 0:
        return {"text": "not run", "note": "", "css": "fail"}
    note = f"{t['num_reached']}/{t['num_studies']} studies"
    if np.isfinite(t["ratio"]):
        note = f"×{t['ratio']:.2f} · " + note
    elif np.isfinite(t["time_to_target"]) and not np.isfinite(t["counted"]):
        note = "not counted (held-out rule) · " + note
    css = "fail" if not np.isfinite(t["counted"]) else ("best" if t["ratio"] == 1 else "")
    return {"text": fmt_time(t["time_to_target"]), "note": note, "css": css}


def _workload_rows(b: Board, ruleset: str, order: list[str]) -> list[dict]:
    times = b.result.times[b.result.times["ruleset"] == ruleset].set_index(["submission", "workload"])
    rows = []
    for w in b.all_workloads:
        spec = b.index.first_spec(ruleset=ruleset, workload=w)
        budget = spec.get("budget_sec")
        rows.append({
            "workload": w, "variant_of": b.result.benchmark.variants.get(w, ""),
            "target": _target_text(spec.get("target") or {}),
            "budget": fmt_time(float(budget)) if budget else "–",
            "cells": [_cell(times.loc[(sub, w)]) for sub in order],
        })
    return rows


def _curves(b: Board, ruleset: str, order: list[str]) -> list[dict]:
    """Per workload, the validation metric of each submission's best trial against time."""
    curves = []
    for w in b.all_workloads:
        spec = b.index.first_spec(ruleset=ruleset, workload=w)
        target = spec.get("target") or {}
        lines, column = [], None
        for sub in order:
            path = b.best.get((ruleset, sub, w))
            ev = b.index.evals(path) if path else None
            found = eval_column(ev, target.get("metric")) if ev is not None and "submission_time" in ev else None
            if found:
                column = found
                lines.append(plots.Curve(sub, ev["submission_time"].to_numpy(float), ev[found].to_numpy(float),
                                         b.index.time_to_target(path)))
        if lines:
            fig = plots.curves_figure(lines, target.get("value"), column, spec.get("budget_sec"), w)
            curves.append({"workload": w, "image": b.figure(fig, ruleset, f"curves_{w}")})
    return curves


def _details(b: Board, ruleset: str, order: list[str]) -> list[dict]:
    """Per submission: its search space and the hyperparameters of its best trial per workload."""
    details = []
    for sub in order:
        mine = b.trials[(b.trials["ruleset"] == ruleset) & (b.trials["submission"] == sub)]
        spec = b.index.spec(mine["path"].iloc[0])
        space, space_source = search_space(spec, b.results_dir)
        points, keys = [], []
        for w in sorted(mine["workload"].unique()):
            if (ruleset, sub, w) in b.best:
                hp = b.index.spec(b.best[(ruleset, sub, w)]).get("hyperparameters") or {}
                keys += [k for k in hp if k not in keys]
                points.append((w, hp))
        statuses = Counter(mine["status"]).most_common()
        details.append({
            "submission": sub, "search_space": space, "search_space_source": space_source, "hp_keys": keys,
            "hp_rows": [{"workload": w, "cells": [fmt_value(hp[k]) if k in hp else "" for k in keys]}
                        for w, hp in points],
            "statuses": ", ".join(f"{n} {status or 'unknown'}" for status, n in statuses),
            "form": str(spec.get("submission_form", "")),
        })
    return details


def _section(b: Board, ruleset: str) -> dict:
    board = b.result.scores[b.result.scores["ruleset"] == ruleset]
    order = list(board["submission"])
    title = RULESET_TITLES.get(ruleset, ruleset)
    profiles = b.result.profiles[b.result.profiles["ruleset"] == ruleset]
    base = b.result.times[(b.result.times["ruleset"] == ruleset) & (b.result.times["variant_of"] == "")]
    ratios = base.pivot(index="submission", columns="workload", values="ratio").reindex(
        index=order, columns=list(b.result.benchmark.workloads))
    max_tau = b.result.settings.max_tau
    return {
        "id": _safe(ruleset), "title": title, "submissions": order, "ranking": _ranking_rows(b, ruleset),
        "interval_note": COVERAGE_NOTE if "score_low" in board else "",
        "profile_image": b.figure(plots.profile_figure(profiles, order, f"{title}: performance profiles"),
                                  ruleset, "performance_profiles"),
        "heatmap_image": b.figure(plots.ratio_heatmap(ratios, max_tau, f"{title}: time-to-target ratios"),
                                  ruleset, "ratio_heatmap"),
        "workload_rows": _workload_rows(b, ruleset, order), "curves": _curves(b, ruleset, order),
        "details": _details(b, ruleset, order), "decomposition": _decomposition_rows(b, ruleset, order),
        "reference": b.reference, **_analysis(b, ruleset, order),
    }


def _analysis(b: Board, ruleset: str, order: list[str]) -> dict:
    """The odds against the reference, sensitivity, tuning cost and landscape sections of a ruleset."""
    workloads = list(b.result.benchmark.workloads)

    def figure(fig, name: str) -> str:
        return b.figure(fig, ruleset, name)

    budgets = {w: b.index.first_spec(ruleset=ruleset, workload=w).get("budget_sec") for w in b.all_workloads}
    mine = b.trials[b.trials["ruleset"] == ruleset]
    board = b.result.scores[b.result.scores["ruleset"] == ruleset]
    points = b.points[b.points["ruleset"] == ruleset] if b.points is not None else pd.DataFrame()
    cost = b.cost[b.cost["ruleset"] == ruleset] if b.cost is not None else pd.DataFrame()
    return {
        "odds": analysis.odds_section(board, workloads, b.reference),
        "sensitivity": analysis.sensitivity_section(points, reach_shares(mine), order, b.all_workloads, budgets,
                                                    figure) if not points.empty else None,
        "tuning_cost": analysis.tuning_cost_section(cost, order, b.all_workloads, figure),
        "landscape": analysis.landscape_section(b.diagnostics or {}, ruleset, order, b.all_workloads, b.best,
                                                b.results_dir, figure) if b.diagnostics is not None else None,
    }


def fmt_bytes(n: float) -> str:
    if not np.isfinite(n):
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    return ""


def _decomposition_rows(b: Board, ruleset: str, order: list[str]) -> list[dict]:
    """Per workload and submission: steps to target, step time, step cost, state memory."""
    if not has_decomposition(b.trials):
        return []
    table = decomposition(b.trials, b.result.picks, b.reference)
    table = table[table["ruleset"] == ruleset].set_index(["workload", "submission"])
    rows = []
    for w in b.all_workloads:
        for sub in order:
            if (w, sub) not in table.index:
                continue
            r = table.loc[(w, sub)]
            rows.append({
                "workload": w, "submission": sub,
                "steps": "∞" if not np.isfinite(r["steps_to_target"]) else f"{r['steps_to_target']:.0f}",
                "step_time": "–" if not np.isfinite(r["mean_step_sec"]) else f"{r['mean_step_sec'] * 1e3:.3g} ms",
                "step_cost": "–" if not np.isfinite(r["step_cost"]) else f"×{r['step_cost']:.2f}",
                "state": fmt_bytes(r["optimizer_state_bytes"]), "peak": fmt_bytes(r["peak_memory_bytes"]),
            })
    return rows


def _settings(b: Board, study: dict) -> list[tuple[str, str]]:
    s, bench = b.result.settings, b.result.benchmark
    rule = "100-point trapezoid rule (AlgoPerf)" if s.integral == "trapezoid" else "exact step integral"
    rules = b.index.first_spec().get("rules") or study.get("rules") or {}
    return [
        ("score", f"area under the performance profile, r_max = {s.max_tau:g}, {rule}"),
        ("time to target", ("per study the trial that reached the target at the earliest eval (AlgoPerf's pick)"
                            if s.trial_selection == "first_eval" else "per study the fastest trial that reached the target")
         + "; median over studies"),
        ("workloads scored", f"{len(bench.workloads)}: {', '.join(bench.workloads)}"),
        ("held-out variants", ", ".join(f"{v} (guards {w})" for v, w in bench.variants.items()) or "none"),
        ("intervals", f"{s.level:.0%} smoothed bootstrap over studies with a split pivot (see the note under each "
                      f"ranking), {s.n_boot} resamples, seed {s.seed}; none for a submission with a 1-study cell"),
        ("speedup reference", b.reference or "none"),
        ("rule constants", json.dumps(rules, sort_keys=True)),
        *measurement_rows(b.index),
        *budget_scale_rows(b.index, b.all_workloads),
        *[("left out", line) for line in b.info],
    ]


def build_context(results_dir: Path, plots_dir: Path | None = None, n_boot: int = 1000, seed: int = 0,
                  algoperf_targets: str | Path | None = None) -> dict:
    """All the page's content, as strings and data URIs. With `algoperf_targets` (a version or a
    file), `results_dir` is an AlgoPerf logs directory, scored with AlgoPerf's trial pick."""
    trialset: TrialSet
    if algoperf_targets is not None:
        rules = load_rules(algoperf_targets)
        trialset = read_algoperf_logs(results_dir, rules)
        study = {"name": f"AlgoPerf logs {Path(results_dir).resolve().name} ({rules.name} targets)"}
        index = TrialIndex(trialset.trials, trial_spec_reader(rules, trialset.trials), read_evals)
    else:
        trialset = read_results_dir(results_dir)
        study = read_study(results_dir)
        index = TrialIndex(trialset.trials)
    trials, selection = trialset.trials, trialset.trial_selection
    reference = study_reference(results_dir, trials) if algoperf_targets is None else None
    result = compute_scores(trialset, ScoreSettings(reference=reference, n_boot=n_boot, seed=seed,
                                                    trial_selection=selection))
    steps = None
    if trials["steps_to_target"].notna().any():
        with warnings.catch_warnings():  # the same irregularities were just reported
            warnings.simplefilter("ignore", ScoringWarning)
            steps = compute_scores(trialset, ScoreSettings(metric="steps", n_boot=0, trial_selection=selection))
    b = Board(results_dir, trials, result, steps, reference, index,
              best_trial_paths(trials, result.picks, index), plots_dir, tuple(trialset.info),
              sensitivity_points(index), tuning_cost(trials),
              _diagnostics(results_dir) if algoperf_targets is None else None)
    return {
        "title": str(study.get("name") or "algoperf-lite leaderboard"),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": str(results_dir),
        "settings": _settings(b, study),
        "sections": [_section(b, ruleset) for ruleset in result.scores["ruleset"].unique()],
        "issues": result.issues,
        "study_json": json.dumps(study, indent=2, sort_keys=True) if study and algoperf_targets is None else None,
        **dict(zip(("environment", "environment_flag"), environment_rows(list(trials["path"])))),
    }


def _diagnostics(results_dir: Path) -> dict:
    """diagnostics.json; one that cannot be read is said on the page (the rest of it still shows)."""
    try:
        return read_diagnostics(results_dir)
    except UnreadableFile as e:
        return {"unreadable": str(e)}


def render(context: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("algoperf_lite.report", "templates"),
        autoescape=True,  # every string from a submission or config is untrusted
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    return env.get_template("leaderboard.html.j2").render(**context)


def write_leaderboard(results_dir: Path, output: Path | None = None, n_boot: int = 1000, seed: int = 0,
                      algoperf_targets: str | Path | None = None) -> Path:
    """Write the page (default RESULTS_DIR/leaderboard.html) and its figures as PNG + SVG
    in `<page name>_plots/` beside it. Returns the page's path. `algoperf_targets`: see build_context."""
    results_dir = Path(results_dir)
    output = Path(output) if output else results_dir / LEADERBOARD_FILE
    plots_dir = plots_dir_of(output)
    html = render(build_context(results_dir, plots_dir, n_boot, seed, algoperf_targets))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    return output
