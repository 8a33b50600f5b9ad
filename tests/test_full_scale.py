"""Every workload family at its full scale, on the CPU: the full model and the full data
path (tiny files in the real formats, sized so that the full-scale splits make sense,
tests/data_files.py), two or three training steps through the runner and its evals.
The GPU figures of the same code are scripts/gpu_check.py's."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
import torchvision

from algoperf_lite.cli import main
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.workloads import build_workload, workload_classes
from algoperf_lite.workload_kit import DatasetSizeWarning
from conftest import ADAMW_POINT
from data_files import FULL_SCALE_CIFAR10, FULL_SCALE_MNIST, cifar10_class_for, write_full_scale_data

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def full_data(tmp_path_factory):
    return write_full_scale_data(tmp_path_factory.mktemp("full_scale_data"))


@pytest.fixture
def cifar_files(full_data, monkeypatch):
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", cifar10_class_for(full_data))
    return full_data


def blocks(model) -> list[int]:
    return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


# name: (batch size, steps, the full-scale model's shape, the splits' sizes). The two largest
# models take a smaller batch than their default (a submission's choice) so that a CPU
# steps them in about a second; the others train at their full-scale batch size.
MNIST_SPLITS = (FULL_SCALE_MNIST[0] * 5 // 6, FULL_SCALE_MNIST[0] // 6, FULL_SCALE_MNIST[1])
CIFAR_TRAIN = 5 * FULL_SCALE_CIFAR10[0]
CASES = {
    "digits_logreg": (None, 3, lambda m: m.linear.in_features == 64, (1000, 500, 297)),
    "mnist_logreg": (None, 3, lambda m: m.linear.in_features == 784, MNIST_SPLITS),
    "mnist_cnn": (None, 3, lambda m: blocks(m) == [32, 64] and m.hidden.out_features == 128, MNIST_SPLITS),
    "fashion_mnist_cnn": (None, 3, lambda m: blocks(m) == [32, 64], MNIST_SPLITS),
    # airbench94's widths: a 24-channel stem, then groups of 64, 256, 256 channels
    "cifar10_cnn": (32, 3, lambda m: blocks(m) == [24, 64, 64, 256, 256, 256, 256],
                    (CIFAR_TRAIN * 9 // 10, CIFAR_TRAIN // 10, FULL_SCALE_CIFAR10[1])),
    # nanoGPT's shakespeare_char model: 6 layers, 6 heads, 384 wide, 256 characters of context
    "shakespeare_char_lm": (4, 2, lambda m: (len(m.blocks), m.blocks[0].attn.heads, m.tok.embedding_dim,
                                             m.pos.num_embeddings) == (6, 6, 384, 256), None),
    "modular_arithmetic": (None, 3, lambda m: (len(m.blocks), m.tok.embedding_dim) == (2, 128), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_full_scale_builds_its_model_and_data_and_trains(name, cifar_files, adamw):
    batch_size, steps, full_model, split_sizes = CASES[name]
    workload = build_workload(name, "full", CPU, cifar_files)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workload.prepare()
    sizes = (workload.num_train_examples, workload.num_validation_examples, workload.num_test_examples)
    if split_sizes is not None:
        assert sizes == split_sizes
    # Files smaller than the published dataset are split in the same proportions, and said so.
    size_warnings = [str(w.message) for w in caught if issubclass(w.category, DatasetSizeWarning)]
    if name in ("mnist_logreg", "mnist_cnn", "fashion_mnist_cnn", "cifar10_cnn"):
        assert len(size_warnings) == 1 and "where the published set has" in size_warnings[0]
    else:
        assert size_warnings == []
    assert all(n > 0 for n in sizes)

    record = TrialRecord.of(workload, adamw, hyperparameters=ADAMW_POINT, max_steps=steps, stop_at_target=False,
                            **({"batch_size": batch_size} if batch_size else {}))
    assert record.scale == "full"
    result = train(workload, adamw, record)
    assert result.status == "training_complete", result.error
    model, _ = workload.init_model_fn(0)
    assert full_model(model)
    assert result.steps == steps and [e["step"] for e in result.evals] == [1, steps]
    metrics = {k: v for k, v in result.evals[-1].items() if "/" in k}
    assert set(metrics) == {f"{s}/{m}" for s in ("train", "validation", "test") for m in ("loss", "accuracy")}
    assert all(math.isfinite(v) for v in metrics.values())


def test_the_real_dataset_sizes_keep_the_published_splits():
    from algoperf_lite.workload_kit import validation_size

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the real files' counts
        assert validation_size(60_000, 60_000, 10_000, "MNIST") == 10_000
        assert validation_size(50_000, 50_000, 5_000, "CIFAR-10") == 5_000
    with pytest.warns(DatasetSizeWarning, match="MNIST has 59,999 training examples where the published set has 60,000"):
        assert validation_size(59_999, 60_000, 10_000, "MNIST") == 10_000
    with pytest.warns(DatasetSizeWarning):
        assert validation_size(5, 60_000, 10_000, "MNIST") == 1  # never an empty validation set


@pytest.mark.filterwarnings("ignore::algoperf_lite.workload_kit.DatasetSizeWarning")
@pytest.mark.parametrize("name", sorted(n for n, entry in workload_classes().items() if entry.cls.variant_of))
def test_every_held_out_variant_builds_its_full_scale_model(name, cifar_files):
    workload = build_workload(name, "full", CPU, cifar_files)
    base = build_workload(workload_classes()[name].cls.variant_of, "full", CPU, cifar_files)
    model = workload.build_model()
    out = model(next(workload.build_train_queue(2, 0))["inputs"], 0.0)
    assert out.shape[0] == 2 and torch.isfinite(out).all()
    assert type(model) is type(base.build_model())


def test_run_at_full_scale_records_scale_and_autocast(full_data, tmp_path, capsys):
    args = ["run", "workload=mnist_logreg", "scale=full", "device=cpu", "max_steps=3", "budget_scale=1",
            "stop_at_target=false", "autocast=true", "quiet=true", f"data_dir={full_data}", f"results_dir={tmp_path}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetSizeWarning)
        assert main(args) == 0
    (folder,) = tmp_path.glob("external_tuning/adamw/study_0/mnist_logreg/trial_0")
    spec = json.loads((folder / "spec.json").read_text())
    outcome = json.loads((folder / "outcome.json").read_text())
    assert spec["scale"] == "full" and spec["autocast"] is True and spec["batch_size"] == 256
    assert outcome["status"] == "training_complete" and outcome["steps"] == 3
