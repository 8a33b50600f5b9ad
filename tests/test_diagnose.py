"""`algoperf-lite diagnose` and its parts, against answers known by construction: the top
Hessian eigenvalue of a quadratic, the loss on the line between two points of a convex logistic
regression, filter-normalized directions, per-token losses of a model with fixed outputs; then
the command on a results directory of real trials that saved their weights, and its bad input."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_scoring_fakes import write_trial

import algoperf_lite
from algoperf_lite.cli import main
from algoperf_lite.commands.diagnose import diagnose
from algoperf_lite.diagnose.hessian import top_eigenvalue
from algoperf_lite.diagnose.landscape import directions, line, plane
from algoperf_lite.diagnose.probe import Probe
from algoperf_lite.diagnose.settings import DiagnoseSettings
from algoperf_lite.diagnose.tokens import BUCKETS, is_sequence_model, loss_by_frequency
from algoperf_lite.errors import UserError
from algoperf_lite.results import DIAGNOSTICS_FILE, read_diagnostics, weights_file
from algoperf_lite.commands.report import report_command
from algoperf_lite.trial.workloads import build_workload

SMALL = DiagnoseSettings(batch_size=64, token_batches=2, line_points=13, grid=5, max_products=60)


def quadratic_loss(eigenvalues: list[float], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """0.5 x^T A x + b^T x with A = Q diag(eigenvalues) Q^T: its Hessian is A everywhere."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=g, dtype=torch.float64))
    a = (q * torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
    x = torch.randn(len(eigenvalues), generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(len(eigenvalues), generator=g, dtype=torch.float64)
    return 0.5 * x @ a @ x + b @ x, x


@pytest.mark.parametrize("eigenvalues", [
    [-10.0, 0.5, 2.0, 7.5],  # the largest in magnitude is negative: power iteration would return -10
    list(np.linspace(-3.0, 4.0, 60)) + [12.0],
    [3.0, 3.0 - 1e-6, 1.0, 0.0, -1.0],  # a near-double top eigenvalue
])
def test_top_hessian_eigenvalue_of_a_quadratic(eigenvalues: list[float]) -> None:
    loss, x = quadratic_loss(eigenvalues)
    found = top_eigenvalue(loss, [x], max_products=400, tol=1e-8)
    assert found.converged and found.value == pytest.approx(max(eigenvalues), rel=1e-6)
    assert 0 < found.products <= 400


def test_top_eigenvalue_of_two_parameter_tensors_and_tiny_problems() -> None:
    # The Hessian of sum(w1^2) + 3 sum(w2^2) + w1[0] * w2[0]: blocks 2I and 6I and a coupling of 1,
    # whose top eigenvalue is 4 + sqrt(4 + 1) = 6.2360...
    w1, w2 = torch.ones(3, requires_grad=True), torch.ones(2, 2, requires_grad=True)
    loss = (w1 ** 2).sum() + 3 * (w2 ** 2).sum() + w1[0] * w2[0, 0]
    assert top_eigenvalue(loss, [w1, w2], tol=1e-6).value == pytest.approx(4 + math.sqrt(5), rel=1e-5)
    w = torch.tensor([1.0, 2.0], requires_grad=True)  # 2 parameters: formed densely
    assert top_eigenvalue(w[0] ** 2 + 5 * w[1] ** 2, [w]).value == pytest.approx(10.0)


def test_top_eigenvalue_gives_up_after_its_products() -> None:
    loss, x = quadratic_loss(list(np.linspace(0.0, 1.0, 200)))
    found = top_eigenvalue(loss, [x], max_products=10, tol=1e-12)
    # Short of convergence, the estimate so far: a lower bound on the top eigenvalue 1.
    assert not found.converged and found.products == 10 and 0.9 < found.value <= 1.0 + 1e-9


@pytest.fixture(scope="module")
def digits() -> Probe:
    return Probe.of(build_workload("digits_logreg", "smoke", torch.device("cpu")), 64, 0)


def test_the_line_between_two_points_of_a_convex_logistic_regression(digits: Probe) -> None:
    model, _ = digits.workload.init_model_fn(1)
    g = torch.Generator().manual_seed(2)
    start = [torch.randn(p.shape, generator=g) * 0.1 for p in model.parameters()]
    end = [torch.randn(p.shape, generator=g) for p in model.parameters()]
    alphas = np.linspace(-0.5, 1.5, 21)
    losses = line(digits.loss_at(model), start, end, alphas)
    # By hand, in float64: the softmax cross-entropy of W x + b on the same batch.
    x = digits.batches[0]["inputs"].flatten(1).double().numpy()
    y = digits.batches[0]["targets"].numpy()
    for a, got in zip(alphas, losses):
        weight, bias = ((1 - a) * s.double().numpy() + a * e.double().numpy() for s, e in zip(start, end))
        logits = x @ weight.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(y)), y])
        assert got == pytest.approx(expected, rel=1e-5)
    assert (np.diff(losses, 2) >= -1e-5).all()  # convex in a, as the loss is in the weights


