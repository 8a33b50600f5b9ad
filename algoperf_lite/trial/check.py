"""The quick test of a submission before a long run (``algoperf-lite check SUBMISSION``:
what ``benchopt test`` is to a benchopt solver).

It loads the submission (which validates its search space), then on every registered
workload at smoke scale on the CPU (skipping those whose data is not available offline)
trains it for a few steps, with ``step_hint`` shortened to those steps so that
schedules run their whole course, and checks that:

1. a point drawn from its search space runs (the space names what the code reads);
2. with its self-tuning point (else its first search-space point) the training loss
   goes down, measured as the runner's evals would see the model: after
   ``prepare_for_eval``. A workload may start on a plateau (modular arithmetic does, for
   every optimizer): a loss up to 5% above where it started passes there as "flat", and
   the submission fails if its loss went down on no workload;
3. ``prepare_for_eval`` leaves training intact: the same run with one more
   ``prepare_for_eval`` in the middle is, two steps later, where the run without it is
   (a submission that switches to averaged weights for an eval must switch back before
   the next step).

Every run is the runner's own (:func:`algoperf_lite.trial.runner.train`), with an explicit
step schedule and, where a trial evaluates the eval splits, the loss of one fixed
training batch: the check needs the trend, in seconds.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass

import torch

from algoperf_lite import spec
from algoperf_lite.data import DataNotFoundError
from algoperf_lite.paths import data_dir
from algoperf_lite.trial import workloads
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.environment import torch_threads
from algoperf_lite.trial.runner import EvalSchedule, train
from algoperf_lite.trial.search_space import SearchSpace
from algoperf_lite.trial.submissions import LoadedSubmission, load_submission
from algoperf_lite.trial.workload_view import WorkloadView

STEPS = 20
SEED = 0
FLAT_TOL = 0.05  # a loss this close above where it started is flat (a plateau), not up
CONSISTENCY_TOL = 1e-4  # relative: runs with and without a middle eval end this close


@dataclass(frozen=True)
class WorkloadCheck:
    workload: str
    status: str  # "pass", "fail" or "skip"
    detail: str
    seconds: float
    loss_down: bool = False


class CheckFailed(Exception):
    """One check did not hold; the message says which and why."""


def _probe_loss(workload: spec.Workload, probe: dict):
    """The eval a check's runs make: the mean loss of one fixed training batch."""
    def evaluate(model, model_state) -> dict[str, float]:
        with torch.no_grad():
            logits, _ = workload.model_fn(model, probe, model_state, spec.ForwardPassMode.EVAL, SEED, False)
            losses = workload.loss_fn(probe["targets"], logits, probe.get("weights"))
        return {"train/loss": float(losses["summed"] / losses["n_valid_examples"])}

    return evaluate


def _train(workload: spec.Workload, sub: LoadedSubmission, point: dict | None, batch_size: int,
           steps: int, evals_at: set[int], probe: dict, what: str) -> list[float]:
    """Run ``steps`` steps with the runner; after each step in ``evals_at``, its
    ``prepare_for_eval`` and the probe loss. A submission's exception, or a non-finite
    loss, raises CheckFailed naming ``what`` ran."""
    record = TrialRecord.of(workload, sub, hyperparameters=point, seed=SEED, batch_size=batch_size,
                            budget_sec=math.inf, target=None, stop_at_target=False, max_steps=steps)
    result = train(workload, sub, record, schedule=EvalSchedule(math.inf, at_steps=evals_at),
                   evaluate=_probe_loss(workload, probe))
    if result.exception is not None:
        e = result.exception
        frame = traceback.extract_tb(e.__traceback__)[-1]
        raise CheckFailed(f"{what}: {type(e).__name__} at step {result.steps + 1} "
                          f"({frame.filename}:{frame.lineno}): {e}") from e
    if result.status == "diverged":
        raise CheckFailed(f"{what}: {result.error}")
    return [row["train/loss"] for row in result.evals]


def _self_tuning_point(sub: LoadedSubmission, workload: spec.Workload) -> bool:
    """Whether the submission trains without hyperparameters: with self_tuning.json, or
    (AlgoPerf form) when ``init_optimizer_state`` accepts None."""
    if sub.self_tuning_point is not None:
        return True
    if sub.form == "native":
        return False
    model, model_state = workload.init_model_fn(SEED)
    try:
        sub.init_optimizer_state(WorkloadView(workload), model, model_state, None, SEED)
    except Exception:
        return False
    return True


