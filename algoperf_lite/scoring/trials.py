"""The trial table: one row per finished trial, whatever source it was read from
(:mod:`algoperf_lite.scoring.sources`).

Columns after `normalize_trials`: `ruleset` (`external_tuning` or `self_tuning`), `submission`,
`workload`, `variant_of` (the base workload of a held-out variant, else ""), `study`, `trial`,
`time_to_target` and `steps_to_target` (float, `inf` when the target was not reached),
`eval_index` (0-based eval at which the target was reached, -1 if not or unknown), `status`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ScoringError

REQUIRED_COLUMNS = ("submission", "workload", "study", "trial", "time_to_target")
RULESETS = {
    "external": "external_tuning", "external_tuning": "external_tuning",
    "self": "self_tuning", "self_tuning": "self_tuning",
}
# Spellings of "not reached" in a CSV cell; AlgoPerf writes inf, outcome.json writes null.
_NOT_REACHED = {"", "inf", "+inf", "infinity", "+infinity", "nan", "none", "null"}


@dataclass(frozen=True)
class Benchmark:
    """What a set of trials is scored against.

    `workloads` are the scored workloads, the denominator of rho: one a submission did not run
    counts as failed. `variants` maps each held-out variant to its base workload (empty: held-out
    rules off). `num_studies` / `num_trials` are the ruleset's expected counts (trials per
    external-tuning study; self-tuning studies always have one); None means "the most common
    count in the data", so a CSV without a config still gets its odd cells flagged.
    """

    workloads: tuple[str, ...]
    variants: dict[str, str] = field(default_factory=dict)
    num_studies: int | None = None
    num_trials: int | None = None


@dataclass
class TrialSet:
    """A normalized trial table, the benchmark it belongs to, and where it came from."""

    trials: pd.DataFrame
    benchmark: Benchmark
    source: Path
    notes: list[str] = field(default_factory=list)  # irregularities found while reading
    info: list[str] = field(default_factory=list)  # what was left out by rule, not an irregularity
    # The per-study pick it is scored with unless told otherwise: the fastest trial (the
    # rules), or AlgoPerf's first-eval pick for its logs (their leaderboards' pick).
    trial_selection: str = "fastest"


def parse_times(values: pd.Series, column: str) -> np.ndarray:
    """Floats from CSV cells or numbers; every spelling of 'not reached' becomes inf."""
    if pd.api.types.is_numeric_dtype(values):
        out = values.to_numpy(dtype=float, copy=True)
    else:
        text = values.fillna("").astype(str).str.strip()
        missing = text.str.lower().isin(_NOT_REACHED)
        out = pd.to_numeric(text.where(~missing, "inf"), errors="coerce").to_numpy(dtype=float, copy=True)
        bad = np.isnan(out) & ~missing.to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)[:3]
            examples = ", ".join(f"row {i + 1}: {text.iloc[i]!r}" for i in rows)
            raise ScoringError(f"column {column!r} has values that are not numbers ({examples})")
    out[np.isnan(out)] = np.inf
    if (out <= 0).any():
        i = int(np.flatnonzero(out <= 0)[0])
        raise ScoringError(f"column {column!r} must be positive or empty (row {i + 1}: {out[i]})")
    return out


def _labels(values: pd.Series) -> pd.Series:
    """Study and trial labels: integers when they all are (so 10 sorts after 9), else strings."""
    text = values.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all() and (numeric == numeric.round()).all():
        return numeric.astype(int)
    return text


def normalize_trials(df: pd.DataFrame, source: str = "input") -> pd.DataFrame:
    """Check a raw trial table and bring it to the canonical columns (see module doc)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ScoringError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"a trial table needs {', '.join(REQUIRED_COLUMNS)}"
        )
    if df.empty:
        raise ScoringError(f"{source}: no trials (the table has a header but no rows)")
    out = pd.DataFrame(index=df.index)
    rulesets = df["ruleset"] if "ruleset" in df.columns else pd.Series("external", index=df.index)
    rulesets = rulesets.fillna("external").astype(str).str.strip().replace("", "external")
    unknown = sorted(set(rulesets) - set(RULESETS))
    if unknown:
        raise ScoringError(f"{source}: unknown ruleset(s) {unknown}; use 'external' or 'self'")
    out["ruleset"] = rulesets.map(RULESETS)
    for column in ("submission", "workload"):
        names = df[column].fillna("").astype(str)
        if (names.str.strip() == "").any():
            raise ScoringError(f"{source}: column {column!r} has empty cells")
        out[column] = names
    out["variant_of"] = df["variant_of"].fillna("").astype(str).str.strip() if "variant_of" in df else ""
    out["study"] = _labels(df["study"])
    out["trial"] = _labels(df["trial"])
    out["time_to_target"] = parse_times(df["time_to_target"], "time_to_target")
    out["steps_to_target"] = (
        parse_times(df["steps_to_target"], "steps_to_target") if "steps_to_target" in df else np.nan
    )
    if "eval_index" in df:
        out["eval_index"] = pd.to_numeric(df["eval_index"], errors="coerce").fillna(-1).astype(int)
    else:
        out["eval_index"] = -1
    out["status"] = df["status"].fillna("").astype(str) if "status" in df else ""
    for extra in df.columns.difference(out.columns):  # keep e.g. a results dir's trial paths
        out[extra] = df[extra]

    key = ["ruleset", "submission", "workload", "study", "trial"]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        first = out.loc[dup, key].iloc[0].tolist()
        raise ScoringError(f"{source}: {int(dup.sum())} rows repeat a trial, e.g. {first}")
    return out.reset_index(drop=True)


def benchmark_from_trials(
    trials: pd.DataFrame,
    workloads: tuple[str, ...] | list[str] = (),
    num_studies: int | None = None,
    num_trials: int | None = None,
) -> Benchmark:
    """The benchmark a table implies: the given workloads plus every base workload seen."""
    variants: dict[str, str] = {}
    marked = trials.loc[trials["variant_of"] != "", ["workload", "variant_of"]].drop_duplicates()
    for workload, base in marked.itertuples(index=False):
        if workload == base:
            raise ScoringError(f"workload {workload!r} is marked a held-out variant of itself")
        if variants.setdefault(workload, base) != base:
            raise ScoringError(f"workload {workload!r} is marked a variant of both {variants[workload]!r} and {base!r}")
    names = list(dict.fromkeys([*workloads, *trials["workload"], *variants.values()]))
    base = tuple(sorted(w for w in names if w not in variants))
    return Benchmark(base, dict(sorted(variants.items())), num_studies, num_trials)


def most_common(counts: list[int]) -> int:
    """The mode of a list of counts (the larger one on a tie): the inferred expectation."""
    tally = Counter(counts)
    return max(tally, key=lambda c: (tally[c], c))
