"""The hand-written NAdamW (submissions/nadamw) against AlgoPerf's update rule, written
out directly, on a small least-squares problem; and why torch.optim.NAdam is not it."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from conftest import REPO, load_module

LR, BETAS, EPS, WD = 0.01, (0.9, 0.99), 1e-8, 0.1


def submission_module(name: str):
    return load_module(REPO / "submissions" / name / "submission.py", f"test_baseline_{name}")


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b, p0 = rng.normal(size=(12, 5)), rng.normal(size=12), rng.normal(size=5)
    return a, b, p0


def rule(a, b, p, steps: int, lrs) -> list[np.ndarray]:
    """AlgoPerf's NAdamW (Choi et al. 2019, Table 1, with decoupled weight decay), in numpy."""
    (b1, b2), m, v, out = BETAS, np.zeros_like(p), np.zeros_like(p), []
    for t in range(1, steps + 1):
        lr = lrs[t - 1]
        g = a.T @ (a @ p - b)  # gradient of 0.5 * |a p - b|^2 at the current point
        p = p * (1 - lr * WD)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = (b1 * m + (1 - b1) * g) / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + EPS)
        out.append(p)
    return out


def run(optimizer_cls, a, b, p0, steps: int, lrs, **kwargs) -> list[np.ndarray]:
    p = torch.nn.Parameter(torch.tensor(p0))
    opt = optimizer_cls([p], lr=lrs[0], betas=BETAS, eps=EPS, weight_decay=WD, **kwargs)
    at, bt, out = torch.tensor(a), torch.tensor(b), []
    for t in range(steps):
        opt.param_groups[0]["lr"] = lrs[t]
        opt.zero_grad()
        (0.5 * ((at @ p - bt) ** 2).sum()).backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def test_nadamw_follows_the_update_rule():
    nadamw = submission_module("nadamw").NAdamW
    a, b, p0 = problem()
    lrs = [LR * (t + 1) / 5 if t < 5 else LR for t in range(40)]  # a warmup: lr changes between steps
    expected = rule(a, b, p0, 40, lrs)
    got = run(nadamw, a, b, p0, 40, lrs)
    for t in (0, 1, 9, 39):
        np.testing.assert_allclose(got[t], expected[t], rtol=1e-10, atol=1e-12)
    # The problem is solved a good way: the trajectory is not trivially constant.
    assert np.abs(expected[39] - p0).max() > 0.1


def test_nadamw_first_step_by_hand():
    """Step 1: m = (1-b1) g, so the look-ahead is (1-b1)(1+b1) g / (1-b1) = (1+b1) g and
    v_hat = g^2: the step is lr * (1 + b1) * sign(g), after the decay (for |g| >> eps)."""
    nadamw = submission_module("nadamw").NAdamW
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = nadamw([p], lr=0.1, betas=(0.9, 0.999), eps=1e-12, weight_decay=0.5)
    p.grad = torch.tensor([3.0, -0.5], dtype=torch.float64)
    opt.step()
    decayed = np.array([1.0, -2.0]) * (1 - 0.1 * 0.5)
    np.testing.assert_allclose(p.detach().numpy(), decayed - 0.1 * 1.9 * np.array([1.0, -1.0]), rtol=1e-9)


@pytest.mark.parametrize("momentum_decay", [4e-3, 1e9])
def test_torch_nadam_is_a_different_rule(momentum_decay):
    """torch.optim.NAdam (decoupled weight decay) with its momentum schedule (default) or
    with the schedule off (mu_t = beta1): the momentum term's bias correction differs, so
    the trajectories differ by much more than rounding. Hence the hand-written NAdamW."""
    a, b, p0 = problem()
    lrs = [LR] * 10
    expected = rule(a, b, p0, 10, lrs)
    got = run(torch.optim.NAdam, a, b, p0, 10, lrs, momentum_decay=momentum_decay, decoupled_weight_decay=True)
    assert np.abs(got[0] - expected[0]).max() > 0.1 * LR
