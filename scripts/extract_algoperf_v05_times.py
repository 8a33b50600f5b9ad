"""Derive per-trial times to target from AlgoPerf v0.5's public leaderboard logs.

Run once to (re)make the test fixtures; the logs themselves are never copied:

    python scripts/extract_algoperf_v05_times.py PATH/TO/submissions_algorithms [--out-dir tests/fixtures]

PATH is a checkout or a bare git mirror of github.com/mlcommons/submissions_algorithms.
Reads `previous_leaderboards/algoperf_v05/logs/<ruleset>/<submission>/study_<k>/
<workload>_<framework>/trial_<i>/eval_measurements.csv` and the v0.5 targets in
`scoring/workload_targets_v05.json`, and writes two CSVs in algoperf-lite's trial-table form
(ruleset `external` or `self`, as in spec.json):

- `algoperf_v05_trials.csv`: one row per trial, with the time (the log's `score` column,
  AlgoPerf's accumulated submission time) and step of the first eval whose validation metric
  reaches the target (inclusive), and `eval_index`, that eval's 0-based position, which
  AlgoPerf v0.5 used to pick a study's trial (its "flaw 2").
- `algoperf_v05_workload_times.csv`: AlgoPerf's own per-workload times, i.e. per study the
  trial AlgoPerf picked (smallest eval index; ties by least time) and the median over
  studies, as one row per (ruleset, submission, workload).

Only the 8 base workloads and the 6 held-out variants that v0.5 drew are kept (AlgoPerf's
scoring drops the others too); `variant_of` names a variant's base workload. Trial folders
sitting directly under a study (a misplaced re-run in schedule_free_adamw's logs) and trials
without `eval_measurements.csv` are skipped, as AlgoPerf's own reader skips them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

LOGS = "previous_leaderboards/algoperf_v05/logs"
TARGETS = "scoring/workload_targets_v05.json"
TRIAL_FILE = re.compile(
    rf"^{LOGS}/(?P<ruleset>external_tuning|self_tuning)/(?P<submission>[^/]+)/study_(?P<study>\d+)/"
    r"(?P<workload>[^/]+)_(?:jax|pytorch)/trial_(?P<trial>\d+)/eval_measurements\.csv$"
)
# AlgoPerf's list of minimized metrics (scoring/performance_profile.py); all others are maximized.
MINIMIZED = {"ce_loss", "error_rate", "ctc_loss", "wer", "l1_loss", "loss", "ppl"}


class Mirror:
    """Reads files from a checkout, or from a bare git repository at HEAD."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.checkout = (root / LOGS).is_dir()

    def paths(self, prefix: str) -> list[str]:
        if self.checkout:
            return sorted(str(p.relative_to(self.root)) for p in (self.root / prefix).rglob("*") if p.is_file())
        out = subprocess.run(
            ["git", "-C", str(self.root), "ls-tree", "-r", "--name-only", "HEAD", prefix],
            check=True, capture_output=True, text=True,
        ).stdout
        return sorted(out.splitlines())

    def read_many(self, paths: list[str]) -> dict[str, str]:
        if self.checkout:
            return {p: (self.root / p).read_text() for p in paths}
        # One `git cat-file --batch` process for thousands of small files.
        request = "".join(f"HEAD:{p}\n" for p in paths).encode()
        raw = subprocess.run(
            ["git", "-C", str(self.root), "cat-file", "--batch"],
            input=request, check=True, capture_output=True,
        ).stdout
        texts, pos = {}, 0
        for p in paths:
            end = raw.index(b"\n", pos)
            header = raw[pos:end].split()
            if header[-1] == b"missing":
                raise SystemExit(f"{p}: not in the mirror")
            size = int(header[2])
            texts[p] = raw[end + 1 : end + 1 + size].decode()
            pos = end + 1 + size + 1
        return texts

    def commit(self) -> str:
        return subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip() or "unknown"


def first_reach(text: str, metric: str, target: float) -> tuple[float, float, int]:
    """(time, step, eval index) of the first eval reaching the target, inclusive; inf if none."""
    minimize = metric.split("/", 1)[1] in MINIMIZED
    for i, row in enumerate(csv.DictReader(io.StringIO(text))):
        value = float(row[metric]) if row.get(metric) not in (None, "") else math.nan
        if (value <= target) if minimize else (value >= target):  # NaN compares False
            return float(row["score"]), float(row["global_step"]), i
    return math.inf, math.inf, -1


def fmt(x: float) -> str:
    # Millisecond precision keeps the file small; it changes no published digit.
    return "" if math.isinf(x) else f"{x:.3f}".rstrip("0").rstrip(".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path, help="checkout or bare git mirror of submissions_algorithms")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "fixtures")
    args = parser.parse_args()
    mirror = Mirror(args.mirror)
    config = json.loads(mirror.read_many([TARGETS])[TARGETS])
    base = list(config["base_workloads"])
    variant_of = {v: next(b for b in base if v.startswith(b + "_")) for v in config["held_out_workloads"]}

    matches = [(p, m) for p in mirror.paths(LOGS) if (m := TRIAL_FILE.match(p))]
    matches = [(p, m) for p, m in matches if m["workload"] in base or m["workload"] in variant_of]
    texts = mirror.read_many([p for p, _ in matches])

    rows = []
    for path, m in matches:
        spec = config["workloads"][m["workload"]]
        t, s, i = first_reach(texts[path], f"validation/{spec['target_metric_name']}", spec["validation_target_value"])
        rows.append(dict(ruleset=m["ruleset"].removesuffix("_tuning"), submission=m["submission"],
                         workload=m["workload"], variant_of=variant_of.get(m["workload"], ""),
                         study=int(m["study"]), trial=int(m["trial"]),
                         time_to_target=t, steps_to_target=s, eval_index=i))
    rows.sort(key=lambda r: (r["ruleset"], r["submission"], r["workload"], r["study"], r["trial"]))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    with open(args.out_dir / "algoperf_v05_trials.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(rows[0]))
        for r in rows:
            w.writerow([r["ruleset"], r["submission"], r["workload"], r["variant_of"], r["study"], r["trial"],
                        fmt(r["time_to_target"]), fmt(r["steps_to_target"]), r["eval_index"]])

    # AlgoPerf's per-study pick (smallest eval index), then the median over studies.
    studies: dict[tuple, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        studies[(r["ruleset"], r["submission"], r["workload"], r["variant_of"])][r["study"]].append(r)
    with open(args.out_dir / "algoperf_v05_workload_times.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ruleset", "submission", "workload", "variant_of", "study", "trial", "time_to_target"])
        for key, per_study in studies.items():
            picks = []
            for trials in per_study.values():
                reached = [r for r in trials if r["eval_index"] >= 0]
                best = min(reached, key=lambda r: (r["eval_index"], r["time_to_target"]), default=None)
                picks.append(best["time_to_target"] if best else math.inf)
            w.writerow([*key, 0, 0, fmt(statistics.median(picks))])
    print(f"{len(rows)} trials from {args.mirror} at commit {mirror.commit()} -> {args.out_dir}")


if __name__ == "__main__":
    main()
