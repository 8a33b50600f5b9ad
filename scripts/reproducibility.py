"""How much a verdict moves with the seeds (or the machine): one study preset run twice
with different root seeds, or two results directories compared (e.g. the same study from
another machine), scored alike, and compared per submission.

    python scripts/reproducibility.py                                  # the quickstart, seeds 0 and 1
    python scripts/reproducibility.py --preset smoke --out /tmp/repro  # a quick look
    python scripts/reproducibility.py --compare RESULTS_A RESULTS_B    # two finished studies

Prints, per ruleset: each submission's score in both and their difference, Kendall's tau
between the two rankings, and the share of (submission, workload) cells whose verdict
(reached within budget or not, after the median over studies) agrees.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from algoperf_lite.scoring import ScoreSettings, compute_scores, load_trials


def scores_and_verdicts(results_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ruleset, submission) -> score; (ruleset, submission, workload) -> reached."""
    result = compute_scores(load_trials(results_dir), ScoreSettings(n_boot=0))
    scores = result.scores.set_index(["ruleset", "submission"])["score"]
    times = result.times.set_index(["ruleset", "submission", "workload"])
    return scores, np.isfinite(times["counted"])


def compare(a: Path, b: Path) -> list[str]:
    """The report's lines for two results directories."""
    (score_a, reached_a), (score_b, reached_b) = scores_and_verdicts(a), scores_and_verdicts(b)
    lines = []
    for ruleset in sorted(set(score_a.index.get_level_values(0)) & set(score_b.index.get_level_values(0))):
        sa, sb = score_a.loc[ruleset], score_b.loc[ruleset]
        subs = sorted(set(sa.index) & set(sb.index), key=lambda s: -sa[s])
        lines.append(f"{ruleset}: {a.name} vs {b.name}")
        for sub in subs:
            lines.append(f"  {sub:<24} {sa[sub]:.4f}  {sb[sub]:.4f}  difference {sb[sub] - sa[sub]:+.4f}")
        tau = kendalltau([sa[s] for s in subs], [sb[s] for s in subs]).statistic if len(subs) > 1 else float("nan")
        cells = reached_a.loc[ruleset].index.intersection(reached_b.loc[ruleset].index)
        agree = (reached_a.loc[ruleset].loc[cells] == reached_b.loc[ruleset].loc[cells]).mean()
        lines.append(f"  Kendall's tau of the rankings {tau:.3f}; reached-or-not agrees in {agree:.0%} of "
                     f"{len(cells)} (submission, workload) cells")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quickstart", help="a study preset (configs/study/)")
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 1), metavar=("A", "B"))
    parser.add_argument("--out", type=Path, default=Path("results/reproducibility"), help="where the two studies go")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("RESULTS_A", "RESULTS_B"),
                        help="compare two finished results directories instead of running")
    parser.add_argument("overrides", nargs="*", help="more study overrides, e.g. ruleset=self")
    args = parser.parse_args(argv)
    if args.compare:
        a, b = args.compare
    else:
        from algoperf_lite.commands.study import study_command

        a, b = (args.out / f"{args.preset}_seed{seed}" for seed in args.seeds)
        for seed, folder in zip(args.seeds, (a, b)):
            study_command([f"study={args.preset}", f"seed={seed}", f"results_dir={folder}", "quiet=true",
                           *args.overrides])
    print("\n".join(compare(a, b)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