def test_filter_normalized_directions(digits: Probe) -> None:
    model, _ = digits.workload.init_model_fn(3)
    weights = [p.detach().clone() for p in model.parameters()]  # linear.weight (10, 64), linear.bias (10,)
    first, second = directions(weights, seed=7)
    assert torch.allclose(first[0].norm(dim=1), weights[0].norm(dim=1), rtol=1e-5)  # each row, each direction
    assert torch.allclose(second[0].norm(dim=1), weights[0].norm(dim=1), rtol=1e-5)
    assert not torch.allclose(first[0], second[0])
    assert (first[1] == 0).all() and (second[1] == 0).all()  # biases stay put (Li et al.)
    again = directions([w * 3 for w in weights], seed=7)  # the same draws, rescaled to the weights
    assert torch.allclose(again[0][0], 3 * first[0], rtol=1e-5)
    loss_at = digits.loss_at(model)
    losses = plane(loss_at, weights, first, second, [-1.0, 0.0, 1.0])
    assert losses.shape == (3, 3) and losses[1, 1] == loss_at(weights)  # the centre: the weights themselves
    assert losses[0, 1] == loss_at([w - d for w, d in zip(weights, first)])


class FixedLM(torch.nn.Module):
    """Logits that do not depend on the input: one learned row of log-probabilities, so the loss
    of target t at every position is -log softmax(row)[t]."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.row = torch.nn.Parameter(torch.linspace(0.0, 2.0, vocab))

    def forward(self, tokens: torch.Tensor, dropout_rate: float = 0.0) -> torch.Tensor:
        return self.row.expand(*tokens.shape, -1)


def test_loss_by_token_frequency(digits: Probe) -> None:
    vocab = 20
    model = FixedLM(vocab)
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, vocab + 1)  # Zipf: token 0 most frequent
    targets = torch.tensor(rng.choice(vocab, size=(8, 32), p=weights / weights.sum()))

    class Workload:  # only what the probe uses of the contract
        name, splits = "fixed_lm", None

        def model_fn(self, params, batch, *_, **__):
            return params(batch["inputs"]), None

        def loss_fn(self, labels, logits, mask=None, label_smoothing=0.0):
            per = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1),
                                                    reduction="none").reshape(labels.shape)
            return {"summed": per.sum(), "n_valid_examples": torch.tensor(per.numel()), "per_example": per}

    probe = Probe(Workload(), [{"inputs": targets, "targets": targets}])
    assert is_sequence_model(probe) and not is_sequence_model(digits)
    buckets = loss_by_frequency(probe, model)
    assert len(buckets) == BUCKETS and sum(b["tokens"] for b in buckets) == vocab
    assert sum(b["positions"] for b in buckets) == targets.numel()
    assert sum(b["share"] for b in buckets) == pytest.approx(1.0)
    counts = np.bincount(targets.reshape(-1).numpy(), minlength=vocab)
    order = np.argsort(-counts, kind="stable")
    log_probs = torch.log_softmax(model.row.detach(), 0).numpy()
    first = order[:2]  # the two most frequent tokens
    expected = -(counts[first] * log_probs[first]).sum() / counts[first].sum()
    assert buckets[0]["loss"] == pytest.approx(expected, rel=1e-6)
    assert buckets[0]["share"] == pytest.approx(counts[first].sum() / counts.sum())
    assert buckets[0]["share"] > buckets[-1]["share"]


# --- the command on real trials --------------------------------------------------------------

@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two submissions x two trials on digits_logreg, 40 steps each, weights saved."""
    root = tmp_path_factory.mktemp("results")
    for submission in ("adamw", "sgd_momentum"):
        for trial in (0, 1):
            algoperf_lite.run("digits_logreg", submission, device="cpu", results_dir=str(root), trial=trial,
                              save_weights=True, max_steps=40, budget_sec=30, eval_period_sec=0.05,
                              budget_scale=1, quiet=True)
    return root


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_trial_saves_its_initial_and_final_weights(trials: Path) -> None:
    trial = trials / "external_tuning" / "adamw" / "study_0" / "digits_logreg" / "trial_0"
    init, final = (torch.load(weights_file(trial, m), weights_only=True) for m in ("init", "final"))
    assert set(init) == set(final) == {"linear.weight", "linear.bias"}
    spec = json.loads((trial / "spec.json").read_text())
    workload = build_workload("digits_logreg", "smoke", torch.device("cpu"))
    from algoperf_lite.trial.seeds import derive_seed

    model, _ = workload.init_model_fn(derive_seed(spec["seed"], "init"))  # as the runner builds it
    assert torch.equal(model.state_dict()["linear.weight"], init["linear.weight"])
    assert not torch.equal(init["linear.weight"], final["linear.weight"])  # 40 steps later
    assert not list(trial.glob(".*tmp"))  # written atomically: no temporary left


