"""The time of one full eval (training subset, validation, test) of a smoke workload on one
CPU thread, at each of the given eval batch sizes, measured side by side: the figures
behind the CPU eval batch sizes in workload_kit.py and the workloads.

    python scripts/eval_batch.py mnist_cnn 256 64
    python scripts/eval_batch.py shakespeare_char_lm 128 32
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from algoperf_lite.trial.workloads import build_workload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("batch_sizes", type=int, nargs="+")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the batch sizes, interleaved")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    workload = build_workload(args.workload, "smoke", torch.device("cpu"))
    workload.prepare()
    model, model_state = workload.init_model_fn(0)
    times: dict[int, list[float]] = {b: [] for b in args.batch_sizes}
    for _ in range(args.rounds):
        for batch_size in args.batch_sizes:
            type(workload).eval_batch_size = property(lambda self, b=batch_size: b)
            for i in range(7):
                started = time.perf_counter()
                workload.eval_model(model, model_state)
                if i >= 2:  # after two warm-ups
                    times[batch_size].append(time.perf_counter() - started)
    for batch_size, seconds in times.items():
        print(f"{args.workload}, eval batch {batch_size}: a full eval takes {statistics.median(seconds):.3f} s "
              f"(median of {len(seconds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
