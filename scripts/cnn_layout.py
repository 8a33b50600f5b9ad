"""A smoke CNN's full eval and training step on one CPU thread, in the default (NCHW) layout
and channels-last, measured side by side: the figures behind ``TensorWorkload.channels_last``
holding on every device, not only on GPUs.

    python scripts/cnn_layout.py mnist_cnn cifar10_cnn

Each round times both layouts in turn (7 evals and 3 x 10 training steps each, after
warm-ups), so that a drift of the machine's speed reaches both alike. The step is the
workload's forward pass, loss, backward pass and a torch AdamW update on its training
batches, the work a trial's step times; a submission's own update comes on top of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from algoperf_lite import spec
from algoperf_lite.trial.workloads import build_workload


def timed(fn, repeats: int, warmups: int = 2) -> list[float]:
    times = []
    for i in range(warmups + repeats):
        started = time.perf_counter()
        fn()
        if i >= warmups:
            times.append(time.perf_counter() - started)
    return times


def layout(name: str, channels_last: bool):
    """The workload with its model, optimizer and training batches in one layout."""
    workload = build_workload(name, "smoke", torch.device("cpu"))
    workload.channels_last = channels_last  # read by TensorWorkload.memory_format
    workload.prepare()
    model, state = workload.init_model_fn(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = workload.build_train_queue(workload.default_batch_size, 0)

    def step() -> None:
        batch = next(batches)
        logits, _ = workload.model_fn(model, batch, state, spec.ForwardPassMode.TRAIN, None, True)
        loss = workload.loss_fn(batch["targets"], logits)
        optimizer.zero_grad()
        (loss["summed"] / loss["n_valid_examples"]).backward()
        optimizer.step()

    return (lambda: workload.eval_model(model, state)), (lambda: [step() for _ in range(10)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the two layouts, interleaved")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.workloads:
        runs = {"default": layout(name, False), "channels-last": layout(name, True)}
        evals: dict[str, list[float]] = {k: [] for k in runs}
        steps: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for key, (evaluate, ten_steps) in runs.items():
                evals[key] += timed(evaluate, 7)
                steps[key] += [t / 10 for t in timed(ten_steps, 3, warmups=1)]
        e = {k: statistics.median(v) for k, v in evals.items()}
        s = {k: statistics.median(v) for k, v in steps.items()}
        print(f"{name}: full eval {e['default']:.3f} s default, {e['channels-last']:.3f} s channels-last "
              f"({e['default'] / e['channels-last']:.2f}x); training step {1000 * s['default']:.1f} ms, "
              f"{1000 * s['channels-last']:.1f} ms ({s['default'] / s['channels-last']:.2f}x); medians of "
              f"{len(evals['default'])} evals and {len(steps['default'])} x 10 steps per layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
