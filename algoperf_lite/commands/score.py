"""``algoperf-lite score``: score a results directory, a CSV of trial outcomes or AlgoPerf's
logs; print the table and write the score CSVs next to the input. No torch: old results
are rescored anywhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from rich.table import Table
from rich.text import Text

from algoperf_lite.console import stderr_console, stdout_console, warnings_as_lines
from algoperf_lite.results import OUTPUT_FILES, algoperf_output_dir
from algoperf_lite.scoring import ScoreResult, ScoreSettings, ScoringError, ScoringWarning, TrialSet, compute_scores
from algoperf_lite.scoring.algoperf_logs import DEFAULT_VERSION
from algoperf_lite.scoring.bootstrap import interval_cells
from algoperf_lite.scoring.odds import COLUMN as ODDS
from algoperf_lite.scoring.odds import odds_cell, workload_column
from algoperf_lite.scoring.results_dir import study_reference
from algoperf_lite.scoring.sensitivity import sensitivity_points
from algoperf_lite.scoring.sources import load_trials
from algoperf_lite.scoring.trial_index import TrialIndex
from algoperf_lite.scoring.tuning_cost import tuning_cost


def write_tables(result: ScoreResult, trialset: TrialSet, out_dir: Path) -> list[Path]:
    """scores.csv (ranked, with intervals and odds), time_to_target.csv, performance_profiles.csv;
    tuning_cost.csv and, for a results directory, sensitivity.csv (the tuning analyses)."""
    s = result.settings
    scores = result.scores.assign(metric=s.metric, integral=s.integral, max_tau=s.max_tau)
    tables = [scores, result.times, result.profiles, tuning_cost(trialset.trials)]
    if "path" in trialset.trials:  # the trials' records are there to read their points from
        tables.append(sensitivity_points(TrialIndex(trialset.trials)))
    paths = [out_dir / name for name in OUTPUT_FILES[: len(tables)]]
    for frame, path in zip(tables, paths):
        frame.to_csv(path, index=False)
    return paths


def algoperf_summary(trialset: TrialSet, targets: str | Path, trial_selection: str) -> str:
    """One line on what AlgoPerf logs were scored against."""
    bench = trialset.benchmark
    held_out = f", {len(bench.variants)} held-out variants" if bench.variants else ", no held-out variants"
    pick = ("AlgoPerf's pick: the trial that reached the target at the earliest eval" if trial_selection == "first_eval"
            else "the fastest trial that reached the target")
    return (f"AlgoPerf logs {trialset.source}: {len(trialset.trials)} trials, {targets} targets, "
            f"{len(bench.workloads)} workloads{held_out}; per study {pick}")


def scores_table(result: ScoreResult, ruleset: str) -> Table:
    s = result.settings
    how = "100-point trapezoid" if s.integral == "trapezoid" else "exact integral"
    table = Table(title=f"{ruleset}: score on {s.metric} to target (r_max {s.max_tau:g}, {how})")
    board = result.scores[result.scores["ruleset"] == ruleset]
    has_ci, has_speedup, has_odds = "score_low" in board, "speedup" in board, ODDS in board
    for name in ("rank", "submission", "score", *([f"{s.level:.0%} interval", "ranks"] if has_ci else []),
                 "reached", *(["speedup"] if has_speedup else []), *(["P(beats ref)"] if has_odds else [])):
        table.add_column(name, justify="left" if name == "submission" else "right")
    for r in board.itertuples(index=False):
        cells = [str(r.rank), Text(r.submission), f"{r.score:.4f}"]  # Text: names are not rich markup
        if has_ci:
            cells += interval_cells(r)
        cells.append(f"{r.reached}/{r.num_workloads}")
        if has_speedup:
            cells.append("–" if not np.isfinite(r.speedup) else f"{r.speedup:.2f}× ({r.speedup_workloads})")
        if has_odds:
            cells.append(odds_cell(getattr(r, ODDS), r.odds_note))
        table.add_row(*cells)
    return table


def odds_table(result: ScoreResult, ruleset: str) -> Table | None:
    """Per workload, each submission's probability of beating the reference (None without one)."""
    board = result.scores[result.scores["ruleset"] == ruleset]
    if ODDS not in board:
        return None
    workloads = list(result.benchmark.workloads)
    table = Table(title=Text(f"{ruleset}: P(beats {result.settings.reference}) per workload"))
    for name in ("submission", "overall", *workloads):
        table.add_column(name, justify="left" if name == "submission" else "right")
    for r in board.to_dict("records"):
        table.add_row(Text(r["submission"]), odds_cell(r[ODDS], r["odds_note"]),
                      *(odds_cell(r[workload_column(w)], r["odds_note"]) for w in workloads))
    return table


def score_command(
    results_dir: Path | None,
    times_csv: Path | None,
    max_tau: float = 4.0,
    integral: str = "trapezoid",
    strict: bool = False,
    reference: str | None = None,
    metric: str = "time",
    trial_selection: str | None = None,
    algoperf_dir: Path | None = None,
    targets: str | Path | None = None,
) -> int:
    """Score a results directory, a CSV of trial outcomes or an AlgoPerf logs directory (one
    of them); print the table, write the CSVs next to the input (AlgoPerf logs: into
    ``<DIR>_scores/`` beside them).

    ``trial_selection`` None: the source's own pick (:attr:`TrialSet.trial_selection`): the
    fastest trial per study (the rules), AlgoPerf's first-eval pick for AlgoPerf logs (the
    pick their published leaderboards were computed with)."""
    out, err = stdout_console(soft_wrap=False), stderr_console()
    trialset = load_trials(results_dir, times_csv, algoperf_dir, targets)
    if times_csv and Path(times_csv).name in OUTPUT_FILES:
        raise ScoringError(f"{times_csv}: scoring writes {', '.join(OUTPUT_FILES)} next to its input "
                           "and would overwrite it; rename the input file")
    settings = ScoreSettings(metric=metric, max_tau=max_tau, integral=integral, reference=reference,
                             trial_selection=trial_selection or trialset.trial_selection)
    if algoperf_dir is not None:
        out_dir = algoperf_output_dir(Path(algoperf_dir))
        out.print(Text(algoperf_summary(trialset, targets or DEFAULT_VERSION, settings.trial_selection)))
    else:
        out_dir = Path(results_dir) if results_dir else Path(times_csv).parent
        if reference is None and results_dir is not None:
            settings = dataclasses.replace(settings, reference=study_reference(Path(results_dir), trialset.trials))
    for line in trialset.info:
        err.print(Text(f"note: {line}"))
    with warnings_as_lines(err, ScoringWarning):
        result = compute_scores(trialset, settings, strict)
    for ruleset in result.scores["ruleset"].unique():
        out.print(scores_table(result, ruleset))
        odds = odds_table(result, ruleset)
        if odds is not None:
            out.print(odds)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_tables(result, trialset, out_dir)
    out.print(Text("wrote " + ", ".join(str(p) for p in paths)))
    return 0
