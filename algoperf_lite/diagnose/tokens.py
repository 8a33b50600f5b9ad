"""The final training loss by token frequency, for language models: does an optimizer leave the
rare tokens behind? (Kunstner et al. 2024, "Heavy-tailed class imbalance and why Adam
outperforms gradient descent on language models".)

The vocabulary is sorted by how often each token is a training target and cut into tenths, most
to least frequent; each tenth's loss is the mean per-token training loss over the positions of
the probe's batches whose target is one of its tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .probe import Probe

BUCKETS = 10


def is_sequence_model(probe: Probe) -> bool:
    """Targets that are integer sequences (a token per position): a language model."""
    targets = probe.batches[0]["targets"]
    return targets.dim() >= 2 and not torch.is_floating_point(targets)


def target_counts(probe: Probe, vocab: int) -> np.ndarray:
    """How often each token is a training target: over the whole training split when the
    workload keeps it as tensors (algoperf_lite.workload_kit), else over the probe's batches."""
    splits = getattr(probe.workload, "splits", None)
    sources = [splits.train.targets] if splits is not None else [b["targets"] for b in probe.batches]
    counts = np.zeros(vocab, dtype=np.int64)
    for targets in sources:
        valid = targets[(targets >= 0) & (targets < vocab)]  # padding (negative) is not a token
        counts += np.bincount(valid.reshape(-1).cpu().numpy(), minlength=vocab)[:vocab]
    return counts


@torch.no_grad()
def loss_by_frequency(probe: Probe, model: torch.nn.Module) -> list[dict[str, Any]]:
    """Per tenth of the vocabulary, most frequent first: its tokens, its share of the training
    targets, the probe positions it covers and their mean loss (None where it covers none)."""
    losses, targets, vocab = [], [], 0
    for batch in probe.batches:
        _, _, per_example, logits = probe.forward(model, batch)
        valid = batch["targets"] >= 0
        losses.append(per_example[valid].float().cpu())
        targets.append(batch["targets"][valid].cpu())
        vocab = logits.shape[-1]
    loss, target = torch.cat(losses).numpy(), torch.cat(targets).numpy()
    counts = target_counts(probe, vocab)
    order = np.argsort(-counts, kind="stable")  # most frequent first; ties by token id
    out = []
    for tokens in np.array_split(order, min(BUCKETS, len(order))):
        covered = np.isin(target, tokens)
        out.append({"tokens": len(tokens), "share": float(counts[tokens].sum() / max(counts.sum(), 1)),
                    "positions": int(covered.sum()), "loss": float(loss[covered].mean()) if covered.any() else None})
    return out
