"""Irregular input: counted, described, and either warned about or (strict) refused.

AlgoPerf v0.5's own logs have studies with 1 to 4 trials instead of 5, workloads with 3 or 4
studies, and submissions missing whole workloads; docs/rules.md asks to score what is there.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .errors import ScoringError, ScoringWarning
from .trials import Benchmark, most_common


def _examples(items: list[str], shown: int = 3) -> str:
    more = f", and {len(items) - shown} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more


def find_irregularities(trials: pd.DataFrame, benchmark: Benchmark) -> list[str]:
    """One message per kind of irregularity and ruleset (odd counts, missing workloads)."""
    messages = []
    expected_workloads = set(benchmark.workloads) | set(benchmark.variants)
    for ruleset, group in trials.groupby("ruleset", sort=True):
        per_study = group.groupby(["submission", "workload", "study"]).size()
        want = 1 if ruleset == "self_tuning" else benchmark.num_trials or most_common(per_study.tolist())
        odd = per_study[per_study != want]
        if len(odd):
            items = [f"{s}/{w}/study {k}: {n}" for (s, w, k), n in odd.items()]
            messages.append(f"{ruleset}: {len(odd)} of {len(per_study)} studies have a trial count "
                            f"other than {want} ({_examples(items)})")
        per_workload = group.groupby(["submission", "workload"])["study"].nunique()
        want = benchmark.num_studies or most_common(per_workload.tolist())
        odd = per_workload[per_workload != want]
        if len(odd):
            items = [f"{s}/{w}: {n}" for (s, w), n in odd.items()]
            messages.append(f"{ruleset}: {len(odd)} of {len(per_workload)} workload runs have a study "
                            f"count other than {want} ({_examples(items)})")
        missing = []
        for submission, runs in group.groupby("submission", sort=True):
            absent = sorted(expected_workloads - set(runs["workload"]))
            if absent:
                missing.append(f"{submission}: {', '.join(absent)}")
        if missing:
            messages.append(f"{ruleset}: {len(missing)} submission(s) have no trials on some workloads, "
                            f"scored as not reached ({_examples(missing)})")
    return messages


def enforce(messages: list[str], strict: bool) -> None:
    """Strict: one ScoringError naming everything. Otherwise one ScoringWarning per message."""
    if strict and messages:
        raise ScoringError("irregular input (strict mode): " + " | ".join(messages))
    for message in messages:
        warnings.warn(message, ScoringWarning, stacklevel=3)
