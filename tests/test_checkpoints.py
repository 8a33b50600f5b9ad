"""Time to target between evals: checkpoints kept off the clock and bisected once an eval
reaches the target (algoperf_lite/trial/checkpoints.py).

The submission here does no training: each step sets one weight to the number of steps
done and burns 2 ms of CPU, and the "accuracy" is that weight / 1000, so the target 0.2 is first met after step
200 and every checkpoint's metric is known by hand."""

from __future__ import annotations

import dataclasses

import torch

from algoperf_lite import spec
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from conftest import ADAMW_POINT
from test_clock import burn

PERIOD = 0.25  # s of submission time between evals: about 125 steps


def counter_submission(adamw, calls):
    def update_params(workload, model, *args, **kwargs):
        with torch.no_grad():
            next(model.parameters()).view(-1)[0] = args[7] + 1  # global_step + 1
        burn(0.002)
        return args[5], model, args[1]  # optimizer_state, model, model_state

    def prepare_for_eval(workload, model, types, model_state, hp, loss_type, opt, evals, step, rng):
        calls.append(step)
        return opt, model, model_state

    return dataclasses.replace(adamw, init_optimizer_state=lambda *args: {}, update_params=update_params,
                               prepare_for_eval=prepare_for_eval)


def counted(model, model_state):
    value = float(next(model.parameters()).detach().view(-1)[0]) / 1000
    return {"train/loss": 1.0, "validation/loss": 1.0, "validation/accuracy": value}


def run(digits, adamw, calls, **fields):
    digits.override(target=spec.Target("accuracy", 0.2, maximize=True))
    submission = counter_submission(adamw, calls)
    fields = {"budget_sec": 30.0, "eval_period_sec": PERIOD, **fields}
    record = TrialRecord.of(digits, submission, hyperparameters={}, seed=0, batch_size=64, **fields)
    return train(digits, submission, record, evaluate=counted)


def test_time_to_target_is_the_first_checkpoint_that_reaches_it(digits, adamw):
    calls = []
    result = run(digits, adamw, calls)
    assert result.reached and result.status == "reached"
    rows = result.evals
    assert [r["submission_time"] for r in rows] == sorted(r["submission_time"] for r in rows)
    evals, checks = [r for r in rows if not r["checkpoint"]], [r for r in rows if r["checkpoint"]]
    assert evals[-1]["validation/accuracy"] >= 0.2 and all(r["validation/accuracy"] < 0.2 for r in evals[:-1])
    assert 2 <= len(checks) <= 6  # a bisection over at most 32 checkpoints: at most 6 evals, not one each
    found = next(r for r in rows if r["validation/accuracy"] >= 0.2)
    assert found["checkpoint"] and (found["step"], found["submission_time"]) == (
        result.steps_to_target, result.time_to_target)
    # Each row's metric is its step's (checkpoints hold the weights of their own step).
    assert all(r["validation/accuracy"] == r["step"] / 1000 for r in rows)
    # The row before it does not reach the target, and no checkpoint was kept between the
    # two (the bisection ends on neighbours): the time is known to within one gap.
    before = rows[rows.index(found) - 1]
    assert before["validation/accuracy"] < 0.2
    gap = found["submission_time"] - before["submission_time"]
    assert gap <= max(0.02 * before["submission_time"], PERIOD / 32) + 0.02
    assert before["step"] < 200 <= found["step"] <= before["step"] + 10 <= evals[-1]["step"] + 10
    # prepare_for_eval ran, on the clock, at every eval and every checkpoint.
    assert len(calls) == len(evals) + result.num_checkpoints


def test_the_model_gets_its_weights_back_after_the_bisection(digits, adamw):
    result = run(digits, adamw, [], stop_at_target=False, max_steps=400)
    later = [r for r in result.evals if not r["checkpoint"] and r["step"] > result.steps_to_target]
    assert later and all(r["validation/accuracy"] == r["step"] / 1000 for r in later)
    assert result.status == "training_complete" and result.steps == 400


def test_evals_only_without_a_resolution(digits, adamw):
    calls = []
    result = run(digits, adamw, calls, time_resolution=0.0)
    assert result.num_checkpoints == 0 and not any(r["checkpoint"] for r in result.evals)
    assert (result.steps_to_target, result.time_to_target) == (result.evals[-1]["step"],
                                                                result.evals[-1]["submission_time"])


def test_a_checkpoint_is_evaluated_on_the_validation_split_alone(digits, adamw):
    model, state = digits.init_model_fn(0)
    full, validation = digits.eval_model(model, state), digits.eval_validation(model, state)
    assert set(validation) == {k for k in full if k.startswith("validation/")} and validation
    assert all(validation[k] == full[k] for k in validation)
    calls = []
    digits.override(target=spec.Target("accuracy", 0.95, maximize=True))
    real = digits.eval_validation
    digits.eval_validation = lambda *args: calls.append(1) or real(*args)
    result = train(digits, adamw, TrialRecord.of(digits, adamw, hyperparameters=ADAMW_POINT, seed=0, batch_size=64))
    assert result.reached and len(calls) == sum(r["checkpoint"] for r in result.evals) > 0
    assert all(("train/loss" in r) != r["checkpoint"] for r in result.evals)


def test_a_budget_spent_between_evals_still_finds_the_checkpoint_that_reached(digits, adamw):
    result = run(digits, adamw, [], budget_sec=0.6, eval_period_sec=100.0)  # one eval only: after step 1
    assert result.reached and result.status == "reached" and result.steps_to_target >= 200
    evals, checks = [r for r in result.evals if not r["checkpoint"]], [r for r in result.evals if r["checkpoint"]]
    assert [r["step"] for r in evals] == [1] and checks and checks[-1]["validation/accuracy"] >= 0.2
    found = next(r for r in result.evals if r["validation/accuracy"] >= 0.2)
    before = result.evals[result.evals.index(found) - 1]
    assert (found["step"], found["submission_time"]) == (result.steps_to_target, result.time_to_target)
    assert before["step"] < 200 <= found["step"] and found["submission_time"] <= 0.6

    digits.override(target=spec.Target("accuracy", 0.9, maximize=True))  # never reached: one look at the last copy
    result = train(digits, counter_submission(adamw, []), TrialRecord.of(
        digits, counter_submission(adamw, []), hyperparameters={}, seed=0, batch_size=64, budget_sec=0.6,
        eval_period_sec=100.0), evaluate=counted)
    assert not result.reached and result.status == "budget_exhausted"
    assert [r["checkpoint"] for r in result.evals] == [False, True]
