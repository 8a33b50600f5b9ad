"""Stop a diverging trial at once: the last training loss a submission computed in a step
through ``workload.loss_fn`` is checked for NaN/inf, without a device synchronization.

Only the step's last loss counts, so that a line search may probe a point whose loss is
infinite and back off. On a CPU the value is read directly (there is no synchronization
to avoid). On a GPU a flag on the device accumulates "a step's loss was not finite" and
is copied asynchronously into pinned host memory that the runner reads: the copy lands
within a step or two of the bad loss. A submission that computes its loss some other way
is still caught at its next eval, whose metrics the runner checks too."""

from __future__ import annotations

import math

import torch


class LossWatch:
    def __init__(self, device: torch.device):
        self._on_device = device.type == "cuda"
        self._seen_nonfinite = False
        # The step's last loss, reduced at once to "not finite": a CPU bool, or a device
        # tensor. Holding the loss itself until the step ends costs more (its graph lives on).
        self._step_bad: bool | torch.Tensor | None = None
        if self._on_device:
            self._flag = torch.zeros((), dtype=torch.bool, device=device)
            self._host = torch.zeros((), dtype=torch.bool).pin_memory()

    def observe(self, summed: torch.Tensor) -> None:
        """Called with each training loss (AlgoPerf's ``summed``) as it is computed."""
        try:
            if self._on_device:
                self._step_bad = ~torch.isfinite(summed.detach()).all()
            else:
                self._step_bad = not math.isfinite(summed.item())
        except RuntimeError:  # not a plain tensor (one made under torch.func): the eval check remains
            self._step_bad = None

    def step_diverged(self) -> bool:
        """Called once per step, after ``update_params``: whether a step's last loss so far
        was not finite (read from host memory only)."""
        bad, self._step_bad = self._step_bad, None
        if isinstance(bad, torch.Tensor):
            torch.logical_or(self._flag, bad, out=self._flag)
            self._host.copy_(self._flag, non_blocking=True)
        elif bad:
            self._seen_nonfinite = True
        return self._seen_nonfinite or (self._on_device and bool(self._host))
