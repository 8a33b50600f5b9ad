"""Odds against the reference: the probability that a submission beats the study's reference
submission, overall (a higher score) and per workload (a shorter time to target).

The uncertainty is the one the score intervals bracket (bootstrap.py): which studies (seeds and
hyperparameter points) happened to be run. Each replicate resamples every cell's studies with
replacement, jittered in log time as the intervals are (Silverman's bandwidth on the pooled
within-cell spread; not reached stays not reached), and takes the medians again; the probability
is the share of replicates in which the submission beats the reference, a tie counting half
(both not reached on a workload, or equal scores).

Paired where the design pairs trials: when every cell that ran holds the same study indices (the
regular plan; trial i of study k of every submission then shares its study's seeds), a replicate
draws one list of study indices for the whole table, so a study that went well for everyone moves
the submission and the reference together. Otherwise each cell draws its own, as the intervals do.

Calibration (`python tests/test_scoring_odds.py 1000 400`: 1000 simulated benchmarks, 400
replicates; tests/ holds the same simulation, smaller and seeded): the scenarios of the interval
check, the first submission the reference. A 95% statement is a probability >= 0.95 (s beats the
reference) or <= 0.05 (the reference beats s); it is wrong when the population's medians (per
workload) or scores (overall) say otherwise.
- Identically distributed submissions (4x5 and 2x4, 3 or 5 studies, paired or not): the mean
  probability is 0.494-0.510; a 95% statement in either one direction is made in at most 3.6% of
  benchmarks per workload and 2.6% overall (5.7% counting both directions together, at worst).
- Distinct submissions (with failures, mixed noise, noisy): for every comparison, a wrong 95%
  statement is made in at most 4.5% of benchmarks, except one stated limit. A cell whose target is
  reached in the population median but missed in 40% of its studies misses it in all 3 studies
  6.4% of the time; no method can then tell, and the odds say the reference wins (wrong in 6.5-6.9%
  of benchmarks for that comparison; with 5 studies at most 4.4%).
- A study effect shared across submissions (common random numbers, correlation 0.6): pairing
  makes 95% statements more often where they are right (distinct scenario, 3 studies, the most
  decided comparisons per workload: "beats" in 38% and "loses" in 75% of benchmarks, against 27%
  and 63% unpaired) and no more often where they are wrong. The jitter is drawn per cell, so on
  identical submissions with a shared effect the paired odds are conservative (95% statements in
  under 1.1% of benchmarks).

A submission with a cell of one study (or the reference with one) gets no number: "n/a: 1 study".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .bootstrap import CHUNK_CELLS, log_bandwidth, resampled_medians

TableFn = Callable[[np.ndarray], np.ndarray]  # (..., S, W) medians -> (..., S, W') counted times
ScoreOf = Callable[[np.ndarray], np.ndarray]  # (..., S, W') counted times -> (..., S) scores

COLUMN = "p_beats_reference"
ODDS_NOTE = (
    "P(beats reference): the share of resampled benchmarks (studies drawn again with replacement, as for the "
    "intervals) in which the submission's score is higher than the reference's (per workload: its time to target "
    "shorter; ties count half). In simulation, on identically distributed submissions it averages 0.5 and makes a "
    "95% statement either way (>= 0.95, or <= 0.05) in at most 3.6% of benchmarks; on distinct ones a wrong 95% "
    "statement is made in at most 4.5% of benchmarks, except where a submission missed its target in all 3 studies "
    "but would reach it in most (up to 7%). n/a: 1 study: a cell of one study has no number."
)


def workload_column(workload: str) -> str:
    """The scores.csv column of the per-workload probability."""
    return f"{COLUMN}/{workload}"


def odds_cell(probability: float, note: str) -> str:
    """A probability of beating the reference as text, or why there is none ("reference", "n/a: 1 study")."""
    return note if note else ("–" if np.isnan(probability) else f"{probability:.2f}")


def _beats(mine: np.ndarray, theirs: np.ndarray, larger_wins: bool) -> np.ndarray:
    """1 where ``mine`` wins, 0.5 on a tie, 0 where it loses."""
    wins = mine > theirs if larger_wins else mine < theirs
    return wins + 0.5 * (mine == theirs)


def beat_probabilities(values: np.ndarray, counts: np.ndarray, reference: int, counted: TableFn,
                       score_of: ScoreOf, n_boot: int, rng: np.random.Generator, paired: bool = False,
                       smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For study values (..., S, W, K) with counts (..., S, W): the probability that each submission's
    score beats row ``reference``'s, (..., S), and that its counted time on each workload does,
    (..., S, W'). Leading axes are independent benchmarks (the simulation scores many at once)."""
    counts = np.broadcast_to(counts, values.shape[:-1])
    bandwidth = log_bandwidth(values, counts) if smooth else None
    chunk = max(1, CHUNK_CELLS // max(1, values.size))
    overall, per_workload = 0.0, 0.0
    for start in range(0, n_boot, chunk):
        n = min(chunk, n_boot - start)
        times = counted(resampled_medians(values, counts, n, rng, bandwidth, paired))
        scores = score_of(times)
        overall = overall + _beats(scores, scores[..., reference, None], larger_wins=True).sum(axis=0)
        per_workload = per_workload + _beats(times, times[..., reference, None, :], larger_wins=False).sum(axis=0)
    return overall / n_boot, per_workload / n_boot


def study_values(picks: pd.DataFrame, submissions: list[str], workloads: list[str]
                 ) -> tuple[np.ndarray, np.ndarray, bool]:
    """(S, W, K) per-study values, (S, W) counts, and whether the design pairs them: every cell
    that ran holds the same study labels (then column k is study label k in every cell).
    Otherwise each cell's values come first in study order, padded with inf."""
    by_cell = {key: group.sort_values("study") for key, group in picks.groupby(["submission", "workload"])}
    labels = {tuple(g["study"]) for g in by_cell.values()}
    paired = len(labels) == 1
    K = max((len(g) for g in by_cell.values()), default=1)
    values = np.full((len(submissions), len(workloads), K), np.inf)
    counts = np.zeros((len(submissions), len(workloads)), dtype=int)
    for s, sub in enumerate(submissions):
        for w, workload in enumerate(workloads):
            group = by_cell.get((sub, workload))
            if group is not None:
                values[s, w, : len(group)] = group["value"].to_numpy(float)
                counts[s, w] = len(group)
    return values, counts, paired


def odds_against_reference(picks: pd.DataFrame, submissions: list[str], workloads: list[str], scored: list[str],
                           reference: str, counted: TableFn, score_of: ScoreOf, n_boot: int, seed: int
                           ) -> pd.DataFrame:
    """One row per submission: ``p_beats_reference``, ``p_beats_reference/<w>`` for each scored
    workload, ``odds_note`` ("" | "reference" | "n/a: 1 study") and ``odds_paired``.

    ``picks``: one ruleset's study picks (submission, workload, study, value); ``workloads`` the
    table's columns (variants included, for ``counted``), ``scored`` the columns it returns."""
    values, counts, paired = study_values(picks, submissions, workloads)
    ref = submissions.index(reference)
    overall, per_workload = beat_probabilities(values, counts, ref, counted, score_of, n_boot,
                                               np.random.default_rng(seed), paired)
    ran = np.where(counts > 0, counts, np.iinfo(int).max)
    fewest = np.minimum(ran.min(axis=1), ran[ref].min())  # the submission's cells and the reference's
    one_study = fewest < 2
    cell_one_study = np.minimum(ran, ran[ref])[:, : len(scored)] < 2
    table = pd.DataFrame({"submission": submissions, COLUMN: np.where(one_study, np.nan, overall)})
    for w, workload in enumerate(scored):
        table[workload_column(workload)] = np.where(cell_one_study[:, w], np.nan, per_workload[:, w])
    is_ref = np.arange(len(submissions)) == ref
    table.loc[is_ref, [COLUMN, *map(workload_column, scored)]] = np.nan
    table["odds_note"] = np.where(is_ref, "reference", np.where(one_study, "n/a: 1 study", ""))
    table["odds_paired"] = paired
    return table
