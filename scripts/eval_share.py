"""How much of each trial's wall time went to evaluation, per workload, from a results
directory, and how finely the evals and checkpoints resolved the times to target.

    python scripts/eval_share.py results/quickstart_external

The resolution of a reached trial is (t - t0) / t, with t its time to target and t0 the
latest evaluated point before it (an eval or a checkpoint that did not reach the target):
the crossing is known to lie between them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def eval_shares(results_dir: Path) -> pd.DataFrame:
    rows = []
    for outcome_file in sorted(results_dir.glob("*/*/study_*/*/trial_*/outcome.json")):
        trial = outcome_file.parent
        outcome = json.loads(outcome_file.read_text())
        if not (trial / "evals.csv").is_file() or not outcome.get("wall_time"):
            continue
        evals = pd.read_csv(trial / "evals.csv")
        t = outcome.get("time_to_target")
        before = evals["submission_time"][evals["submission_time"] < t] if t else ()
        rows.append({"workload": trial.parent.name, "evals": len(evals),
                     "eval_sec": evals["eval_time"].sum(), "wall_sec": outcome["wall_time"],
                     "resolution": (t - before.max()) / t if len(before) else float("nan")})
    table = pd.DataFrame(rows, columns=["workload", "evals", "eval_sec", "wall_sec", "resolution"])
    table["share"] = table["eval_sec"] / table["wall_sec"]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    table = eval_shares(parser.parse_args(argv).results_dir)
    if table.empty:
        print("no finished trials with evals found", file=sys.stderr)
        return 1
    summary = table.groupby("workload").agg(trials=("share", "size"), evals_per_trial=("evals", "median"),
                                            median_share=("share", "median"), max_share=("share", "max"),
                                            median_resolution=("resolution", "median"),
                                            max_resolution=("resolution", "max"))
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
