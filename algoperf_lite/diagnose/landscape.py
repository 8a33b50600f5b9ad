"""The loss around a trained model: along the straight line from its initial to its final
weights (Goodfellow et al. 2015), and on a plane through the final weights spanned by two
filter-normalized random directions (Li et al. 2018, "Visualizing the loss landscape of neural
nets"), so that the planes of differently scaled networks compare.

Weights are lists of tensors in ``model.parameters()`` order; ``loss_at`` evaluates the loss
with the model's parameters set to given values (and leaves them there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

Weights = list[torch.Tensor]
LossAt = Callable[[Weights], float]


def filter_normalized_direction(weights: Weights, generator: torch.Generator) -> Weights:
    """A Gaussian direction, each filter (row along the first axis: a conv filter, a linear
    layer's output unit, an embedding row) rescaled to the norm of the same filter of
    ``weights``. Biases and normalization parameters (1-D) get 0, as Li et al. do, so the plane
    moves only what has a scale to compare against."""
    direction = []
    for w in weights:
        d = torch.randn(w.shape, generator=generator, dtype=torch.float32).to(w.device, w.dtype)
        if w.dim() <= 1:
            direction.append(torch.zeros_like(w))
            continue
        rows, d_rows = w.reshape(len(w), -1), d.reshape(len(d), -1)
        scale = rows.norm(dim=1, keepdim=True) / (d_rows.norm(dim=1, keepdim=True) + 1e-10)
        direction.append((d_rows * scale).view_as(w))
    return direction


def directions(weights: Weights, seed: int) -> tuple[Weights, Weights]:
    """Two filter-normalized directions from ``seed`` (drawn on the CPU: the same on any device,
    and the same raw draws for every model of one architecture)."""
    generator = torch.Generator().manual_seed(seed)
    return filter_normalized_direction(weights, generator), filter_normalized_direction(weights, generator)


def line(loss_at: LossAt, start: Weights, end: Weights, alphas: Sequence[float]) -> np.ndarray:
    """The loss at (1 - a) start + a end for each a (0: the initial weights, 1: the final)."""
    return np.array([loss_at([s + a * (e - s) for s, e in zip(start, end)]) for a in alphas])


def plane(loss_at: LossAt, center: Weights, first: Weights, second: Weights,
          coordinates: Sequence[float]) -> np.ndarray:
    """loss[i, j] at center + coordinates[i] first + coordinates[j] second."""
    return np.array([[loss_at([c + a * d1 + b * d2 for c, d1, d2 in zip(center, first, second)])
                      for b in coordinates] for a in coordinates])
