"""The shared pieces the baselines are built from: schedules, several optimizers as one,
in-place weight swaps; with numbers."""

from __future__ import annotations

import pytest
import torch

from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.native import warmup_cosine, warmup_linear
from algoperf_lite.submission_kit import OptimizerGroup, lr_scheduler, swap_


def algoperf_nesterov_factor(step: int, step_hint: int, warmup_factor: float, decay_steps_factor: float,
                             end_factor: float) -> float:
    """AlgoPerf's Nesterov/momentum schedule (optax linear warmup joined to a linear
    polynomial decay), divided by the peak learning rate."""
    warmup = int(warmup_factor * step_hint)
    if step < warmup:
        return step / warmup
    transition = int((step_hint - warmup) * decay_steps_factor)
    fraction = min(step - warmup, transition) / transition
    return 1.0 + (end_factor - 1.0) * fraction


@pytest.mark.parametrize("step", [0, 5, 10, 11, 50, 90, 91, 99, 150])
def test_warmup_linear_reads_its_end_and_length_from_the_point(step):
    hp = as_hyperparameters({"warmup_factor": 0.1, "decay_steps_factor": 0.9, "end_factor": 0.01})
    schedule = warmup_linear(end_factor="end_factor", decay_steps_factor="decay_steps_factor")
    assert schedule(step, 100, hp) == pytest.approx(algoperf_nesterov_factor(step, 100, 0.1, 0.9, 0.01), abs=1e-12)


def test_warmup_linear_with_numbers_and_warmup_cosine_are_unchanged():
    hp = as_hyperparameters({"warmup_factor": 0.1})
    assert [warmup_linear(end_factor=0.5)(s, 100, hp) for s in (0, 5, 10, 55, 100, 200)] == \
        pytest.approx([0.0, 0.5, 1.0, 0.75, 0.5, 0.5])
    assert [warmup_cosine()(s, 100, hp) for s in (5, 10, 55, 100)] == pytest.approx([0.5, 1.0, 0.5, 0.0])


def test_optimizer_group_steps_every_member_and_one_schedule_scales_them_all():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    sgd, adam = torch.optim.SGD([a], lr=0.1), torch.optim.Adam([b], lr=0.01)
    group = OptimizerGroup(sgd, adam)
    scheduler = lr_scheduler(group, lambda step, hint, hp: 0.5 ** step, 10, None)
    for _ in range(2):
        a.grad, b.grad = torch.ones(2), torch.ones(3)
        group.step()
        scheduler.step()
    # SGD: 1 - 0.1 - 0.05; Adam (unit gradients, so each step moves by lr): 1 - 0.01 - 0.005
    torch.testing.assert_close(a.detach(), torch.full((2,), 0.85))
    torch.testing.assert_close(b.detach(), torch.full((3,), 0.985), atol=1e-7, rtol=0)
    assert [g["lr"] for g in group.param_groups] == pytest.approx([0.025, 0.0025])
    assert sgd.param_groups[0]["lr"] == pytest.approx(0.025)  # the members' own groups
    group.zero_grad(set_to_none=True)
    assert a.grad is None and b.grad is None


def test_swap_exchanges_values_in_place():
    model = torch.nn.Linear(3, 2)
    params = [p.detach() for p in model.parameters()]
    before = [p.clone() for p in params]
    other = [torch.randn_like(p) for p in params]
    saved = [o.clone() for o in other]
    swap_(params, other)
    for p, o, b, s in zip(model.parameters(), other, before, saved):
        assert torch.equal(p.detach(), s) and torch.equal(o, b)
