"""A small decoder-only transformer (nanoGPT's GPT), shared by the sequence workloads:
pre-norm causal blocks whose attention runs through ``scaled_dot_product_attention`` and
whose projections declare their parameter types (for optimizers that treat them apart)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from algoperf_lite import spec



def typed(module: nn.Module, **types: spec.ParameterType) -> nn.Module:
    """``module`` with declared parameter types (read by :func:`param_types_of`)."""
    module.param_types = types
    return module


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        # One fused projection, typed so that an optimizer can tell it from an MLP matrix.
        self.qkv = typed(nn.Linear(width, 3 * width, bias=False), weight=spec.ParameterType.ATTENTION_QKV)
        self.proj = typed(nn.Linear(width, width, bias=False), weight=spec.ParameterType.ATTENTION_OUT)

    def forward(self, x: torch.Tensor, dropout_rate: float) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=dropout_rate if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class MLP(nn.Module):
    """GPT-2's GELU MLP, or SwiGLU (Shazeer 2020) with a 2/3 as wide hidden layer so that
    both have the same number of parameters."""

    def __init__(self, width: int, kind: str = "gelu"):
        super().__init__()
        if kind not in ("gelu", "swiglu"):
            raise ValueError(f"unknown MLP kind {kind!r}")
        self.kind = kind
        hidden = 4 * width if kind == "gelu" else 8 * width // 3
        self.up = nn.Linear(width, hidden * (2 if kind == "swiglu" else 1), bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(x)
        if self.kind == "swiglu":
            value, gate = h.chunk(2, dim=-1)
            return self.down(value * F.silu(gate))
        return self.down(F.gelu(h))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp: str):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width, bias=False), nn.LayerNorm(width, bias=False)
        self.attn, self.mlp = CausalSelfAttention(width, heads), MLP(width, mlp)

    def forward(self, x: torch.Tensor, dropout_rate: float) -> torch.Tensor:
        x = x + F.dropout(self.attn(self.ln1(x), dropout_rate), dropout_rate, self.training)
        return x + F.dropout(self.mlp(self.ln2(x)), dropout_rate, self.training)


class DecoderTransformer(nn.Module):
    """Token and position embeddings, pre-norm causal blocks, a final LayerNorm and an
    untied linear head (``head.weight``, the output parameters). ``forward(tokens (B, T),
    dropout_rate)`` -> logits (B, T, num_outputs)."""

    def __init__(self, vocab_size: int, context: int, width: int, depth: int, heads: int,
                 mlp: str = "gelu", num_outputs: int | None = None):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, mlp) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width, bias=False)
        self.head = nn.Linear(width, num_outputs or vocab_size, bias=False)
        # GPT-2's init: N(0, 0.02), the projections into the residual stream scaled by
        # 1/sqrt(2 * depth) so that its variance does not grow with depth.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                residual = name.endswith(("attn.proj.weight", "mlp.down.weight"))
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * depth) if residual else 0.02)

    def forward(self, tokens: torch.Tensor, dropout_rate: float = 0.0) -> torch.Tensor:
        x = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1], device=tokens.device))
        x = F.dropout(x, dropout_rate, self.training)
        for block in self.blocks:
            x = block(x, dropout_rate)
        return self.head(self.ln_f(x))
