"""One trial on several processes: torchrun + DistributedDataParallel.

Every rank draws the same global batch (same seeded queue) and keeps its slice, so the
run sees the same data as one process with the same global batch. Time readings are the
max over ranks, and ranks agree on stopping through a small CPU (gloo) collective per
step; only rank 0 writes results."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int
    world_size: int
    local_rank: int
    flags: object  # a gloo process group for host-side agreement (time, stop)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def max(self, value: float) -> float:
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.flags)
        return float(t.item())


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_by_torchrun() -> bool:
    return world_size() > 1


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


@functools.cache
def setup(device: torch.device) -> Ranks | None:
    """Join the process group torchrun describes in the environment (once per process);
    None when this is a single-process run."""
    if not launched_by_torchrun():
        return None
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    flags = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), flags)


def local_device(device: torch.device) -> torch.device:
    """On GPUs each rank takes the device of its local rank."""
    if launched_by_torchrun() and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def shard(queue: Iterator[dict[str, torch.Tensor]], ranks: Ranks) -> Iterator[dict[str, torch.Tensor]]:
    """This rank's slice of every global batch."""
    for batch in queue:
        size = len(batch["targets"])
        if size % ranks.world_size:
            raise ValueError(f"global batch size {size} is not divisible by {ranks.world_size} processes")
        per_rank = size // ranks.world_size
        lo = ranks.rank * per_rank
        yield {k: v[lo:lo + per_rank] for k, v in batch.items()}
