"""The native submission form: an optimizer factory, an optional schedule and batch
size, adapted here to the AlgoPerf contract.

A native ``submission.py`` defines:

    def make_optimizer(model, hp, workload) -> torch.optim.Optimizer   # required
    schedule = warmup_cosine()       # optional: (step, step_hint, hp) -> lr multiplier
    batch_size = 128                 # optional: None means the workload's default

plus ``tuning_search_space.json`` (external tuning) and ``self_tuning.json`` (the fixed
point it uses when self-tuning passes no hyperparameters). If the point has
``label_smoothing``, ``grad_clip`` or ``dropout_rate``, they are applied as in
AlgoPerf's baselines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.nn as dist_nn

from algoperf_lite import spec
from algoperf_lite.hyperparameters import as_hyperparameters

Schedule = Callable[[int, int, Any], float]


def _warmup_then(decay: Callable[[float], float], warmup_key: str) -> Schedule:
    def schedule(step: int, step_hint: int, hp: Any) -> float:
        warmup = int(getattr(hp, warmup_key, 0.0) * step_hint)
        if step < warmup:
            return step / warmup
        progress = (step - warmup) / max(step_hint - warmup, 1)
        return decay(min(progress, 1.0))

    return schedule


def warmup_cosine(warmup_key: str = "warmup_factor") -> Schedule:
    """Linear warmup over ``hp.<warmup_key> * step_hint`` steps, then cosine decay to 0
    at ``step_hint`` (AlgoPerf's NAdamW baseline schedule)."""
    return _warmup_then(lambda p: 0.5 * (1.0 + math.cos(math.pi * p)), warmup_key)


def warmup_linear(warmup_key: str = "warmup_factor", end_factor: float = 0.0) -> Schedule:
    """Linear warmup, then linear decay to ``end_factor`` of the peak at ``step_hint``."""
    return _warmup_then(lambda p: 1.0 - (1.0 - end_factor) * p, warmup_key)


class NativeAdapter:
    """Presents a native module as the five AlgoPerf submission functions."""

    def __init__(self, module: ModuleType, self_tuning_point: dict[str, Any] | None):
        self.make_optimizer = module.make_optimizer
        self.schedule: Schedule | None = getattr(module, "schedule", None)
        self.batch_size: int | None = getattr(module, "batch_size", None)
        self.self_tuning_point = self_tuning_point

    def _point(self, hyperparameters: Any) -> Any:
        if hyperparameters is not None:
            return hyperparameters
        if self.self_tuning_point is None:
            raise ValueError("self-tuning passes no hyperparameters and this submission has no self_tuning.json")
        return as_hyperparameters(self.self_tuning_point)

    def init_optimizer_state(self, workload, model_params, model_state, hyperparameters, rng):
        hp = self._point(hyperparameters)
        optimizer = self.make_optimizer(model_params, hp, workload)
        scheduler = None
        if self.schedule is not None:
            step_hint, schedule = workload.step_hint, self.schedule
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: schedule(step, step_hint, hp)
            )
        return {"optimizer": optimizer, "scheduler": scheduler, "hp": hp}

    def update_params(
        self, workload, current_param_container, current_params_types, model_state,
        hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
        rng, train_state=None,
    ):
        hp, optimizer = optimizer_state["hp"], optimizer_state["optimizer"]
        model = current_param_container
        optimizer.zero_grad(set_to_none=True)
        logits, new_model_state = workload.model_fn(
            model, batch, model_state, spec.ForwardPassMode.TRAIN, rng,
            update_batch_norm=True, dropout_rate=getattr(hp, "dropout_rate", None),
        )
        losses = workload.loss_fn(
            batch["targets"], logits, batch.get("weights"),
            label_smoothing=getattr(hp, "label_smoothing", 0.0),
        )
        summed, n_valid = losses["summed"], losses["n_valid_examples"]
        if dist.is_initialized() and dist.get_world_size() > 1:
            # The global mean: DDP averages gradients over ranks, all_reduce's backward sums.
            summed, n_valid = dist_nn.all_reduce(summed), dist_nn.all_reduce(n_valid)
        (summed / n_valid).backward()
        grad_clip = getattr(hp, "grad_clip", None)
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=grad_clip)
        optimizer.step()
        if optimizer_state["scheduler"] is not None:
            optimizer_state["scheduler"].step()
        return optimizer_state, model, new_model_state

    def get_batch_size(self, workload_name: str) -> int:
        if self.batch_size is None:
            raise ValueError("no batch size declared: use the workload's default")
        return int(self.batch_size)

    @staticmethod
    def data_selection(workload, input_queue: Iterator, optimizer_state, current_param_container,
                       model_state, hyperparameters, global_step, rng):
        return next(input_queue)
