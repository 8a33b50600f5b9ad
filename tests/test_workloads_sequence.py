"""The sequence workloads: shakespeare_char_lm (the real Tiny Shakespeare, as the package
ships it) and modular_arithmetic (generated), with their held-out variants."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from algoperf_lite import spec
from algoperf_lite.trial.workloads import build_workload
from test_workloads_cnn import train_steps

CPU = torch.device("cpu")
T = spec.ParameterType
SHAKESPEARE_POINT = {"learning_rate": 0.005, "one_minus_beta1": 0.1, "beta2": 0.99,
                     "weight_decay": 1e-3, "warmup_factor": 0.05}


def module_of(workload):
    return inspect.getmodule(type(workload))


@pytest.fixture(scope="module")
def shakespeare():
    workload = build_workload("shakespeare_char_lm", "smoke", CPU)
    workload.prepare()
    return workload


def test_windows_pad_the_last_one_and_eval_masks_it():
    workload = build_workload("shakespeare_char_lm", "smoke", CPU)  # no data needed here
    lm = module_of(workload)
    tokens = torch.arange(10)
    w = lm.windows(tokens, 4)  # 9 (input, target) pairs: windows of 4, 4 and 1 + 3 padding
    assert w.inputs.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 0, 0, 0]]
    assert w.targets.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, lm.PAD, lm.PAD, lm.PAD]]

    logits = torch.randn(3, 4, 12, generator=torch.Generator().manual_seed(0))
    logits[2, 1:, 0] = 100.0  # padded positions predict token 0 confidently: must not count
    sums = workload.eval_sums(logits, w.targets)
    real = w.targets != lm.PAD
    expected = torch.nn.functional.cross_entropy(logits[real], w.targets[real], reduction="sum")
    assert sums["count"].item() == 9
    torch.testing.assert_close(sums["loss"], expected)
    assert sums["accuracy"].item() == (logits[real].argmax(-1) == w.targets[real]).sum().item()


def test_shakespeare_splits_follow_nanogpt(shakespeare):
    assert len(shakespeare.vocab) == 65 and shakespeare.vocab[:3] == ["\n", " ", "!"]
    train_chars = int(0.9 * 1_115_394)
    assert shakespeare.num_train_examples == math.ceil((train_chars - 1) / 64)
    # Smoke evals read 20,000 characters of each held-out half: 313 windows, the last padded.
    for split in (shakespeare.splits.validation, shakespeare.splits.test):
        assert len(split) == 313 and (split.targets != -1).sum().item() == 20_000
    assert not torch.equal(shakespeare.splits.validation.inputs, shakespeare.splits.test.inputs)


def test_shakespeare_batches_are_seeded_random_windows_of_the_training_text(shakespeare):
    batches = [next(shakespeare.build_train_queue(32, seed=7)) for _ in range(2)]
    assert torch.equal(batches[0]["inputs"], batches[1]["inputs"])
    inputs, targets = batches[0]["inputs"], batches[0]["targets"]
    assert inputs.shape == targets.shape == (32, 64)
    assert torch.equal(targets[:, :-1], inputs[:, 1:])  # next-character targets
    other = next(shakespeare.build_train_queue(32, seed=8))["inputs"]
    assert not torch.equal(other, inputs)


def test_shakespeare_parameter_types_tell_attention_from_embeddings_and_norms(shakespeare):
    shakespeare.init_model_fn(0)
    types = shakespeare.model_params_types
    assert types["tok.weight"] == types["pos.weight"] == T.EMBEDDING
    assert types["blocks.0.attn.qkv.weight"] == T.ATTENTION_QKV
    assert types["blocks.1.attn.proj.weight"] == T.ATTENTION_OUT
    assert types["blocks.0.mlp.up.weight"] == types["head.weight"] == T.WEIGHT
    assert types["blocks.0.ln1.weight"] == types["ln_f.weight"] == T.LAYER_NORM_SCALE
    assert [k for k in types if shakespeare.is_output_params(k)] == ["head.weight"]
    assert shakespeare.target == spec.Target("loss", shakespeare.target.value, maximize=False)


def test_shakespeare_learns_characters(shakespeare, adamw):
    before = shakespeare.eval_model(shakespeare.init_model_fn(0)[0], None)
    after = shakespeare.eval_model(train_steps(shakespeare, adamw, 100, SHAKESPEARE_POINT), None)
    assert before["validation/loss"] == pytest.approx(math.log(65), abs=0.1)  # uniform at init
    assert after["validation/loss"] < 2.8 and after["validation/accuracy"] > 0.2


def test_swiglu_variant_has_the_same_size():
    base, swiglu = (build_workload(n, "smoke", CPU).build_model()
                    for n in ("shakespeare_char_lm", "shakespeare_char_lm_swiglu"))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert swiglu.blocks[0].mlp.kind == "swiglu" and base.blocks[0].mlp.kind == "gelu"
    assert abs(count(swiglu) - count(base)) / count(base) < 0.01


@pytest.fixture(scope="module")
def modular():
    return build_workload("modular_arithmetic", "smoke", CPU)


def test_modular_equations_cover_every_pair_once(modular):
    table = module_of(modular).equations(97)
    a, plus, b, equals = table.inputs.T
    assert len(table) == 97 * 97 and (plus == 97).all() and (equals == 98).all()
    assert torch.equal(table.targets, (a + b) % 97)
    assert len(set((a * 97 + b).tolist())) == 97 * 97


def test_modular_subtraction_and_division_against_hand_computed_equations():
    make = module_of(build_workload("modular_division", "smoke", CPU)).equations
    minus, divide = make(97, "-"), make(97, "/")
    assert len(minus) == 97 * 97 and len(divide) == 97 * 96  # no division by 0
    answers = {(a, b): c for (a, _, b, _), c in zip(divide.inputs.tolist(), divide.targets.tolist())}
    assert answers[(1, 2)] == 49 and answers[(3, 5)] == 20  # 2 * 49 = 98 = 97 + 1, 5 * 20 = 100 = 97 + 3
    assert answers[(0, 7)] == 0 and all(b * c % 97 == a for (a, b), c in answers.items())
    rows = {(a, b): c for (a, _, b, _), c in zip(minus.inputs.tolist(), minus.targets.tolist())}
    assert rows[(3, 5)] == 95 and rows[(5, 3)] == 2
    assert build_workload("modular_subtraction", "smoke", CPU).splits.train.inputs.shape[1] == 4
    with pytest.raises(ValueError, match="unknown operation"):
        make(97, "*")


def test_modular_splits_are_disjoint_seeded_and_80_percent_train(modular):
    ids = [set((s.inputs[:, 0] * 97 + s.inputs[:, 2]).tolist()) for s in modular.splits]
    assert [len(i) for i in ids] == [7527, 941, 941]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    again = build_workload("modular_arithmetic", "smoke", CPU)
    assert torch.equal(again.splits.validation.inputs, modular.splits.validation.inputs)


def test_modular_model_answers_from_the_last_position(modular):
    model, _ = modular.init_model_fn(0)
    batch = {"inputs": modular.splits.train.inputs[:5]}
    logits, _ = modular.model_fn(model, batch, None, spec.ForwardPassMode.EVAL, 0, False)
    assert logits.shape == (5, 97)
    types = modular.model_params_types
    assert types["blocks.1.attn.qkv.weight"] == T.ATTENTION_QKV and types["tok.weight"] == T.EMBEDDING
    # Variance-preserving init: unit-variance embeddings, 1/fan_in matrices.
    assert model.tok.weight.std().item() == pytest.approx(1.0, abs=0.05)
    assert model.blocks[0].mlp.up.weight.std().item() == pytest.approx(64 ** -0.5, rel=0.05)


@pytest.mark.parametrize("scale, width", [("smoke", 64), ("full", 128)])
def test_modular_wide_variant_doubles_the_width(scale, width):
    base, wide = (build_workload(n, scale, CPU).build_model() for n in ("modular_arithmetic", "modular_arithmetic_wide"))
    assert base.tok.weight.shape == (99, width) and wide.tok.weight.shape == (99, 2 * width)
    assert len(base.blocks) == len(wide.blocks) == 2
