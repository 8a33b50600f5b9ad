"""The timed training loop of one trial, exactly as docs/rules.md says.

Set-up (data onto the device, model init, input queue, optimizer state) is untimed.
Then: data_selection -> update_params -> divergence and budget checks, every step; an
eval after the first step, every ``eval_period_sec`` of submission time, and when
training ends. ``prepare_for_eval`` is timed; evaluation is not, and runs no submission
code. Everything the loop needs to know comes from the trial's :class:`TrialRecord`.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import torch

from algoperf_lite import spec
from algoperf_lite.results import Outcome
from algoperf_lite.trial import distributed
from algoperf_lite.trial.checkpoints import Checkpoints, target_check
from algoperf_lite.trial.clock import CoreWait, CpuTimer, SubmissionClock, make_timer
from algoperf_lite.trial.loss_watch import LossWatch
from algoperf_lite.trial.memory import state_bytes
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.seeds import derive_seed
from algoperf_lite.trial.submissions import LoadedSubmission
from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.trial.workload_view import WorkloadView

EvalCallback = Callable[[dict[str, Any]], None]
WeightsCallback = Callable[[str, torch.nn.Module], None]  # ("init" | "final", the model as built or trained)


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
    exception: BaseException | None = field(default=None, repr=False)  # a failed submission's, for ``check``
    optimizer_state_bytes: int | None = None  # what the submission's state holds beyond the model
    peak_memory_bytes: int | None = None  # on a GPU: the device's peak allocation during the trial
    num_checkpoints: int = 0
    # CPU clock: seconds counted from processes the trial started, and from its threads during evals
    child_cpu_sec: float | None = None
    paused_thread_cpu_sec: float | None = None
    core_wait_share: float | None = None  # of the trial's time, its threads waited for a core others held

    def outcome(self, wall_time: float) -> Outcome:
        return Outcome(status=self.status, reached=self.reached, time_to_target=self.time_to_target,
                       steps_to_target=self.steps_to_target, submission_time=self.submission_time,
                       steps=self.steps, num_evals=len(self.evals), wall_time=wall_time, error=self.error,
                       mean_step_sec=self.submission_time / self.steps if self.steps else None,
                       optimizer_state_bytes=self.optimizer_state_bytes, peak_memory_bytes=self.peak_memory_bytes,
                       num_checkpoints=self.num_checkpoints, child_cpu_sec=self.child_cpu_sec,
                       paused_thread_cpu_sec=self.paused_thread_cpu_sec, core_wait_share=self.core_wait_share)


@dataclass(frozen=True)
class EvalSchedule:
    """When to evaluate: every ``period_sec`` of submission time (AlgoPerf's rule), with
    checkpoints every ``resolution`` of the time so far in between (trial/checkpoints.py);
    for reproducibility checks every ``every_steps`` steps; or after exactly the steps
    ``at_steps`` (``check``). The first two always evaluate after step 1."""

    period_sec: float
    every_steps: int | None = None
    at_steps: Collection[int] | None = None
    resolution: float = 0.0

    @classmethod
    def of(cls, record: TrialRecord) -> EvalSchedule:
        return cls(record.eval_period_sec, record.eval_every_steps, resolution=record.time_resolution)

    def checkpoints(self, budget_sec: float) -> Checkpoints | None:
        """The checkpoints between evals, when the time schedule keeps them."""
        timed = self.every_steps is None and self.at_steps is None and math.isfinite(self.period_sec)
        return Checkpoints(self.resolution, min(self.period_sec, budget_sec)) if timed and self.resolution > 0 else None

    def due(self, step: int, now: float, next_eval_at: float) -> bool:
        if self.at_steps is not None:
            return step in self.at_steps
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


def _renamed(inner: torch.nn.Module, outer: torch.nn.Module) -> dict[str, str]:
    """The wrapper's name of each of the model's parameters ("module.", "_orig_mod."
    prefixes), so that the shape and type trees a submission sees match its model."""
    by_id = {id(p): n for n, p in outer.named_parameters()}
    return {n: by_id[id(p)] for n, p in inner.named_parameters()}


def train(
    workload: spec.Workload,
    submission: LoadedSubmission,
    record: TrialRecord,
    on_eval: EvalCallback | None = None,
    *,
    clock: SubmissionClock | None = None,
    schedule: EvalSchedule | None = None,
    evaluate: Callable[[torch.nn.Module, spec.ModelAuxiliaryState], dict[str, float]] | None = None,
    on_weights: WeightsCallback | None = None,
) -> TrainResult:
    """Train ``submission`` on ``workload`` as ``record`` says: until the target (if
    ``stop_at_target``), the budget, ``TrainingCompleteError`` or ``max_steps``
    (AlgoPerf's max_global_steps: ends like TrainingCompleteError, with a final eval).
    Exceptions raised by the submission end the trial as ``failed`` with their traceback;
    they never escape. Under torchrun, every rank runs this; ``on_eval`` is called on rank
    0 only. ``schedule`` and ``evaluate`` replace the record's eval schedule and the
    workload's eval (``check`` evaluates a probe batch at chosen steps). ``on_weights`` gets the
    model after init and when training ended, both off the clock."""
    device = getattr(workload, "device", torch.device("cpu"))
    ranks = distributed.setup(device)
    clock = clock or SubmissionClock(device, make_timer(record.clock), reduce_max=ranks.max if ranks else None)
    schedule = schedule or EvalSchedule.of(record)
    # A checkpoint needs only the target's metric: the validation split (trial/checkpoints.py).
    evaluate_checkpoint = evaluate or getattr(workload, "eval_validation", workload.eval_model)
    evaluate = evaluate or workload.eval_model
    target, budget_sec, max_steps = record.target, record.budget_sec, record.max_steps
    # Under self-tuning (no point) the submission's self_tuning.json point, in either form.
    point = record.hyperparameters if record.hyperparameters is not None else submission.self_tuning_point
    hp = as_hyperparameters(point)
    # Under torchrun a rank may not stop alone (the others would wait in a collective), so
    # there divergence is caught at the next eval, which every rank runs alike.
    watch = LossWatch(device) if ranks is None else None
    checkpoints = schedule.checkpoints(budget_sec) if target is not None else None
    reached = target_check(target) if target is not None else None
    evals: list[dict[str, Any]] = []
    eval_results: list[tuple[int, dict[str, float]]] = []  # AlgoPerf's form, for submissions
    step, time_to_target, steps_to_target, num_checkpoints = 0, math.inf, None, 0
    status, error, exception = "budget_exhausted", None, None
    model = optimizer_state = core_wait = None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def log(rows: list[dict[str, Any]]) -> None:
        """Record eval rows (in time order) and hand them to ``on_eval``."""
        evals.extend(rows)
        if on_eval is not None and (ranks is None or ranks.is_main):
            for r in rows:
                on_eval(r)

    try:
        # --- untimed set-up ------------------------------------------------------------
        workload.prepare()
        if record.autocast and not hasattr(workload, "autocast"):
            raise ValueError(f"workload {workload.name} has no bfloat16 autocast option")
        if hasattr(workload, "autocast"):  # set either way: a workload object may serve several trials
            workload.autocast = record.autocast
        model, model_state = workload.init_model_fn(derive_seed(record.seed, "init"))
        inner = model
        if on_weights is not None:
            on_weights("init", model)
        input_queue = workload.build_train_queue(record.batch_size, derive_seed(record.seed, "data"))
        if ranks is not None:
            model = torch.nn.parallel.DistributedDataParallel(model)
            input_queue = distributed.shard(input_queue, ranks)
        if record.compile:  # compiles lazily at the first step: on the clock, as in AlgoPerf
            model = torch.compile(model)
        view = WorkloadView(workload, on_loss=watch and watch.observe,  # the contract, no data
                            param_names=_renamed(inner, model) if model is not inner else None)
        optimizer_state = submission.init_optimizer_state(
            view, model, model_state, hp, derive_seed(record.seed, "optimizer")
        )
        param_types = view.model_params_types
        train_state = initial_train_state()
        next_eval_at = 0.0  # submission time of the next eval (time schedule)
        step_rng_base = derive_seed(record.seed, "step")

        # --- the timed loop ------------------------------------------------------------
        core_wait = CoreWait()
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
            eval_due = complete or schedule.due(step, now, next_eval_at)
            if not (eval_due or (checkpoints is not None and checkpoints.due(now))):
                continue

            if submission.prepare_for_eval is not None:  # timed, as in AlgoPerf (at checkpoints too)
                optimizer_state, model, model_state = submission.prepare_for_eval(
                    view, model, param_types, model_state, hp, workload.loss_type,
                    optimizer_state, eval_results, step, rng,
                )
            now = clock.pause()  # synchronized reading, for the record
            if now > budget_sec:
                break
            if not eval_due:  # a checkpoint: its evaluation deferred until an eval reaches the target
                checkpoints.keep(step, now, model, model_state)
                num_checkpoints += 1
                clock.resume()
                continue
            eval_started = time.perf_counter()
            metrics = evaluate(model, model_state)
            row = {"step": step, "submission_time": now, "eval_time": time.perf_counter() - eval_started,
                   "checkpoint": False, **metrics}
            error = _nonfinite(metrics)
            reached_now = not error and reached is not None and math.isinf(time_to_target) and reached(metrics)
            rows = [row]
            if reached_now:  # the kept checkpoints tell when, more finely than the eval period
                found, earlier = checkpoints.first_reaching(model, evaluate_checkpoint, reached) if checkpoints else (None, [])
                time_to_target, steps_to_target = (found.submission_time, found.step) if found else (now, step)
                train_state["validation_goal_reached"] = True
                checkpoints, rows = None, [*earlier, row]
            log(rows)
            eval_results.append((step, metrics))
            train_state.update(last_eval_time=now, training_complete=complete)
            if error:
                status = "diverged"
                break
            if reached_now and record.stop_at_target:
                status = "reached"
                break
            if complete:
                status = "training_complete"
                break
            next_eval_at = now + schedule.period_sec
            if checkpoints is not None:
                checkpoints.clear()
                checkpoints.schedule_after(now)
            clock.resume()

        if status == "budget_exhausted" and checkpoints is not None and checkpoints.kept:
            # The budget ran out between evals: a checkpoint kept within it may have reached the target.
            clock.pause()
            found, rows = checkpoints.first_reaching(model, evaluate_checkpoint, reached, eval_after=False)
            log(rows)
            if found is not None:
                time_to_target, steps_to_target = found.submission_time, found.step
                status = "reached" if record.stop_at_target else status
    except Exception as e:  # a submission's bug costs its trial only
        status, error, exception = "failed", traceback.format_exc(limit=-8), e

    submission_time = clock.pause() if clock.running else clock.elapsed()
    if on_weights is not None and model is not None:
        on_weights("final", model)
    return TrainResult(
        status=status, reached=not math.isinf(time_to_target), time_to_target=time_to_target,
        steps_to_target=steps_to_target, submission_time=submission_time, steps=step,
        evals=evals, error=error, exception=exception,
        optimizer_state_bytes=state_bytes(optimizer_state, model) if model is not None else None,
        peak_memory_bytes=torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
        num_checkpoints=num_checkpoints,
        child_cpu_sec=clock.timer.descendants_sec if isinstance(clock.timer, CpuTimer) else None,
        paused_thread_cpu_sec=clock.timer.off_clock_sec if isinstance(clock.timer, CpuTimer) else None,
        core_wait_share=core_wait.share() if core_wait is not None else None,
    )
