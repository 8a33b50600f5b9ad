"""The runner's timing rules, proved with numbers (docs/rules.md, "Time").

Each test makes one part of a real trial (digits_logreg + AdamW) slow by a known
amount with ``time.sleep`` and checks where that time lands on the submission clock.
A logistic-regression step on digits takes well under a millisecond, so the sleeps
dominate and the bounds below leave a wide margin for a noisy machine."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
import torch

from algoperf_lite import spec
from algoperf_lite.trial.loss_watch import LossWatch
from conftest import ADAMW_POINT, slowed, train_point

UNREACHABLE = spec.Target("accuracy", 2.0, maximize=True)


def run(workload, submission, budget=1.0, eval_period=0.1, **kwargs):
    # On the wall clock, whose readings the sleeps below move, and evals only (no checkpoints).
    fields = {"clock": "wall", "time_resolution": 0.0, **kwargs}
    return train_point(workload, submission, ADAMW_POINT, seed=0, batch_size=64, budget_sec=budget,
                       eval_period_sec=eval_period, **fields)


class SleepyEval:
    """Mixin: every eval sleeps ``EVAL_SLEEP`` seconds."""

    EVAL_SLEEP = 0.3

    def eval_model(self, params, model_state):
        time.sleep(self.EVAL_SLEEP)
        return super().eval_model(params, model_state)


def subclass(workload, mixin, **attrs):
    """The same workload instance, re-classed with ``mixin`` (keeps its loaded data)."""
    workload.__class__ = type(f"{mixin.__name__}{type(workload).__name__}", (mixin, type(workload)), attrs)
    return workload


def test_eval_time_is_excluded(digits, adamw):
    digits.override(target=UNREACHABLE)
    workload = subclass(digits, SleepyEval)
    started = time.perf_counter()
    result = run(workload, adamw, budget=1.0, eval_period=0.1)
    wall = time.perf_counter() - started

    assert result.status == "budget_exhausted"
    assert len(result.evals) >= 5
    assert all(row["eval_time"] >= 0.3 for row in result.evals)
    # Evals are 0.1 s of submission time apart although each took 0.3 s of wall time
    # (counted, the gaps would be >= 0.4 s).
    gaps = [b["submission_time"] - a["submission_time"] for a, b in zip(result.evals, result.evals[1:])]
    assert all(0.1 <= g < 0.3 for g in gaps), gaps
    # The whole trial: submission time ~ the budget, wall time ~ budget + all the evals.
    assert 1.0 < result.submission_time < 1.2
    assert wall >= 1.0 + 0.3 * len(result.evals)


def test_budget_stops_a_slow_submission_within_one_step(digits, adamw):
    digits.override(target=UNREACHABLE)
    slow = slowed(adamw, update_params=0.05)  # each step takes >= 50 ms
    step_starts, step_ends = [], []  # wall times of each step, to compare with the clock
    update, select = slow.update_params, slow.data_selection

    def timed_select(*args, **kwargs):
        step_starts.append(time.perf_counter())
        return select(*args, **kwargs)

    def timed_update(*args, **kwargs):
        out = update(*args, **kwargs)
        step_ends.append(time.perf_counter())
        return out

    result = run(digits, dataclasses.replace(slow, update_params=timed_update, data_selection=timed_select),
                 budget=0.5, eval_period=100.0)
    started = step_starts[0]  # the clock starts right before the first data_selection

    assert result.status == "budget_exhausted"
    assert not result.reached and math.isinf(result.time_to_target)
    # It stopped at the first step that crossed the budget: the step before it ended
    # within the budget (a budget checked only at evals, every 100 s here, would let
    # it run on). Measured against each step's own end, so a loaded machine's slow
    # steps do not matter; the eval after step 1 (not on the clock) is subtracted.
    eval_time = result.evals[0]["eval_time"]
    assert step_ends[-1] - started - eval_time > 0.5
    assert step_ends[-2] - started - eval_time <= 0.5 + 0.01
    assert 0.5 < result.submission_time <= step_ends[-1] - started - eval_time + 0.005
    assert result.steps == len(step_ends) <= 10  # 0.5 s / 50 ms per step
    assert [row["step"] for row in result.evals] == [1]  # no eval once the budget is spent


class ScriptedEval:
    """Mixin: eval k returns SCRIPT[k] as the validation accuracy (and a finite loss)."""

    SCRIPT: list[float] = []

    def eval_model(self, params, model_state):
        self.calls = getattr(self, "calls", 0) + 1
        value = self.SCRIPT[min(self.calls, len(self.SCRIPT)) - 1]
        return {"train/loss": 0.5, "validation/loss": 0.5, "validation/accuracy": value}


@pytest.mark.parametrize("target, reached_at", [(0.96, 3), (0.9600001, None)])
def test_target_test_is_inclusive(digits, adamw, target, reached_at):
    digits.override(target=spec.Target("accuracy", target, maximize=True))
    workload = subclass(digits, ScriptedEval, SCRIPT=[0.5, 0.9, 0.96, 0.96])
    result = run(workload, adamw, budget=0.3, eval_period=0.0)  # an eval after every step

    if reached_at is None:
        assert not result.reached and result.status == "budget_exhausted"
    else:
        assert result.reached and result.status == "reached"
        assert result.steps_to_target == reached_at
        assert result.time_to_target == result.evals[reached_at - 1]["submission_time"]


def test_minimized_target_is_inclusive_too():
    target = spec.Target("loss", 1.5, maximize=False)
    assert target.reached(1.5) and target.reached(1.0) and not target.reached(1.5000001)


def test_prepare_for_eval_is_timed(digits, adamw):
    digits.override(target=UNREACHABLE)

    def prepare_for_eval(workload, params, types, model_state, hp, loss_type, opt, evals, step, rng):
        time.sleep(0.2)
        return opt, params, model_state

    submission = dataclasses.replace(adamw, prepare_for_eval=prepare_for_eval)
    result = run(digits, submission, budget=1.0, eval_period=0.0)

    times = [row["submission_time"] for row in result.evals]
    assert times[0] >= 0.2  # the first eval already paid for one prepare_for_eval
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:]))
    assert 3 <= len(times) <= 5  # 1.0 s budget / 0.2 s per prepare


class SlowSetup:
    def init_model_fn(self, rng):
        time.sleep(0.3)
        return super().init_model_fn(rng)


def test_set_up_is_not_timed(digits, adamw):
    digits.override(target=UNREACHABLE)
    workload = subclass(digits, SlowSetup)
    submission = slowed(adamw, init_optimizer_state=0.3)
    started = time.perf_counter()
    result = run(workload, submission, budget=0.2, eval_period=100.0)
    wall = time.perf_counter() - started

    assert wall >= 0.6 + 0.2  # the set-up did happen ...
    assert result.evals[0]["step"] == 1
    assert result.evals[0]["submission_time"] < 0.3  # ... and is not on the clock (0.6 s if it were)


def test_training_complete_gets_one_final_eval(digits, adamw):
    digits.override(target=UNREACHABLE)
    update = adamw.update_params

    def update_params(*args, **kwargs):
        if args[9] == 4:  # global_step: the fifth step ends training
            raise spec.TrainingCompleteError
        return update(*args, **kwargs)

    result = run(digits, dataclasses.replace(adamw, update_params=update_params), budget=5.0, eval_period=100.0)
    assert result.status == "training_complete"
    assert [row["step"] for row in result.evals] == [1, 5]
    assert result.submission_time < 1.0


def test_exception_in_submission_fails_the_trial_only(digits, adamw):
    def update_params(*args, **kwargs):
        raise RuntimeError("boom in update_params")

    result = run(digits, dataclasses.replace(adamw, update_params=update_params))
    assert result.status == "failed" and not result.reached
    assert "boom in update_params" in result.error


def test_nonfinite_eval_is_diverged(digits, adamw):
    workload = subclass(digits, ScriptedEval, SCRIPT=[0.5, float("nan")])
    result = run(workload, adamw, budget=1.0, eval_period=0.0)
    assert result.status == "diverged" and "validation/accuracy" in result.error
    assert len(result.evals) == 2


def test_nonfinite_training_loss_stops_the_trial_at_once(digits, adamw):
    def update_params(workload, model, *args, **kwargs):
        out = adamw.update_params(workload, model, *args, **kwargs)
        if args[7] == 3:  # global_step: after the 4th update the weights are NaN
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
        return out

    result = run(digits, dataclasses.replace(adamw, update_params=update_params), budget=5.0, eval_period=100.0)
    # The 5th update computes a NaN loss: the trial stops there, long before its next eval.
    assert result.status == "diverged" and result.steps == 5 and not result.reached
    assert result.error == "non-finite training loss by step 5"
    assert [row["step"] for row in result.evals] == [1]


def test_only_a_steps_last_loss_counts_so_a_line_search_may_probe_an_infinite_one():
    watch = LossWatch(torch.device("cpu"))
    assert not watch.step_diverged()  # no loss computed through loss_fn this step
    watch.observe(torch.tensor(float("inf")))  # a probe, then the accepted point
    watch.observe(torch.tensor(2.5, requires_grad=True))
    assert not watch.step_diverged()
    watch.observe(torch.tensor(float("nan")))
    assert watch.step_diverged()
    watch.observe(torch.tensor(1.0))
    assert watch.step_diverged()  # once diverged, always


def test_reaches_the_digits_target(digits, adamw):
    result = train_point(digits, adamw, ADAMW_POINT, seed=0, batch_size=64)  # as a trial runs: cpu clock, checkpoints
    assert result.reached and result.status == "reached", result.evals[-1]
    assert result.time_to_target <= digits.max_allowed_runtime_sec
    reached = lambda row: digits.target.reached(row[f"validation/{digits.target.metric}"])  # noqa: E731
    last = result.evals[-1]
    assert reached(last) and not last["checkpoint"]
    # The time to target is that of the first row that reaches it: the eval, or a checkpoint before it.
    first = next(row for row in result.evals if reached(row))
    assert (first["step"], first["submission_time"]) == (result.steps_to_target, result.time_to_target)
