"""The parts of AlgoPerf's ``pytorch_utils`` that PyTorch submissions use."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from algoperf_lite.workload_kit import update_batch_norm_fn  # noqa: F401  (AlgoPerf's name)


def pytorch_setup() -> tuple[bool, int, torch.device, int]:
    """(use DDP, local rank, device, number of GPUs), read from torchrun's environment."""
    use_ddp = "LOCAL_RANK" in os.environ
    rank = int(os.environ["LOCAL_RANK"]) if use_ddp else 0
    device = torch.device(f"cuda:{rank}" if torch.cuda.is_available() else "cpu")
    return use_ddp, rank, device, torch.cuda.device_count()


def sync_ddp_time(time: float, device: torch.device) -> float:
    """The max of ``time`` over ranks."""
    t = torch.tensor(time, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


class CustomDropout(nn.Module):
    """Dropout whose rate is given at call time (AlgoPerf v0.6 models)."""

    def __init__(self) -> None:
        super().__init__()
        self._supports_custom_dropout = True

    def forward(self, x: torch.Tensor, p: float) -> torch.Tensor:
        return F.dropout(x, p, training=self.training)
