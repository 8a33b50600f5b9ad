"""What the runner costs per step: K steps of a bare PyTorch loop (written here: the same
model, device-resident data, optimizer and batch size) against K steps through the
runner with evaluation off between the mandatory ones (after step 1 and at the end),
interleaved over several repeats in one process, so that a noisy machine affects both.

    python scripts/bench_overhead.py digits_logreg modular_arithmetic shakespeare_char_lm
    python scripts/bench_overhead.py --device cuda --scale full shakespeare_char_lm

prints one line per workload: the median step time of each and the ratio runner/bare.
The submission is a native one (default adamw), whose step the bare loop reproduces.
``--sync-check`` adds the runner with a clock that synchronizes the device at every
step: the submission time it records should match the default clock's (which
synchronizes only at eval and stop boundaries) within 1%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from algoperf_lite.paths import data_dir
from algoperf_lite.spec import ForwardPassMode
from algoperf_lite.trial.clock import SubmissionClock, device_synchronizer
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.trial.workloads import build_workload, resolve_device, resolve_scale

POINT = {"learning_rate": 1e-3, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 0.01,
         "warmup_factor": 0.05}


def bare_loop(workload, submission, batch_size: int, steps: int, device) -> float:
    """Seconds per step of the same training written directly in PyTorch."""
    hp = as_hyperparameters(POINT)
    model, _ = workload.init_model_fn(0)
    state = submission.init_optimizer_state(workload, model, None, hp, 0)
    optimizer, scheduler = state["optimizer"], state["scheduler"]  # the submission's own schedule
    queue = workload.build_train_queue(batch_size, 0)
    sync = device_synchronizer(device)
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        batch = next(queue)
        optimizer.zero_grad(set_to_none=True)
        logits, _ = workload.model_fn(model, batch, None, ForwardPassMode.TRAIN, 0, True)
        losses = workload.loss_fn(batch["targets"], logits)
        (losses["summed"] / losses["n_valid_examples"]).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    sync()
    return (time.perf_counter() - started) / steps


class PerStepSyncClock(SubmissionClock):
    """The reference: every reading, the per-step budget check too, synchronizes."""

    def host_elapsed(self) -> float:
        if self.running:
            self._sync()
        return super().host_elapsed()


def runner_loop(workload, submission, batch_size: int, steps: int, clock=None) -> float:
    """Seconds per step on the runner's submission clock (evals excluded)."""
    record = TrialRecord.of(workload, submission, hyperparameters=POINT, batch_size=batch_size, budget_sec=1e9,
                            eval_period_sec=float("inf"), stop_at_target=False, max_steps=steps)
    result = train(workload, submission, record, clock=clock)
    if result.status != "training_complete":
        raise RuntimeError(f"runner did not finish: {result.status} {result.error}")
    return result.submission_time / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--submission", default="adamw", help="a native submission")
    parser.add_argument("--steps", type=int, default=300, help="K: steps per measurement")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scale", default="auto")
    parser.add_argument("--data-dir", help="default: $ALGOPERF_LITE_DATA_DIR")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (trials run on 1 by default)")
    parser.add_argument("--sync-check", action="store_true", help="also time a per-step-synchronized clock")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    scale = resolve_scale(args.scale, device)
    submission = load_submission(args.submission)
    if submission.form != "native":
        parser.error("the bare loop reproduces the native form's step; give a native submission")
    print(f"device {device} ({torch.get_num_threads()} threads), scale {scale}, "
          f"{args.steps} steps x {args.repeats} repeats, submission {submission.name}")
    for name in args.workloads:
        workload = build_workload(name, scale, device, data_dir(args.data_dir))
        workload.prepare()
        batch_size = workload.default_batch_size
        bare_loop(workload, submission, batch_size, 20, device)  # warm-up: allocator, kernels
        bare, runner, synced = [], [], []
        for _ in range(args.repeats):  # interleaved: drift hits all alike
            bare.append(bare_loop(workload, submission, batch_size, args.steps, device))
            runner.append(runner_loop(workload, submission, batch_size, args.steps))
            if args.sync_check:
                synced.append(runner_loop(workload, submission, batch_size, args.steps, PerStepSyncClock(device)))
        b, r = statistics.median(bare), statistics.median(runner)
        line = f"{name:<24} bare {b * 1e3:8.3f} ms  runner {r * 1e3:8.3f} ms  ratio {r / b:.3f}"
        if synced:
            p = statistics.median(synced)
            line += f"  per-step-sync {p * 1e3:8.3f} ms  runner/per-step-sync {r / p:.3f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
