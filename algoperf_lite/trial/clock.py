"""The submission clock: the one object that measures time for scoring.

It counts only what runs between ``start``/``resume`` and ``pause``. Readings taken
for the record (``pause``, ``elapsed``) synchronize the device first, since on a GPU the
host only queues kernels; the per-step budget check uses ``host_elapsed``, which needs
no synchronization: it can only under-read while kernels are still queued, and every
eval and stop boundary is read synchronized."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def device_synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class SubmissionClock:
    def __init__(self, device: torch.device, timer: Callable[[], float] = time.perf_counter,
                 reduce_max: Callable[[float], float] | None = None):
        self._sync = device_synchronizer(device)
        self._timer = timer
        self._reduce = reduce_max  # None: one process, nothing to reduce (no call per step)
        self._accumulated = 0.0
        self._started_at: float | None = None

    @property
    def running(self) -> bool:
        return self._started_at is not None

    def start(self) -> None:
        """Begin (or resume) counting; waits for queued device work (set-up) first."""
        if self.running:
            raise RuntimeError("clock already running")
        self._sync()
        self._started_at = self._timer()

    resume = start

    def pause(self) -> float:
        """Stop counting and return the synchronized total."""
        total = self.elapsed()
        self._accumulated = total
        self._started_at = None
        return total

    def host_elapsed(self) -> float:
        """Total so far without synchronizing the device (cheap; for per-step checks)."""
        if self._started_at is None:
            return self._accumulated
        total = self._accumulated + self._timer() - self._started_at
        return total if self._reduce is None else self._reduce(total)

    def elapsed(self) -> float:
        """Total so far after the device has finished the queued work."""
        if self.running:
            self._sync()
        return self.host_elapsed()
