"""How much a verdict moves with the seeds and the machine's load: one study preset run
twice with different root seeds (the second optionally beside busy processes), or two
results directories compared (e.g. the same study from another machine), scored alike.

    python scripts/reproducibility.py                                  # the quickstart, seeds 0 and 1
    python scripts/reproducibility.py --busy 1 ruleset=self \\
        'study.submissions=[adamw,nadamw,...]' 'study.workloads=[digits_logreg,mnist_cnn,shakespeare_char_lm]'
    python scripts/reproducibility.py --compare RESULTS_A RESULTS_B    # two finished studies

Prints, per ruleset: each submission's score in both and their difference; Kendall's tau
between the two rankings; the share of (submission, workload) cells whose verdict
(reached within budget or not, after the median over studies) agrees; the largest score
difference; of the pairs of submissions whose scores lie more than d apart in the first,
how many keep their order in the second; and, from the score differences, how many
studies a comparison needs to tell two submissions apart at 95% confidence. With
``--busy N``, N other processes (each a one-thread PyTorch training loop, as another
user's job would be) run throughout the second study; each study's wall time is printed.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from algoperf_lite.scoring import ScoreSettings, compute_scores, load_trials

# Another user's job: a one-thread PyTorch loop of matrix products, as a training run keeps a
# core busy. It says "busy" once torch is imported and the loop runs.
BUSY = ("import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nprint('busy', flush=True)\n"
        "while True:\n    a = torch.tanh(a @ a * 0.01)\n")


@contextmanager
def busy_processes(n: int) -> Iterator[None]:
    """``n`` busy processes, already looping when the block starts, for its duration."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True) for _ in range(n)]
    try:
        for p in procs:
            p.stdout.readline()
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def scores_and_verdicts(results_dir: Path) -> tuple[pd.Series, pd.Series]:
    """(ruleset, submission) -> score; (ruleset, submission, workload) -> reached."""
    result = compute_scores(load_trials(results_dir), ScoreSettings(n_boot=0))
    scores = result.scores.set_index(["ruleset", "submission"])["score"]
    times = result.times.set_index(["ruleset", "submission", "workload"])
    return scores, np.isfinite(times["counted"])


def studies_needed(differences: list[float], gap: float) -> int:
    """Studies per submission for a 95% statement that two submissions whose scores differ
    by ``gap`` are ordered right, from the differences of one study's scores between two
    runs: one run's score has spread sd = sd(difference) / sqrt(2); the median over n
    studies roughly sd / sqrt(n); two submissions' difference sqrt(2) times that."""
    sd = float(np.std(differences, ddof=1)) / math.sqrt(2) if len(differences) > 1 else float("nan")
    return max(1, math.ceil((1.96 * math.sqrt(2) * sd / gap) ** 2)) if math.isfinite(sd) else 0


def pairs_kept(first: pd.Series, second: pd.Series, gap: float) -> tuple[int, int]:
    """(kept, total): of the pairs of submissions whose scores in ``first`` differ by more
    than ``gap``, how many ``second`` orders the same way: how far apart two scores must
    be for one study's order of them to repeat."""
    subs = list(first.index)
    apart = [(x, y) for i, x in enumerate(subs) for y in subs[i + 1:] if abs(first[x] - first[y]) > gap]
    return sum((first[x] - first[y]) * (second[x] - second[y]) > 0 for x, y in apart), len(apart)


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
        agree = (reached_a.loc[ruleset].loc[cells] == reached_b.loc[ruleset].loc[cells])
        differences = [sb[s] - sa[s] for s in subs]
        lines.append(f"  Kendall's tau of the rankings {tau:.3f}; reached-or-not agrees in {agree.mean():.0%} of "
                     f"{len(cells)} (submission, workload) cells ({(~agree).sum()} flipped); largest score "
                     f"difference {max(map(abs, differences)):.4f}")
        kept = ", ".join("{:g}: {} of {}".format(gap, *pairs_kept(sa.loc[subs], sb.loc[subs], gap))
                         for gap in (0.05, 0.1, 0.2))
        lines.append(f"  pairs of submissions more than d apart in the first that keep their order in the "
                     f"second ({kept})")
        if len(differences) > 1:
            needed = ", ".join(f"{gap:g}: {studies_needed(differences, gap)}" for gap in (0.05, 0.1, 0.2))
            lines.append(f"  studies per submission to order two scores that differ by d, at 95% ({needed})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quickstart", help="a study preset (configs/study/)")
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 1), metavar=("A", "B"))
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="busy processes beside the second study (a loaded machine)")
    parser.add_argument("--out", type=Path, default=Path("results/reproducibility"), help="where the two studies go")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("RESULTS_A", "RESULTS_B"),
                        help="compare two finished results directories instead of running")
    parser.add_argument("overrides", nargs="*", help="more study overrides, e.g. ruleset=self")
    args = parser.parse_args(argv)
    if args.compare:
        a, b = args.compare
    else:
        a, b = (args.out / f"{args.preset}_seed{seed}" for seed in args.seeds)
        for i, (seed, folder) in enumerate(zip(args.seeds, (a, b))):
            busy = args.busy if i == 1 else 0
            started = time.monotonic()
            # The study as its own program, as a user starts it: the busy processes are then
            # other programs to it (workers=0 counts the cores they leave free), not its children.
            with busy_processes(busy):
                command = [sys.executable, "-m", "algoperf_lite.cli", "study", f"study={args.preset}", f"seed={seed}",
                           f"results_dir={folder}", "quiet=true", *args.overrides]
                code = subprocess.run(command).returncode
            if code:
                return code
            print(f"seed {seed}: {time.monotonic() - started:.0f} s of wall time beside {busy} busy process(es)")
    print("\n".join(compare(a, b)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
