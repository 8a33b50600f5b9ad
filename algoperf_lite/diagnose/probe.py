"""A workload's training loss on fixed batches, as a function of a model's weights: what every
diagnostic evaluates. Only the contract is used (``build_train_queue``, ``model_fn``,
``loss_fn``), so any workload with a loss on a batch can be diagnosed.

The forward pass is the training one with dropout off and BatchNorm's running statistics left
alone (batch statistics, not updated): a deterministic function of the weights, and the loss the
optimizer itself descended.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from algoperf_lite import spec
from algoperf_lite.errors import UserError

from .landscape import LossAt

Batch = dict[str, torch.Tensor]


@dataclass
class Probe:
    """Fixed training batches of one workload (the first is the Hessian's and the landscape's)."""

    workload: spec.Workload
    batches: list[Batch]

    @classmethod
    def of(cls, workload: spec.Workload, batch_size: int, seed: int, count: int = 1) -> Probe:
        """``count`` batches of ``batch_size`` examples (at most the training set) from the
        workload's training queue seeded by ``seed``: the same for every submission."""
        workload.prepare()
        size = min(batch_size, workload.num_train_examples)
        queue = workload.build_train_queue(size, seed)
        return cls(workload, [next(queue) for _ in range(count)])

    def forward(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                    torch.Tensor]:
        """(summed loss, number of valid examples, per-example loss, logits) through the workload's
        own model_fn and loss_fn; UserError when the workload has no loss on a batch."""
        try:
            logits, _ = self.workload.model_fn(model, batch, None, spec.ForwardPassMode.TRAIN, 0,
                                               update_batch_norm=False, dropout_rate=0.0)
            out = self.workload.loss_fn(batch["targets"], logits, batch.get("weights"))
            summed, count, per_example = out["summed"], out["n_valid_examples"], out["per_example"]
        except (NotImplementedError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise UserError(f"workload {self.workload.name} has no training loss on a batch "
                            f"(model_fn and loss_fn on a batch of its training queue: {type(e).__name__}: {e}); "
                            f"diagnose needs one") from None
        if not (isinstance(summed, torch.Tensor) and summed.dim() == 0):
            raise UserError(f"workload {self.workload.name}'s loss_fn returns {type(summed).__name__} as its "
                            f"summed loss, not a scalar tensor; diagnose needs one")
        return summed, count, per_example, logits

    def loss(self, model: torch.nn.Module) -> torch.Tensor:
        """The mean training loss on the first batch (differentiable when grad is enabled)."""
        summed, count, _, _ = self.forward(model, self.batches[0])
        return summed / count

    def loss_at(self, model: torch.nn.Module) -> LossAt:
        """A function of a list of weights (in ``model.parameters()`` order): sets them in the
        model and returns the loss on the first batch as a float."""
        params = list(model.parameters())

        @torch.no_grad()
        def evaluate(weights: list[torch.Tensor]) -> float:
            for p, w in zip(params, weights):
                p.copy_(w)
            return float(self.loss(model))

        return evaluate
