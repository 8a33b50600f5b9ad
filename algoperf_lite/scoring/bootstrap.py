"""Uncertainty by resampling studies: how much would scores and ranks move with other seeds?

Each (submission, workload) cell resamples its per-study values with replacement (as many as it
has), takes the median again, and the whole table is rescored. Cells resample independently:
each study of each workload is its own seeded run. Seeded, so a report is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def resampled_tables(cells: list[list[np.ndarray]], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, S, W) medians of resampled studies; an empty cell (never run) stays inf."""
    S, W = len(cells), len(cells[0]) if cells else 0
    out = np.full((n_boot, S, W), np.inf)
    for s, row in enumerate(cells):
        for w, values in enumerate(row):
            if len(values):
                draws = rng.integers(0, len(values), size=(n_boot, len(values)))
                out[:, s, w] = np.median(values[draws], axis=1)
    return out


def ranks(scores: np.ndarray) -> np.ndarray:
    """1 + the number of strictly better submissions (ties share the better rank)."""
    return 1 + (scores[..., None, :] > scores[..., :, None]).sum(axis=-1)


def bootstrap_intervals(
    cells: list[list[np.ndarray]],
    score_fn: Callable[[np.ndarray], np.ndarray],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 250,
) -> dict[str, np.ndarray]:
    """Percentile intervals of each submission's score and rank; keys score_low/high, rank_low/high."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([
        score_fn(resampled_tables(cells, min(chunk, n_boot - start), rng))
        for start in range(0, n_boot, chunk)  # chunks bound the memory of the profile arrays
    ])
    rank = ranks(scores)
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return {
        "score_low": np.percentile(scores, lo, axis=0),
        "score_high": np.percentile(scores, hi, axis=0),
        "rank_low": np.percentile(rank, lo, axis=0, method="lower").astype(int),
        "rank_high": np.percentile(rank, hi, axis=0, method="higher").astype(int),
    }
