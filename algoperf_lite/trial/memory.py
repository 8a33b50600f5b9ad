"""The memory a training algorithm keeps: bytes of the tensors its optimizer state holds
(moments, preconditioners, averaged weights), machine-independent; the model's own
parameters and buffers are not counted, and storage shared by several tensors is counted
once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

MAX_DEPTH = 12  # optimizer states nest a few levels (dicts of optimizers of param groups)


def _tensors(obj: Any, seen: set[int], depth: int = 0) -> Iterator[torch.Tensor]:
    """Every tensor reachable from ``obj`` through containers, optimizers and plain objects."""
    if depth > MAX_DEPTH or id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors(value, seen, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for value in obj:
            yield from _tensors(value, seen, depth + 1)
    elif isinstance(obj, torch.optim.Optimizer):
        yield from _tensors(obj.state, seen, depth + 1)  # per-parameter state, not the param groups' params
        for optimizer in getattr(obj, "optimizers", ()):  # several optimizers as one (submission_kit)
            yield from _tensors(optimizer, seen, depth + 1)
    elif isinstance(obj, torch.nn.Module):
        yield from _tensors(list(obj.parameters()) + list(obj.buffers()), seen, depth + 1)
    elif hasattr(obj, "__dict__") and not callable(obj):
        yield from _tensors(vars(obj), seen, depth + 1)


def state_bytes(optimizer_state: Any, model: torch.nn.Module) -> int:
    """Bytes of the distinct tensor storage ``optimizer_state`` holds beyond ``model``'s own."""
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    sizes: dict[int, int] = {}
    for tensor in _tensors(optimizer_state, set()):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            sizes[storage.data_ptr()] = storage.nbytes()
    return sum(sizes.values())
