"""Fast on a GPU by design, checked on the CPU: bfloat16 autocast as a recorded option,
torch.compile at full scale, attention through scaled_dot_product_attention,
channels-last CNNs on CUDA devices, no host round trip per training step or eval batch,
and several pool workers on one GPU. scripts/gpu_check.py measures the same on a GPU."""

from __future__ import annotations

import functools

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from algoperf_lite import spec, transformer
from algoperf_lite.commands.study import study_command
from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import train
from algoperf_lite.trial.workloads import build_workload
from algoperf_lite.workload_kit import TensorWorkload
from conftest import ADAMW_POINT
from data_files import tiny_cifar10  # noqa: F401 (a fixture)

CPU = torch.device("cpu")


def record(workload, submission, **fields) -> TrialRecord:
    return TrialRecord.of(workload, submission, hyperparameters=ADAMW_POINT, stop_at_target=False, **fields)


def test_autocast_runs_the_forward_passes_in_bfloat16_and_the_loss_in_float32(adamw):
    workload = build_workload("modular_arithmetic", "smoke", CPU)
    dtypes: list[torch.dtype] = []
    model_fn = workload.model_fn

    def watched(model, *args, **kwargs):
        handle = model.head.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
        try:
            logits, state = model_fn(model, *args, **kwargs)
        finally:
            handle.remove()
        dtypes.append(logits.dtype)
        return logits, state

    workload.model_fn = watched  # the instance's: the runner hands it to the submission and the eval
    fp32 = train(workload, adamw, record(workload, adamw, max_steps=1))
    dtypes.clear()
    bf16 = train(workload, adamw, record(workload, adamw, max_steps=1, autocast=True))
    # The training step and the eval's batches: the head's matmul in bfloat16, the logits
    # handed back in float32.
    assert set(dtypes[0::2]) == {torch.bfloat16} and set(dtypes[1::2]) == {torch.float32}
    assert len(dtypes) > 6
    assert bf16.status == fp32.status == "training_complete"
    loss32, loss16 = fp32.evals[-1]["train/loss"], bf16.evals[-1]["train/loss"]
    assert loss16 != loss32 and loss16 == pytest.approx(loss32, rel=0.02)
    # A later trial on the same workload object is float32 again: the record decides.
    dtypes.clear()
    train(workload, adamw, record(workload, adamw, max_steps=1))
    assert torch.bfloat16 not in dtypes


def test_attention_runs_through_scaled_dot_product_attention(monkeypatch):
    calls = []
    real = transformer.F.scaled_dot_product_attention

    @functools.wraps(real)
    def counted(*args, **kwargs):
        calls.append(kwargs.get("is_causal"))
        return real(*args, **kwargs)

    monkeypatch.setattr(transformer.F, "scaled_dot_product_attention", counted)
    model = transformer.DecoderTransformer(vocab_size=65, context=256, width=384, depth=6, heads=6)
    model(torch.randint(0, 65, (1, 16)))
    assert calls == [True] * 6  # one fused causal attention per block


@pytest.mark.parametrize("name, channels_last", [
    ("cifar10_cnn", True), ("mnist_cnn", True), ("fashion_mnist_cnn", True), ("cifar10_cnn_layernorm", True),
    ("mnist_logreg", False), ("shakespeare_char_lm", False), ("modular_arithmetic", False),
])
def test_cnns_are_channels_last_on_every_device(name, channels_last):
    # Building a workload touches no device: a cuda device object is enough here.
    expected = torch.channels_last if channels_last else torch.contiguous_format
    assert build_workload(name, "full", torch.device("cuda")).memory_format == expected
    assert build_workload(name, "full", CPU).memory_format == expected


def test_channels_last_trains_like_the_contiguous_layout(tiny_cifar10, adamw, monkeypatch):  # noqa: F811
    root, _ = tiny_cifar10

    def cifar():
        workload = build_workload("cifar10_cnn", "smoke", CPU, root)
        workload.override(batch_size=8, options={**workload.config.options, "train_images": 20,
                                                 "validation_images": 4, "test_images": 5})
        return workload

    workload = cifar()
    model, _ = workload.init_model_fn(0)
    assert model.stem.weight.is_contiguous(memory_format=torch.channels_last)
    batch = next(workload.build_train_queue(8, 0))
    assert batch["inputs"].is_contiguous(memory_format=torch.channels_last)  # after the crop-and-flip gathers
    assert workload.splits.validation.inputs.is_contiguous(memory_format=torch.channels_last)
    cl = train(workload, adamw, record(workload, adamw, max_steps=2, batch_size=8))
    monkeypatch.setattr(TensorWorkload, "memory_format", property(lambda self: torch.contiguous_format))
    default = train(cifar(), adamw, record(cifar(), adamw, max_steps=2, batch_size=8))
    for a, b in zip(default.evals, cl.evals):
        assert b["train/loss"] == pytest.approx(a["train/loss"], rel=1e-4)
        assert b["validation/accuracy"] == a["validation/accuracy"]


class HostRoundTrips(TorchDispatchMode):
    """Counts the operations that are a host-device round trip on a GPU: a host value
    made into a tensor (``torch.tensor``: a copy that synchronizes) and a tensor read
    on the host (``.item()``, ``bool()``)."""

    OPS = ("aten.lift_fresh", "aten._local_scalar_dense")

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if str(func).startswith(self.OPS):
            self.seen.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", ["digits_logreg", "modular_arithmetic", "shakespeare_char_lm", "mnist_cnn"])
def test_training_steps_and_eval_batches_make_no_host_round_trip(name):
    workload = build_workload(name, "smoke", CPU)
    workload.prepare()
    model, state = workload.init_model_fn(0)
    queue = workload.build_train_queue(workload.default_batch_size, 0)
    with HostRoundTrips() as trips:
        for step in range(3):  # the workload's part of a step: batch, forward, loss, backward
            batch = next(queue)
            logits, _ = workload.model_fn(model, batch, state, spec.ForwardPassMode.TRAIN, step, True)
            losses = workload.loss_fn(batch["targets"], logits)
            (losses["summed"] / losses["n_valid_examples"]).backward()
        # Every eval batch stays on the device; eval_model reads the sums once, at the end
        # (a .tolist(), which reads without dispatching).
        assert len(workload.splits.validation) > workload.eval_batch_size or name == "shakespeare_char_lm"
        metrics = workload.eval_model(model, None)
    assert trips.seen == []
    assert set(metrics) >= {"validation/loss", "test/accuracy"}


def test_four_pool_workers_share_one_gpu_in_the_plan(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # planning touches no device
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert study_command(["study=smoke", "executor=pool", "devices=[cuda:0]", "workers=4", "scale=full",
                          "budget_scale=1", f"results_dir={tmp_path}"], dry_run=True) == 0
    out = capsys.readouterr().out
    assert "pool on cuda:0#0, cuda:0#1, cuda:0#2, cuda:0#3" in out
    assert "on 4 workers" in out
    assert not any(tmp_path.iterdir())


@pytest.mark.slow  # about 45 s on 2 CPU cores: inductor compiles the training and eval graphs
def test_compile_at_full_scale_trains_like_eager(adamw):
    def run(compile: bool):
        workload = build_workload("modular_arithmetic", "full", CPU)
        return train(workload, adamw, record(workload, adamw, max_steps=3, compile=compile))

    eager, compiled = run(False), run(True)
    assert compiled.status == "training_complete", compiled.error
    for a, b in zip(eager.evals, compiled.evals):
        assert b["train/loss"] == pytest.approx(a["train/loss"], rel=1e-4)
    assert compiled.submission_time > eager.submission_time  # compiling is on the clock
