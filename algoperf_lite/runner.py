"""The timed training loop of one trial, exactly as rules.md says.

Set-up (data onto the device, model init, input queue, optimizer state) is untimed.
Then: data_selection -> update_params -> divergence and budget checks, every step; an
eval after the first step, every ``eval_period_sec`` of submission time, and when
training ends.
``prepare_for_eval`` is timed; evaluation is not, and runs no submission code.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from algoperf_lite import distributed, spec
from algoperf_lite.clock import SubmissionClock
from algoperf_lite.hyperparameters import as_hyperparameters
from algoperf_lite.loss_watch import LossWatch
from algoperf_lite.seeds import derive_seed
from algoperf_lite.submissions import Submission
from algoperf_lite.workload_view import WorkloadView

EvalCallback = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    status: str  # reached | budget_exhausted | training_complete | diverged | failed
    reached: bool
    time_to_target: float  # inf when not reached
    steps_to_target: int | None
    submission_time: float
    steps: int
    evals: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class EvalSchedule:
    """When to evaluate: every ``period_sec`` of submission time (AlgoPerf's rule), or,
    for reproducibility checks, every ``every_steps`` steps. Always after step 1."""

    period_sec: float
    every_steps: int | None = None

    def due(self, step: int, now: float, next_eval_at: float) -> bool:
        if self.every_steps is not None:
            return step == 1 or step % self.every_steps == 0
        return now >= next_eval_at


def _nonfinite(metrics: dict[str, float]) -> str | None:
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    return f"non-finite eval metrics: {', '.join(bad)}" if bad else None


def initial_train_state() -> dict[str, Any]:
    """AlgoPerf's ``train_state`` before the first step (v0.6 passes it to update_params)."""
    return {"validation_goal_reached": False, "is_time_remaining": True, "training_complete": False,
            "accumulated_submission_time": 0.0, "last_eval_time": 0.0}


def _wrapped(workload: spec.Workload, inner: torch.nn.Module, outer: torch.nn.Module) -> torch.nn.Module:
    """Re-key the workload's parameter shapes and types to the wrapper's parameter names
    ("module.", "_orig_mod." prefixes), so that submissions can still match them."""
    by_id = {id(p): n for n, p in inner.named_parameters()}
    names = {by_id[id(p)]: n for n, p in outer.named_parameters()}
    workload._param_types = {names[n]: t for n, t in workload.model_params_types.items()}
    workload._param_shapes = {names[n]: s for n, s in workload.param_shapes.items()}
    return outer


def train(
    workload: spec.Workload,
    submission: Submission,
    hyperparameters: dict[str, Any] | None,
    seed: int,
    batch_size: int,
    budget_sec: float,
    eval_period_sec: float,
    on_eval: EvalCallback | None = None,
    stop_at_target: bool = True,
    clock: SubmissionClock | None = None,
    eval_every_steps: int | None = None,
    compile_model: bool = False,
    max_steps: int | None = None,
) -> TrainResult:
    """Train ``submission`` on ``workload`` until the target (if ``stop_at_target``), the
    budget, ``TrainingCompleteError`` or ``max_steps`` (AlgoPerf's max_global_steps, for
    tests: ends like TrainingCompleteError, with a final eval). Exceptions raised by the submission end the
    trial as ``failed`` with their traceback; they never escape. Under torchrun, every
    rank runs this; ``on_eval`` is called on rank 0 only."""
    device = getattr(workload, "device", torch.device("cpu"))
    ranks = distributed.setup(device)
    clock = clock or SubmissionClock(device, reduce_max=ranks.max if ranks else None)
    schedule = EvalSchedule(eval_period_sec, eval_every_steps)
    target = workload.target
    hp = as_hyperparameters(hyperparameters)
    # Under torchrun a rank may not stop alone (the others would wait in a collective), so
    # there divergence is caught at the next eval, which every rank runs alike.
    watch = LossWatch(device) if ranks is None else None
    view = WorkloadView(workload, on_loss=watch and watch.observe)  # the contract, no data
    evals: list[dict[str, Any]] = []
    eval_results: list[tuple[int, dict[str, float]]] = []  # AlgoPerf's form, for submissions
    step, time_to_target, steps_to_target = 0, math.inf, None
    status, error = "budget_exhausted", None

    try:
        # --- untimed set-up ------------------------------------------------------------
        workload.prepare()
        model, model_state = workload.init_model_fn(derive_seed(seed, "init"))
        input_queue = workload.build_train_queue(batch_size, derive_seed(seed, "data"))
        if ranks is not None:
            model = _wrapped(workload, model, torch.nn.parallel.DistributedDataParallel(model))
            input_queue = distributed.shard(input_queue, ranks)
        if compile_model:  # compiles lazily at the first step: on the clock, as in AlgoPerf
            model = _wrapped(workload, model, torch.compile(model))
        optimizer_state = submission.init_optimizer_state(
            view, model, model_state, hp, derive_seed(seed, "optimizer")
        )
        param_types = workload.model_params_types
        train_state = initial_train_state()
        next_eval_at = 0.0  # submission time of the next eval (time schedule)
        step_rng_base = derive_seed(seed, "step")

        # --- the timed loop ------------------------------------------------------------
        clock.start()
        while True:
            rng = (step_rng_base + step) & 0x7FFF_FFFF  # the step folded in, as AlgoPerf does
            batch = submission.data_selection(
                view, input_queue, optimizer_state, model, model_state, hp, step, rng
            )
            complete = False
            try:
                optimizer_state, model, model_state = submission.update_params(
                    view, model, param_types, model_state, hp, batch, workload.loss_type,
                    optimizer_state, eval_results, step, rng, train_state=train_state,
                )
            except spec.TrainingCompleteError:
                complete = True
            step += 1
            if watch is not None and watch.step_diverged():  # at once, not at the next eval
                status, error = "diverged", f"non-finite training loss by step {step}"
                break
            complete = complete or step == max_steps
            now = clock.host_elapsed()  # no device synchronization per step
            train_state["accumulated_submission_time"] = now
            if now > budget_sec:
                break  # the budget is checked at every step; no eval once it is spent
            if not (complete or schedule.due(step, now, next_eval_at)):
                continue

            if submission.prepare_for_eval is not None:  # timed, as in AlgoPerf
                optimizer_state, model, model_state = submission.prepare_for_eval(
                    view, model, param_types, model_state, hp, workload.loss_type,
                    optimizer_state, eval_results, step, rng,
                )
            now = clock.pause()  # synchronized reading, for the record
            if now > budget_sec:
                break
            eval_started = time.perf_counter()
            metrics = workload.eval_model(model, model_state)
            row = {"step": step, "submission_time": now,
                   "eval_time": time.perf_counter() - eval_started, **metrics}
            evals.append(row)
            eval_results.append((step, metrics))
            if on_eval is not None and (ranks is None or ranks.is_main):
                on_eval(row)
            train_state.update(last_eval_time=now, training_complete=complete)

            error = _nonfinite(metrics)
            if error:
                status = "diverged"
                break
            if math.isinf(time_to_target) and target.reached(metrics[f"validation/{target.metric}"]):
                time_to_target, steps_to_target = now, step
                train_state["validation_goal_reached"] = True
                if stop_at_target:
                    status = "reached"
                    break
            if complete:
                status = "training_complete"
                break
            next_eval_at = now + schedule.period_sec
            clock.resume()
    except Exception:  # a submission's bug costs its trial only
        status, error = "failed", traceback.format_exc(limit=-8)

    submission_time = clock.pause() if clock.running else clock.elapsed()
    return TrainResult(
        status=status, reached=not math.isinf(time_to_target), time_to_target=time_to_target,
        steps_to_target=steps_to_target, submission_time=submission_time, steps=step,
        evals=evals, error=error,
    )