def test_diagnose_writes_only_its_file_and_the_page_shows_it(trials: Path, capsys) -> None:
    before = files(trials)
    out = diagnose(trials, SMALL)
    after = files(trials)
    assert out == trials / DIAGNOSTICS_FILE and set(after) - set(before) == {DIAGNOSTICS_FILE}
    assert all(after[name] == t for name, t in before.items())  # nothing else touched
    data = json.loads(out.read_text())
    assert set(data["cells"]) == {"external_tuning/adamw/digits_logreg", "external_tuning/sgd_momentum/digits_logreg"}
    for entry in data["cells"].values():
        assert entry["sharpness"] > 0 and entry["hessian_converged"]
        assert len(entry["line"]["loss"]) == 13 and np.array(entry["plane"]["loss"]).shape == (5, 5)
        assert entry["loss_final"] < entry["loss_init"]  # trained
        middle = entry["plane"]["loss"][2][2]  # the plane's centre is the final weights
        assert middle == pytest.approx(entry["loss_final"], rel=1e-5)
        assert entry["token_frequency"] is None  # not a language model
    # A rerun keeps what is unchanged.
    capsys.readouterr()
    diagnose(trials, SMALL)
    assert capsys.readouterr().out.count("unchanged since the last run, kept") == 2
    assert report_command(trials, None) == 0
    html = (trials / "leaderboard.html").read_text(encoding="utf-8")
    assert "Landscape of the winners" in html and 'id="landscape-external_tuning"' in html
    sharpness = [float(v) for v in re.findall(r'data-sharpness="([0-9.e+-]+)"', html)]
    assert sorted(sharpness) == sorted(e["sharpness"] for e in data["cells"].values())
    assert 'class="plot landscape-line"' in html and 'class="plot landscape-plane"' in html


def test_bad_input_is_one_message_and_exit_2(trials: Path, tmp_path: Path, capsys) -> None:
    write_trial(tmp_path, "adamw", "digits_logreg", 0, 0, 1.0)  # a finished trial without weights
    assert main(["diagnose", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "save_weights=true" in out and "Traceback" not in out
    assert not (tmp_path / DIAGNOSTICS_FILE).exists()
    assert main(["diagnose", str(trials), "--grid", "2"]) == 2
    assert main(["diagnose", str(trials), "--submissions", "nope"]) == 2
    assert "nope not in" in capsys.readouterr().out


NO_LOSS_WORKLOAD = '''
import torch
from algoperf_lite.spec import Target
from algoperf_lite.workload_kit import ScaleConfig, Splits, TensorData, TensorWorkload


class NoLoss(TensorWorkload):
    SCALES = {"smoke": ScaleConfig(Target("accuracy", 0.9, True), 1.0, 0.5, 10, 8, "test")}

    def load_splits(self):
        data = TensorData(torch.randn(40, 4), torch.randint(0, 2, (40,)))
        return Splits(data, data, data)

    def build_model(self):
        return torch.nn.Linear(4, 2)

    def model_fn(self, params, batch, model_state, mode, rng, update_batch_norm, dropout_rate=None):
        return params(batch["inputs"]), model_state

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
        raise NotImplementedError("this workload is scored by its eval only")


WORKLOADS = {"no_loss_workload": NoLoss}
'''


def test_a_workload_without_a_loss_on_a_batch(tmp_path: Path, monkeypatch, capsys) -> None:
    family = tmp_path / "workloads" / "no_loss"
    family.mkdir(parents=True)
    (family / "workload.py").write_text(NO_LOSS_WORKLOAD)
    monkeypatch.setenv("ALGOPERF_LITE_WORKLOADS_PATH", str(tmp_path / "workloads"))
    root = tmp_path / "results"
    trial = write_trial(root, "adamw", "no_loss_workload", 0, 0, 1.0)
    state = torch.nn.Linear(4, 2).state_dict()
    for moment in ("init", "final"):
        torch.save(state, weights_file(trial, moment))
    assert main(["diagnose", str(root)]) == 2
    out = capsys.readouterr().out
    assert "no_loss_workload has no training loss on a batch" in out and "Traceback" not in out
    assert not (root / DIAGNOSTICS_FILE).exists()
    with pytest.raises(UserError, match="no training loss on a batch"):
        diagnose(root, SMALL)


def test_a_damaged_diagnostics_file_is_said_on_the_page(tmp_path: Path) -> None:
    write_trial(tmp_path, "adamw", "digits_logreg", 0, 0, 1.0)
    (tmp_path / DIAGNOSTICS_FILE).write_text(json.dumps({"settings": {}, "cells": {"a/b/c": {"trial": 1}}}))
    with pytest.raises(UserError, match="'a/b/c' is not a whole diagnosis"):
        read_diagnostics(tmp_path)
    assert report_command(tmp_path, None) == 0  # the rest of the page shows
    html = (tmp_path / "leaderboard.html").read_text(encoding="utf-8")
    assert "is not a whole diagnosis" in html and "--force" in html
