"""Write the AlgoPerf v0.5 test fixtures from its public leaderboard logs, through the same reader
that `algoperf-lite score --algoperf` uses. Run once to (re)make them; the logs are never copied:

    python scripts/algoperf_v05_fixtures.py PATH/TO/submissions_algorithms/previous_leaderboards/algoperf_v05/logs

Writes, in algoperf-lite's trial-table form (ruleset `external` or `self`, as in spec.json):

- `algoperf_v05_trials.csv`: one row per trial with the time (AlgoPerf's `score` column) and
  step of the first eval reaching the v0.5 target, and `eval_index`, that eval's 0-based
  position, which AlgoPerf used to pick a study's trial (docs/rules.md, "What differs from AlgoPerf", 2).
- `algoperf_v05_workload_times.csv`: AlgoPerf's own per-workload times: per study its pick
  (smallest eval index, ties by least time), then the median over studies.

Times are rounded to 1 ms, which changes no published digit.
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import pandas as pd

from algoperf_lite.scoring import ScoringWarning
from algoperf_lite.scoring.algoperf_logs import read_algoperf_logs
from algoperf_lite.scoring.time_to_target import study_picks, workload_medians

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def fmt(x: float) -> str:
    return "" if math.isinf(x) else f"{x:.3f}".rstrip("0").rstrip(".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", type=Path, help="previous_leaderboards/algoperf_v05/logs of submissions_algorithms")
    parser.add_argument("--out-dir", type=Path, default=FIXTURES)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)  # the logs are irregular; the tests check how
        trials = read_algoperf_logs(args.logs, "v0.5").trials
    trials = trials.assign(ruleset=trials["ruleset"].str.removesuffix("_tuning"))
    key = ["ruleset", "submission", "workload", "study", "trial"]
    trials = trials.sort_values(key, kind="stable")

    out = trials[[*key[:3], "variant_of", *key[3:], "time_to_target", "steps_to_target", "eval_index"]].copy()
    for column in ("time_to_target", "steps_to_target"):
        out[column] = out[column].map(fmt)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out_dir / "algoperf_v05_trials.csv", index=False, lineterminator="\n")

    medians = workload_medians(study_picks(trials, "time_to_target", "first_eval"))
    times = pd.DataFrame({
        "ruleset": medians["ruleset"], "submission": medians["submission"], "workload": medians["workload"],
        "variant_of": medians["variant_of"], "study": 0, "trial": 0, "time_to_target": medians["value"].map(fmt),
    })
    times.to_csv(args.out_dir / "algoperf_v05_workload_times.csv", index=False, lineterminator="\n")
    print(f"{len(trials)} trials from {args.logs} -> {args.out_dir}")


if __name__ == "__main__":
    main()
