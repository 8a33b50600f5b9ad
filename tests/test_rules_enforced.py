"""Rules enforced by construction (docs/rules.md, "What a submission may not do")."""

from __future__ import annotations

import dataclasses
import types

import pytest
import torch

from algoperf_lite import spec
from algoperf_lite.trial.workload_view import WorkloadView
from conftest import ADAMW_POINT, train_point


def test_the_view_exposes_the_contract_but_no_data(digits):
    model, _ = digits.init_model_fn(0)
    view = WorkloadView(digits)
    assert view.step_hint == digits.step_hint
    assert view.model_params_types == digits.model_params_types
    logits, _ = view.model_fn(model, {"inputs": digits.splits.train.inputs[:4]}, None,
                              spec.ForwardPassMode.TRAIN, 0, True)
    assert logits.shape == (4, 10)
    for forbidden in ("splits", "eval_model", "build_train_queue", "_splits", "load_splits", "name"):
        with pytest.raises(AttributeError, match="not part of the submission contract"):
            getattr(view, forbidden)
    with pytest.raises(AttributeError, match="may not change"):
        view.step_hint = 1


# A function's internals (its closure cells, its module's globals, its code) lead anywhere
# in Python: what docs/rules.md says the rules forbid but Python cannot prevent.
INTERNALS = {"__closure__", "__globals__", "__builtins__", "__code__", "__func__"}


def _reachable(root: object, depth: int = 3) -> list[object]:
    """Every object reached from ``root`` through ``depth`` attribute reads (types, modules
    and numbers left out: the type machinery reaches every module)."""
    seen, frontier, found = {id(root)}, [root], []
    for _ in range(depth):
        reached = []
        for obj in frontier:
            for name in set(dir(obj)) - INTERNALS:
                try:
                    value = getattr(obj, name)
                except Exception:
                    continue
                if isinstance(value, (type, types.ModuleType, int, float, str, bytes)) or id(value) in seen:
                    continue
                seen.add(id(value))
                reached.append(value)
        found += reached
        frontier = reached
    return found


def test_no_attribute_of_the_view_reaches_the_workload_or_its_data(digits):
    model, _ = digits.init_model_fn(0)
    view = WorkloadView(digits, on_loss=lambda loss: None)
    with pytest.raises(AttributeError, match="not part of the submission contract"):
        view._read("_splits")  # the view reads contract names only
    assert not hasattr(view.model_fn, "__self__") and not hasattr(view.loss_fn, "__self__")
    hidden = {id(digits), id(digits.splits), *(id(t) for split in digits.splits for t in split)}
    assert [o for o in _reachable(view) if id(o) in hidden] == []
    logits, _ = view.model_fn(model, {"inputs": digits.splits.train.inputs[:4]}, None,
                              spec.ForwardPassMode.TRAIN, 0, True)  # and it still works
    assert logits.shape == (4, 10) and view.model_fn.__name__ == "model_fn"


def test_submission_code_sees_only_the_view_and_the_train_queue(digits, adamw):
    seen = []
    select = adamw.data_selection

    def data_selection(workload, queue, *args):
        seen.append((type(workload), workload is digits))
        return select(workload, queue, *args)

    result = train_point(digits, dataclasses.replace(adamw, data_selection=data_selection), ADAMW_POINT,
                   seed=0, batch_size=64, budget_sec=5.0, eval_period_sec=1.0, max_steps=3)
    assert result.status == "training_complete"
    assert set(seen) == {(WorkloadView, False)}


def test_evaluation_runs_in_eval_mode_without_gradients(digits, adamw):
    during_eval = []

    class Recording(type(digits)):
        def eval_model(self, params, model_state):
            hook = params.register_forward_pre_hook(
                lambda module, args: during_eval.append((module.training, torch.is_grad_enabled())))
            try:
                return super().eval_model(params, model_state)
            finally:
                hook.remove()

    digits.__class__ = Recording
    train_point(digits, adamw, ADAMW_POINT, seed=0, batch_size=64, budget_sec=5.0, eval_period_sec=1.0, max_steps=2)
    # two evals (after step 1 and the final one), each over eval-train (1,000 examples),
    # validation (500) and test (297) in CPU batches of 64: 16 + 8 + 5 forward passes
    assert digits.eval_batch_size == 64
    assert during_eval == [(False, False)] * 2 * (16 + 8 + 5)
