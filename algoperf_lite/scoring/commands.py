"""`algoperf-lite score` and `algoperf-lite report`: what the CLI calls (it only parses flags).

Both raise ScoringError for input they cannot use; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import ScoringError, ScoringWarning
from .odds import COLUMN as ODDS
from .odds import workload_column
from .pipeline import ScoreResult, ScoreSettings, compute_scores
from .results_dir import study_reference
from .sensitivity import sensitivity_points
from .trial_index import TrialIndex
from .tuning_cost import tuning_cost
from .algoperf_logs import DEFAULT_VERSION, read_algoperf_logs
from .trials import TrialSet, load_trials

OUTPUT_FILES = ("scores.csv", "time_to_target.csv", "performance_profiles.csv", "tuning_cost.csv", "sensitivity.csv")


def _consoles() -> tuple[Console, Console]:
    """stdout for tables (160 columns when piped to a log, like the CLI's), stderr for warnings
    (never wrapped: a warning is one line to grep)."""
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    return out, Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _warnings_to(console: Console) -> Iterator[None]:
    """Show scoring warnings as readable lines on stderr instead of Python's warning format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScoringWarning)
        yield
    for w in caught:
        if issubclass(w.category, ScoringWarning):
            console.print(Text(f"warning: {w.message}", style="yellow"))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


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


def algoperf_output_dir(logs_dir: Path) -> Path:
    """Where scoring AlgoPerf logs writes: beside them, never inside (AlgoPerf's scorer takes every
    entry of a logs folder for a submission)."""
    logs_dir = Path(logs_dir).resolve()
    return logs_dir.parent / f"{logs_dir.name}_scores"


def algoperf_summary(trialset: TrialSet, targets: str | Path, trial_selection: str) -> str:
    """One line on what AlgoPerf logs were scored against."""
    bench = trialset.benchmark
    held_out = f", {len(bench.variants)} held-out variants" if bench.variants else ", no held-out variants"
    pick = ("AlgoPerf's pick: the trial that reached the target at the earliest eval" if trial_selection == "first_eval"
            else "the fastest trial that reached the target")
    return (f"AlgoPerf logs {trialset.source}: {len(trialset.trials)} trials, {targets} targets, "
            f"{len(bench.workloads)} workloads{held_out}; per study {pick}")


def interval_cells(row: Any) -> list[str]:
    """The score interval and rank range of one scores row, or its note where there is none
    (a submission with a cell of 1 study: "n/a: 1 study")."""
    if not hasattr(row, "score_low"):  # scored without intervals (n_boot 0)
        return ["–", "–"]
    if getattr(row, "interval_note", "") or np.isnan(row.score_low):
        return [row.interval_note or "n/a", "n/a"]
    ranks = str(row.rank_low) if row.rank_low == row.rank_high else f"{row.rank_low}–{row.rank_high}"
    return [f"{row.score_low:.4f} – {row.score_high:.4f}", ranks]


def odds_cell(probability: float, note: str) -> str:
    """A probability of beating the reference, or why there is none ("reference", "n/a: 1 study")."""
    return note if note else ("–" if np.isnan(probability) else f"{probability:.2f}")


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
    """Score a results directory, a CSV of trial outcomes or an AlgoPerf logs directory; print the
    table, write the CSVs next to the input (AlgoPerf logs: into `<DIR>_scores/` beside them).

    `trial_selection` None: the fastest trial per study (rules.md), AlgoPerf's first-eval pick for
    AlgoPerf logs (the pick their published leaderboards were computed with)."""
    out, err = _consoles()
    if algoperf_dir is not None:
        trialset = read_algoperf_logs(Path(algoperf_dir), targets or DEFAULT_VERSION)
        out_dir = algoperf_output_dir(Path(algoperf_dir))
        trial_selection = trial_selection or "first_eval"
        out.print(Text(algoperf_summary(trialset, targets or DEFAULT_VERSION, trial_selection)))
    else:
        if targets is not None:
            raise ScoringError("--targets applies to AlgoPerf logs (--algoperf DIR) only")
        trialset = load_trials(Path(results_dir) if results_dir else None, Path(times_csv) if times_csv else None)
        out_dir = Path(results_dir) if results_dir else Path(times_csv).parent
        if reference is None and results_dir is not None:
            reference = study_reference(Path(results_dir), trialset.trials)
    settings = ScoreSettings(metric=metric, max_tau=max_tau, integral=integral, reference=reference,
                             trial_selection=trial_selection or "fastest")
    for line in trialset.info:
        err.print(Text(f"note: {line}"))
    if times_csv and Path(times_csv).name in OUTPUT_FILES:
        raise ScoringError(f"{times_csv}: scoring writes {', '.join(OUTPUT_FILES)} next to its input "
                           "and would overwrite it; rename the input file")
    with _warnings_to(err):
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


def report_command(results_dir: Path | None, output: Path | None = None, algoperf_dir: Path | None = None,
                   targets: str | Path | None = None) -> int:
    """Write the leaderboard page (default RESULTS_DIR/leaderboard.html, for AlgoPerf logs
    DIR_scores/leaderboard.html) and its figures."""
    from algoperf_lite.report import write_leaderboard  # matplotlib and jinja2 only when asked

    out, err = _consoles()
    if algoperf_dir is not None:
        output = Path(output) if output else algoperf_output_dir(Path(algoperf_dir)) / "leaderboard.html"
        source, targets = Path(algoperf_dir), targets or DEFAULT_VERSION
    elif targets is not None:
        raise ScoringError("--targets applies to AlgoPerf logs (--algoperf DIR) only")
    else:
        source = Path(results_dir)
    with _warnings_to(err):
        path = write_leaderboard(source, Path(output) if output else None, algoperf_targets=targets)
    out.print(Text(f"wrote {path}"))
    return 0
