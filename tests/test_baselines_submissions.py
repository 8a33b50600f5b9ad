"""The baselines' own code against the rules they implement, with numbers: Muon's split
of the parameters, SAM's two-pass step, the EMA seen by evals; and every baseline
folder's declared parts."""

from __future__ import annotations

import json
import types

import pytest
import torch
from torch import nn

from algoperf_lite import spec
from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.trial.submissions import available_submissions, load_submission
from algoperf_lite.workload_kit import param_types_of
from conftest import REPO
from test_baselines_nadamw import submission_module

BASELINES = available_submissions()


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_declares_its_parts(name):
    folder = REPO / "submissions" / name
    sub = load_submission(name)
    assert sub.search_space is not None and sub.search_space.sample(2, seed=0)
    readme = (folder / "README.md").read_text()
    assert readme.startswith(f"# {name}\n") and len(readme.split()) > 60
    if sub.form == "native":
        assert json.loads((folder / "self_tuning.json").read_text())
    imports = (folder / "submission.py").read_text()
    for requirement in (folder / "requirements.txt").read_text().split() if (folder / "requirements.txt").exists() else []:
        package = requirement.split("==")[0].replace("-", "_")
        assert f"from {package} import" in imports or f"import {package}" in imports


class TinyTransformerish(nn.Module):
    """Every kind of parameter Muon must sort: embedding, attention and MLP matrices,
    a norm, a bias, a convolution and an output head."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(11, 8)
        self.qkv = nn.Linear(8, 24, bias=False)
        self.qkv.param_types = {"weight": spec.ParameterType.ATTENTION_QKV}
        self.mlp = nn.Linear(8, 8)  # weight: hidden matrix; bias: AdamW
        self.norm = nn.LayerNorm(8)
        self.conv = nn.Conv1d(8, 8, 3)
        self.head = nn.Linear(8, 11, bias=False)


def test_muon_takes_the_hidden_matrices_by_type_and_adamw_the_rest():
    model = TinyTransformerish()
    workload = types.SimpleNamespace(model_params_types=param_types_of(model),
                                     is_output_params=lambda name: name == "head.weight")
    hp = as_hyperparameters(json.loads((REPO / "submissions/muon/self_tuning.json").read_text()))
    group = submission_module("muon").make_optimizer(model, hp, workload)
    muon, adamw = group.optimizers
    names = {id(p): n for n, p in model.named_parameters()}
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    assert sorted(names[id(p)] for g in muon.param_groups for p in g["params"]) == ["mlp.weight", "qkv.weight"]
    assert sorted(names[id(p)] for g in adamw.param_groups for p in g["params"]) == [
        "conv.bias", "conv.weight", "head.weight", "mlp.bias", "norm.bias", "norm.weight", "tok.weight"]


def test_sam_step_is_adamw_with_the_gradient_at_the_perturbed_point(digits):
    sub = load_submission("sam")
    point = {"learning_rate": 0.01, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 0.1,
             "warmup_factor": 0.0, "rho": 0.05}
    hp = as_hyperparameters(point)
    model, _ = digits.init_model_fn(0)
    batch = next(digits.build_train_queue(64, 0))
    w = [p.detach().clone() for p in model.parameters()]

    def gradient_at(weights):
        probe, _ = digits.init_model_fn(0)
        with torch.no_grad():
            for p, v in zip(probe.parameters(), weights):
                p.copy_(v)
        logits, _ = digits.model_fn(probe, batch, None, spec.ForwardPassMode.TRAIN, 0, True)
        losses = digits.loss_fn(batch["targets"], logits)
        return torch.autograd.grad(losses["summed"] / losses["n_valid_examples"], list(probe.parameters()))

    g = gradient_at(w)
    norm = torch.sqrt(sum((x**2).sum() for x in g))
    g2 = gradient_at([p + 0.05 * x / norm for p, x in zip(w, g)])
    # AdamW's first step: m_hat = g2, v_hat = g2^2, after the decoupled decay.
    expected = [p * (1 - 0.01 * 0.1) - 0.01 * x / (x.abs() + 1e-8) for p, x in zip(w, g2)]

    state = sub.init_optimizer_state(digits, model, None, hp, 0)
    sub.update_params(digits, model, digits.model_params_types, None, hp, batch, digits.loss_type, state, [], 0, 0)
    for p, e, x in zip(model.parameters(), expected, g2):
        torch.testing.assert_close(p.detach(), e, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(p.grad, x)  # the step used the perturbed point's gradient ...
    assert max((x - y).abs().max() for x, y in zip(g, g2)) > 1e-3  # ... which is not the plain one


def test_ema_evals_see_the_average_and_training_goes_on_from_the_trained_weights(digits):
    sub = load_submission("ema")
    digits.override(step_hint=20)
    point = {"learning_rate": 0.01, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 0.0,
             "warmup_factor": 0.1, "ema_horizon": 0.25}  # start at step 2, decay 1 - 1/5
    hp, queue = as_hyperparameters(point), digits.build_train_queue(64, 0)
    batches = [next(queue) for _ in range(8)]

    def train(evals_after: set[int]) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
        model, _ = digits.init_model_fn(0)
        state = sub.init_optimizer_state(digits, model, None, hp, 0)
        trained, seen = [], []
        for step, batch in enumerate(batches):
            state, model, _ = sub.update_params(digits, model, None, None, hp, batch, None, state, [], step, 0)
            trained.append([p.detach().clone() for p in model.parameters()])
            if step in evals_after:
                state, model, _ = sub.prepare_for_eval(digits, model, None, None, hp, None, state, [], step, 0)
                seen.append([p.detach().clone() for p in model.parameters()])
        return trained, seen

    trained, _ = train(set())
    with_evals, seen = train({0, 4, 7})
    average = [p.clone() for p in trained[2]]  # the first average: the weights after step 2
    for step in range(3, 8):
        average = [0.8 * a + 0.2 * p for a, p in zip(average, trained[step])]
        if step == 4:
            expected_at_4 = [a.clone() for a in average]
    for got, expected in ((seen[0], trained[0]), (seen[1], expected_at_4), (seen[2], average)):
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e)
    for a, b in zip(trained, with_evals):  # the evals did not change the training weights
        for x, y in zip(a, b):
            assert torch.equal(x, y)