def _checks(sub: LoadedSubmission, workload: spec.Workload, steps: int) -> tuple[str, bool]:
    """Run the three checks; return (summary line, whether the loss went down), or raise
    CheckFailed."""
    batch_size, _ = sub.batch_size_for(workload)
    probe = next(workload.build_train_queue(batch_size, SEED + 1))
    if sub.search_space is not None:
        drawn = sub.search_space.sample(1, seed=SEED)[0]
        _train(workload, sub, drawn, batch_size, 2, {2}, probe, f"search-space point {drawn}")

    if _self_tuning_point(sub, workload):
        point, which = None, "self-tuning point"
    elif sub.search_space is not None:
        point, which = sub.search_space.sample(1, seed=SEED)[0], "first search-space point"
    else:
        raise CheckFailed("no self-tuning point and no search space: nothing to train with")
    # The consistency run stops two steps after its extra eval, where the plain run has
    # an eval of its own to compare with.
    middle, after = steps // 2, steps // 2 + 2
    first, plain_after, last = _train(workload, sub, point, batch_size, steps, {1, after, steps}, probe, which)
    trend = f"loss {first:.4g} -> {last:.4g} ({last / first - 1:+.1%}) in {steps} steps ({which})"
    if last > first * (1 + FLAT_TOL):
        raise CheckFailed(f"{trend}: the training loss went up")
    if last >= first:
        trend += f", flat (within {FLAT_TOL:.0%})"
    evaluated = _train(workload, sub, point, batch_size, after, {1, middle, after}, probe,
                       f"{which}, with prepare_for_eval at step {middle}")[-1]
    if abs(evaluated - plain_after) > CONSISTENCY_TOL * max(1.0, abs(plain_after)):
        raise CheckFailed(f"{trend}; an extra prepare_for_eval at step {middle} changed the loss at step "
                          f"{after} from {plain_after:.6g} to {evaluated:.6g}: it must not change training")
    return f"{trend}; prepare_for_eval leaves training unchanged", last < first


def check_workload(sub: LoadedSubmission, name: str, steps: int = STEPS,
                   device: torch.device = torch.device("cpu")) -> WorkloadCheck:
    """The three checks on one workload at smoke scale."""
    started = time.perf_counter()
    try:
        workload = workloads.build_workload(name, "smoke", device, data_dir())
        workload.prepare()
    except DataNotFoundError as e:
        why = str(e).split(":")[0]  # the message's first clause; `run` prints all of it
        return WorkloadCheck(name, "skip", f"skipped: data not available ({why})", time.perf_counter() - started)
    if hasattr(workload, "override"):  # schedules that decay over step_hint finish here
        workload.override(step_hint=steps)
    try:
        detail, loss_down = _checks(sub, workload, steps)
    except CheckFailed as e:
        return WorkloadCheck(name, "fail", str(e), time.perf_counter() - started)
    return WorkloadCheck(name, "pass", detail, time.perf_counter() - started, loss_down)


def _describe(space: SearchSpace | None) -> str:
    if space is None:
        return "none (external tuning cannot run it)"
    if space.fixed_points:
        return f"{len(space.fixed_points)} fixed points"
    return f"{len(space.dimensions)} hyperparameters"


def check_submission(submission: str, names: list[str] | None = None, steps: int = STEPS,
                     report=print) -> list[WorkloadCheck]:
    """Check one submission on the workloads ``names`` (default: every registered one), calling
    ``report`` with one line per workload as it goes."""
    sub = load_submission(submission)
    report(f"check {sub.name} ({sub.form} form), search space: {_describe(sub.search_space)}")
    results = []
    # The models are tiny: one thread is as fast, and several times faster when the CPU
    # is shared (adamw's check: 15 s against 52 s on 2 busy cores).
    with torch_threads(1):
        for name in names or sorted(workloads.workload_classes()):
            result = check_workload(sub, name, steps)
            report(f"  {result.status.upper():4}  {name:<27} {result.detail} [{result.seconds:.1f} s]")
            results.append(result)
    return results
