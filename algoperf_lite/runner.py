"""The timed training loop of one trial, exactly as rules.md says.

Set-up (data onto the device, model init, input queue, optimizer state) is untimed.
Then: data_selection -> update_params -> budget check, every step; an eval after the
first step, every ``eval_period_sec`` of submission time, and when training ends.
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

from algoperf_lite import spec
from algoperf_lite.clock import SubmissionClock
from algoperf_lite.hyperparameters import as_hyperparameters
from algoperf_lite.seeds import derive_seed
from algoperf_lite.submissions import Submission

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


def _nonfinite(metrics: dict[str, float]) -> str | None:
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    return f"non-finite eval metrics: {', '.join(bad)}" if bad else None


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
) -> TrainResult:
    """Train ``submission`` on ``workload`` until the target (if ``stop_at_target``), the
    budget, or ``TrainingCompleteError``. Exceptions raised by the submission end the
    trial as ``failed`` with their traceback; they never escape."""
    device = getattr(workload, "device", torch.device("cpu"))
    clock = clock or SubmissionClock(device)
    target = workload.target
    hp = as_hyperparameters(hyperparameters)
    evals: list[dict[str, Any]] = []
    eval_results: list[tuple[int, dict[str, float]]] = []  # AlgoPerf's form, for submissions
    step, time_to_target, steps_to_target = 0, math.inf, None
    status, error = "budget_exhausted", None

    try:
        # --- untimed set-up ------------------------------------------------------------
        workload.prepare()
        model, model_state = workload.init_model_fn(derive_seed(seed, "init"))
        input_queue = workload.build_train_queue(batch_size, derive_seed(seed, "data"))
        optimizer_state = submission.init_optimizer_state(
            workload, model, model_state, hp, derive_seed(seed, "optimizer")
        )
        param_types = workload.model_params_types
        train_state = {"validation_goal_reached": False, "is_time_remaining": True,
                       "training_complete": False, "accumulated_submission_time": 0.0,
                       "last_eval_time": 0.0}
        next_eval_at = 0.0  # submission time; 0 gives the eval after the first step

        # --- the timed loop ------------------------------------------------------------
        clock.start()
        while True:
            rng = derive_seed(seed, "step", step)
            batch = submission.data_selection(
                workload, input_queue, optimizer_state, model, model_state, hp, step, rng
            )
            complete = False
            try:
                optimizer_state, model, model_state = submission.update_params(
                    workload, model, param_types, model_state, hp, batch, workload.loss_type,
                    optimizer_state, eval_results, step, rng, train_state=train_state,
                )
            except spec.TrainingCompleteError:
                complete = True
            step += 1
            now = clock.host_elapsed()  # cheap: no device synchronization
            train_state["accumulated_submission_time"] = now
            if now > budget_sec:
                break  # the budget is checked at every step; no eval once it is spent
            if not (complete or now >= next_eval_at):
                continue

            if submission.prepare_for_eval is not None:  # timed, as in AlgoPerf
                optimizer_state, model, model_state = submission.prepare_for_eval(
                    workload, model, param_types, model_state, hp, workload.loss_type,
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
            if on_eval is not None:
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
            next_eval_at = now + eval_period_sec
            clock.resume()
    except Exception:  # a submission's bug costs its trial only
        status, error = "failed", traceback.format_exc(limit=-8)

    submission_time = clock.pause() if clock.running else clock.elapsed()
    return TrainResult(
        status=status, reached=not math.isinf(time_to_target), time_to_target=time_to_target,
        steps_to_target=steps_to_target, submission_time=submission_time, steps=step,
        evals=evals, error=error,
    )
