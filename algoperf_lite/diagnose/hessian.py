"""Sharpness: the largest eigenvalue of a loss's Hessian with respect to a model's parameters.

The Hessian is never formed. Lanczos iteration asks only for Hessian-vector products, each a
second backward pass through the graph of the gradient (Pearlmutter's trick; the graph is built
once). After k products the largest eigenvalue of the k x k tridiagonal matrix it builds (its
top Ritz value) is a lower bound on the Hessian's largest eigenvalue that rises towards it; the
largest algebraic one, not the largest in magnitude that power iteration finds. The iteration
stops when the Ritz pair's residual, beta_k |s_k|, is within ``tol`` of the value, or after
``max_products``, keeping the estimate so far. Without reorthogonalization it holds three
vectors, whatever the model's size: converged eigenvalues may come back as copies (Paige), which
leaves the top one as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.linalg import eigh_tridiagonal


@dataclass(frozen=True)
class Sharpness:
    value: float  # the largest eigenvalue found
    products: int  # Hessian-vector products it took
    converged: bool  # False: the best estimate after the allowed products


def top_eigenvalue(loss: torch.Tensor, params: list[torch.Tensor], max_products: int = 200, tol: float = 1e-3,
                   seed: int = 0) -> Sharpness:
    """The largest eigenvalue of the Hessian of ``loss`` (a scalar computed from ``params``, its
    graph kept) to relative accuracy ``tol``, from a seeded start: reproducible."""
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
    sizes = [p.numel() for p in params]
    device = params[0].device

    def product(v: torch.Tensor) -> torch.Tensor:
        dot = sum((g * part.view_as(g).to(g.dtype)).sum() for g, part in zip(grads, v.split(sizes)))
        hv = torch.autograd.grad(dot, params, retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if h is None else h).reshape(-1).double() for h, p in zip(hv, params)])

    q = torch.randn(sum(sizes), generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(device)
    q /= q.norm()
    previous, beta = torch.zeros_like(q), 0.0
    alphas: list[float] = []
    betas: list[float] = []
    value = float("nan")
    for k in range(1, max_products + 1):
        w = product(q) - beta * previous
        alpha = float(w @ q)
        w -= alpha * q
        alphas.append(alpha)
        ritz, vectors = eigh_tridiagonal(alphas, betas)
        value, beta = float(ritz[-1]), float(w.norm())
        scale = max(abs(value), abs(alpha), 1e-30)
        if beta * abs(vectors[-1, -1]) <= tol * scale or beta <= 1e-12 * scale:  # converged, or exact
            return Sharpness(value, k, True)
        betas.append(beta)
        previous, q = q, w / beta
    return Sharpness(value, max_products, False)
