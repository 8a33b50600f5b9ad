"""What a submission is handed as ``workload``: the contract and nothing else.

The view forwards the attributes of AlgoPerf's workload interface that a training
algorithm may use (model_fn, loss_fn, parameter shapes and types, step hint, budget,
...). The data splits and the eval are not among them, so validation and test data are
not reachable through what a submission is handed (rules.md, "What a submission may not
do"). Python cannot stop deliberate introspection; the rules forbid it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from algoperf_lite import spec

METHODS = ("model_fn", "loss_fn", "output_activation_fn", "is_output_params")
CONTRACT = frozenset({
    *METHODS, "param_shapes", "model_params_types", "loss_type", "step_hint",
    "max_allowed_runtime_sec", "eval_period_time_sec", "target_metric_name",
    "validation_target_value", "test_target_value", "num_train_examples",
    "num_eval_train_examples", "num_validation_examples", "num_test_examples",
    "eval_batch_size", "train_mean", "train_stddev", "metrics_logger",
})


def _forward(workload: spec.Workload, name: str) -> Any:
    def method(*args: Any, **kwargs: Any) -> Any:
        return getattr(workload, name)(*args, **kwargs)

    method.__name__ = name
    return method


def _watched_loss_fn(workload: spec.Workload, on_loss: Callable[[torch.Tensor], None]) -> Callable[..., Any]:
    def loss_fn(*args: Any, **kwargs: Any) -> Any:
        losses = workload.loss_fn(*args, **kwargs)
        on_loss(losses["summed"])
        return losses

    return loss_fn


class WorkloadView:
    # The methods are set once (called every step: no lookup cost), the rest are read
    # through when asked (parameter types are re-keyed when the model is wrapped).
    __slots__ = ("_get", *METHODS)

    def __init__(self, workload: spec.Workload, on_loss: Callable[[torch.Tensor], None] | None = None):
        """``on_loss`` sees every training loss the submission computes (the runner's
        divergence check)."""
        object.__setattr__(self, "_get", lambda name: getattr(workload, name))
        for name in METHODS:
            object.__setattr__(self, name, _forward(workload, name))
        if on_loss is not None:
            object.__setattr__(self, "loss_fn", _watched_loss_fn(workload, on_loss))

    def __getattr__(self, name: str) -> Any:
        if name not in CONTRACT:
            raise AttributeError(
                f"workload.{name} is not part of the submission contract "
                f"(available: {', '.join(sorted(CONTRACT))})"
            )
        return self._get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a submission may not change workload.{name}")
