"""Why a submission is fast or slow on a workload: time to target decomposed into steps
to target (how far it has to go) and the cost of a step (how fast it goes), with the
memory its state takes. Read from the trials' outcomes (results directories written by
algoperf-lite; AlgoPerf's logs do not record them).

- steps to target: median over studies of the picked trial's (machine-independent; it
  depends on the batch size);
- step time: median over the cell's trials of submission time per step (this machine's);
- step cost: that over the reference submission's on the same workload (a ratio, so
  mostly machine-independent: it compares two optimizers' steps on one machine);
- optimizer state: bytes of the tensors its state holds beyond the model (machine-independent);
- peak device memory: on a GPU only (machine-dependent)."""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOME_COLUMNS = ("mean_step_sec", "optimizer_state_bytes", "peak_memory_bytes")
CELL = ["ruleset", "submission", "workload"]


def has_decomposition(trials: pd.DataFrame) -> bool:
    return "mean_step_sec" in trials and trials["mean_step_sec"].notna().any()


def decomposition(trials: pd.DataFrame, picks: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """One row per (ruleset, submission, workload); see the module's docstring."""
    medians = trials.groupby(CELL)[list(OUTCOME_COLUMNS)].median()
    picked = picks.dropna(subset=["trial"]).merge(
        trials[[*CELL, "study", "trial", "steps_to_target"]], on=[*CELL, "study", "trial"], how="left")
    steps = picks[[*CELL, "study"]].merge(picked[[*CELL, "study", "steps_to_target"]], on=[*CELL, "study"],
                                          how="left").fillna({"steps_to_target": np.inf})
    out = medians.join(steps.groupby(CELL)["steps_to_target"].median()).reset_index()
    if reference is not None:
        base = out[out["submission"] == reference].set_index(["ruleset", "workload"])["mean_step_sec"]
        out["step_cost"] = out["mean_step_sec"] / out.set_index(["ruleset", "workload"]).index.map(base)
    else:
        out["step_cost"] = np.nan
    return out[[*CELL, "steps_to_target", "mean_step_sec", "step_cost", *OUTCOME_COLUMNS[1:]]]
