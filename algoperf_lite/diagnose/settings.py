"""What every diagnostic is computed with (torch-free: the CLI builds it while parsing)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from algoperf_lite.errors import UserError


@dataclass(frozen=True)
class DiagnoseSettings:
    """What every diagnostic is computed with; its cost grows with each."""

    batch_size: int = 128  # examples (sequences for a language model) in the fixed batch
    token_batches: int = 4  # batches whose per-token losses the frequency buckets average
    line_points: int = 25  # losses on the line, from a = -0.25 to 1.25 (0: initial, 1: final)
    grid: int = 11  # the plane's losses: grid x grid, coordinates -1..1 in each direction
    max_products: int = 200  # Hessian-vector products allowed to the Lanczos iteration
    seed: int = 0  # of the fixed batches and of the plane's directions

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            least = 0 if f.name == "seed" else 3 if f.name in ("line_points", "grid", "max_products") else 1
            if value < least:
                raise UserError(f"--{f.name.replace('_', '-')} must be an integer >= {least}, got {value}")

    @property
    def alphas(self) -> np.ndarray:
        return np.linspace(-0.25, 1.25, self.line_points)

    @property
    def coordinates(self) -> np.ndarray:
        return np.linspace(-1.0, 1.0, self.grid)
