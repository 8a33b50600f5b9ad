"""The native submission form: an optimizer factory, an optional schedule and batch
size, adapted here to the AlgoPerf contract.

A native ``submission.py`` defines:

    def make_optimizer(model, hp, workload) -> torch.optim.Optimizer   # required
    schedule = warmup_cosine()       # optional: (step, step_hint, hp) -> lr multiplier
    batch_size = 128                 # optional: None means the workload's default

plus ``tuning_search_space.json`` (external tuning) and ``self_tuning.json`` (the fixed
point the runner passes under self-tuning, in either form). If the point has
``label_smoothing``, ``grad_clip`` or ``dropout_rate``, they are applied as in
AlgoPerf's baselines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from algoperf_lite import submission_kit

Schedule = Callable[[int, int, Any], float]


def _value(hp: Any, value: float | str) -> float:
    """A number, or the name of the hyperparameter that holds it."""
    return float(getattr(hp, value)) if isinstance(value, str) else float(value)


def _warmup_then(decay: Callable[[float, Any], float], warmup_key: str,
                 decay_steps_factor: float | str = 1.0) -> Schedule:
    def schedule(step: int, step_hint: int, hp: Any) -> float:
        warmup = int(getattr(hp, warmup_key, 0.0) * step_hint)
        if step < warmup:
            return step / warmup
        decay_steps = max(int(_value(hp, decay_steps_factor) * (step_hint - warmup)), 1)
        return decay(min((step - warmup) / decay_steps, 1.0), hp)

    return schedule


def warmup_cosine(warmup_key: str = "warmup_factor") -> Schedule:
    """Linear warmup over ``hp.<warmup_key> * step_hint`` steps, then cosine decay to 0
    at ``step_hint`` (AlgoPerf's NAdamW baseline schedule)."""
    return _warmup_then(lambda p, hp: 0.5 * (1.0 + math.cos(math.pi * p)), warmup_key)


def warmup_linear(warmup_key: str = "warmup_factor", end_factor: float | str = 0.0,
                  decay_steps_factor: float | str = 1.0) -> Schedule:
    """Linear warmup, then linear decay to ``end_factor`` of the peak over
    ``decay_steps_factor`` of the steps left to ``step_hint``, constant after (AlgoPerf's
    momentum and Nesterov baselines). ``end_factor`` and ``decay_steps_factor`` are
    numbers or names of hyperparameters (``end_factor="end_factor"`` tunes it)."""
    return _warmup_then(lambda p, hp: 1.0 - (1.0 - _value(hp, end_factor)) * p, warmup_key,
                        decay_steps_factor)


class NativeAdapter:
    """Presents a native module as the five AlgoPerf submission functions."""

    def __init__(self, module: ModuleType):
        self.make_optimizer = module.make_optimizer
        self.schedule: Schedule | None = getattr(module, "schedule", None)
        self.batch_size: int | None = getattr(module, "batch_size", None)

    def init_optimizer_state(self, workload, model_params, model_state, hyperparameters, rng):
        hp = hyperparameters
        optimizer = self.make_optimizer(model_params, hp, workload)
        scheduler = submission_kit.lr_scheduler(optimizer, self.schedule, workload.step_hint, hp)
        return {"optimizer": optimizer, "scheduler": scheduler, "hp": hp}

    def update_params(
        self, workload, current_param_container, current_params_types, model_state,
        hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
        rng, train_state=None,
    ):
        hp, optimizer = optimizer_state["hp"], optimizer_state["optimizer"]
        model = current_param_container
        optimizer.zero_grad(set_to_none=True)
        _, new_model_state = submission_kit.backward(workload, model, model_state, hp, batch, rng)
        submission_kit.clip_gradients(model, hp)
        optimizer.step()
        if optimizer_state["scheduler"] is not None:
            optimizer_state["scheduler"].step()
        return optimizer_state, model, new_model_state

    def get_batch_size(self, workload_name: str) -> int:
        if self.batch_size is None:
            raise ValueError("no batch size declared: use the workload's default")
        return int(self.batch_size)

    data_selection = staticmethod(submission_kit.data_selection)
