"""Pieces that training algorithms share, for submissions in either form: the training
loss and its gradients (dropout, label smoothing, global mean under DDP), several
optimizers stepped as one, and swapping in averaged weights for an eval.

A submission in the AlgoPerf form imports what it needs and writes only what is its
own; ``data_selection`` and ``get_batch_size`` here are the usual defaults."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.distributed as dist

from algoperf_lite import spec


def backward(workload: spec.Workload, model: torch.nn.Module, model_state: spec.ModelAuxiliaryState,
             hp: Any, batch: dict[str, spec.Tensor], rng: spec.RandomState,
             update_batch_norm: bool = True) -> tuple[torch.Tensor, spec.ModelAuxiliaryState]:
    """Forward and backward pass of the mean training loss over the (global) batch;
    accumulates into ``.grad``. Returns (the loss, new model state): a scalar whose graph
    the backward pass has freed (``.item()`` reads it; ``.detach()`` it to keep it past
    the step). Applies ``hp.dropout_rate`` and ``hp.label_smoothing`` when the point has
    them."""
    logits, new_model_state = workload.model_fn(
        model, batch, model_state, spec.ForwardPassMode.TRAIN, rng,
        update_batch_norm=update_batch_norm, dropout_rate=getattr(hp, "dropout_rate", None),
    )
    losses = workload.loss_fn(batch["targets"], logits, batch.get("weights"),
                              label_smoothing=getattr(hp, "label_smoothing", 0.0))
    summed, n_valid = losses["summed"], losses["n_valid_examples"]
    if dist.is_initialized() and dist.get_world_size() > 1:
        # The global mean over ranks, in one collective. DDP averages the gradients over
        # the W ranks, so each rank backpropagates W x its sum / the global count.
        totals = torch.stack([summed.detach(), torch.as_tensor(n_valid, dtype=summed.dtype, device=summed.device)])
        dist.all_reduce(totals)
        (summed * (dist.get_world_size() / totals[1])).backward()
        return totals[0] / totals[1], new_model_state
    loss = summed / n_valid
    loss.backward()
    # Not detached: every caller here drops it, and a detach at every step is 0.5% of a
    # digits_logreg step (7,000 instructions of 1.3 million, counted by callgrind).
    return loss, new_model_state


def clip_gradients(model: torch.nn.Module, hp: Any) -> None:
    """Clip the global gradient norm to ``hp.grad_clip`` when the point has it."""
    grad_clip = getattr(hp, "grad_clip", None)
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=grad_clip)


def lr_scheduler(optimizer: torch.optim.Optimizer, schedule: Callable[[int, int, Any], float] | None,
                 step_hint: int, hp: Any) -> torch.optim.lr_scheduler.LambdaLR | None:
    """``schedule(step, step_hint, hp)`` (see :mod:`algoperf_lite.native`) as a scheduler
    that multiplies every group's learning rate; None for no schedule."""
    if schedule is None:
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule(step, step_hint, hp))


class OptimizerGroup(torch.optim.Optimizer):
    """Several optimizers stepped as one, e.g. Muon for the hidden matrices and AdamW for
    the rest. The parameter groups are the members' own dicts, so a scheduler of this
    object scales every member's learning rate."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        self.optimizers = optimizers
        super().__init__([group for opt in optimizers for group in opt.param_groups], {})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = closure() if closure is not None else None
        for optimizer in self.optimizers:
            optimizer.step()
        return loss


@torch.no_grad()
def swap_(a: Iterable[torch.Tensor], b: Iterable[torch.Tensor]) -> None:
    """Exchange the values of two lists of tensors in place (the model keeps its
    parameter objects, so optimizers that hold them are unaffected)."""
    for x, y in zip(a, b, strict=True):
        held = x.clone()
        x.copy_(y)
        y.copy_(held)


def get_batch_size(workload_name: str) -> int:
    """No per-workload choice: the runner then uses the workload's default batch size
    (choosing by workload name is what the rules forbid)."""
    raise ValueError(f"no batch size chosen for {workload_name}: use the workload's default")


def data_selection(workload: spec.Workload, input_queue: Iterator[dict[str, spec.Tensor]],
                   optimizer_state: spec.OptimizerState, current_param_container: spec.ParameterContainer,
                   model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                   global_step: int, rng: spec.RandomState) -> dict[str, spec.Tensor]:
    """The next batch of the runner's shuffled queue."""
    return next(input_queue)
