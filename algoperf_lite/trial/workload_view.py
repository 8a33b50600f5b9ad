"""What a submission is handed as ``workload``: the contract and nothing else.

The view exposes exactly the public names of :class:`spec.WorkloadContract` (model_fn,
loss_fn, parameter shapes and types, step hint, budget, ...), read from the workload it
wraps. The data splits and the eval are not among them, and no attribute of the view
leads to the workload: its functions are plain functions, not the workload's bound
methods (whose ``__self__`` is the workload), and it reads contract names only. Python
cannot stop deliberate introspection (a function's closure, the caller's frames, ``gc``);
the rules forbid it, and docs/rules.md says how it would show in the record."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from algoperf_lite import spec

CONTRACT = frozenset(name for name in dir(spec.WorkloadContract) if not name.startswith("_"))
# Wrapped once (called every step); the rest is read through when asked.
METHODS = tuple(sorted(n for n in CONTRACT if inspect.isfunction(getattr(spec.WorkloadContract, n))))


def _watched_loss_fn(loss_fn: Callable[..., Any], on_loss: Callable[[Any], None]) -> Callable[..., Any]:
    # The contract's signature, spelled out: called at every step, and packing *args and
    # **kwargs there costs about as much as the divergence check itself.
    def watched(label_batch: Any, logits_batch: Any, mask_batch: Any = None, label_smoothing: float = 0.0) -> Any:
        losses = loss_fn(label_batch, logits_batch, mask_batch, label_smoothing=label_smoothing)
        on_loss(losses["summed"])
        return losses

    return watched


def _in_contract(name: str) -> str:
    if name not in CONTRACT:
        raise AttributeError(f"workload.{name} is not part of the submission contract "
                             f"(available: {', '.join(sorted(CONTRACT))})")
    return name


def _plain(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` as a plain function, without the bound method's ``__self__``."""

    def plain(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    plain.__name__ = plain.__qualname__ = method.__name__
    plain.__doc__ = method.__doc__
    return plain


class WorkloadView:
    __slots__ = ("_read", "_renamed", *METHODS)

    def __init__(self, workload: spec.Workload, on_loss: Callable[[Any], None] | None = None,
                 param_names: dict[str, str] | None = None):
        """``on_loss`` sees every training loss the submission computes (the runner's
        divergence check). ``param_names`` maps the workload's parameter names to those
        of the model the submission is handed, when the runner wrapped it (DDP,
        ``torch.compile`` prefix the names): the shape and type trees use those."""
        object.__setattr__(self, "_read", lambda name: getattr(workload, _in_contract(name)))
        object.__setattr__(self, "_renamed", param_names)
        for name in METHODS:
            object.__setattr__(self, name, _plain(getattr(workload, name)))
        if on_loss is not None:
            object.__setattr__(self, "loss_fn", _watched_loss_fn(workload.loss_fn, on_loss))

    def __getattr__(self, name: str) -> Any:
        value = self._read(name)
        if self._renamed is not None and name in ("param_shapes", "model_params_types"):
            return {self._renamed[k]: v for k, v in value.items()}
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a submission may not change workload.{name}")
