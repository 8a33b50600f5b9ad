"""Building blocks for workloads whose data fits on the device (the contract's side:
imports only :mod:`algoperf_lite.spec` and torch).

:class:`TensorWorkload` holds every split as tensors on the device: a training batch is
an index gather from a seeded on-device permutation (no DataLoader, no host-to-device
copy per step), and evaluation accumulates sums on the device and reads them once.
A subclass provides the data (``load_splits``), the model (``build_model``; its
``forward(inputs, dropout_rate)``) and per-scale settings (``SCALES``)."""

from __future__ import annotations

import abc
import dataclasses
import functools
import inspect
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from algoperf_lite import spec


class TensorData(NamedTuple):
    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)

    def to(self, device: torch.device) -> TensorData:
        return TensorData(self.inputs.to(device), self.targets.to(device))

    def take(self, index: torch.Tensor) -> TensorData:
        return TensorData(self.inputs[index], self.targets[index])


class Splits(NamedTuple):
    train: TensorData
    validation: TensorData
    test: TensorData


def holdout_splits(train: TensorData, test: TensorData | None, num_validation: int,
                   num_test: int, seed: int) -> Splits:
    """Hold out a validation set (and a test set, when none is given) from ``train``,
    by a permutation fixed by ``seed``: the same split on every run."""
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    if test is None:
        test, perm = train.take(perm[:num_test]), perm[num_test:]
    return Splits(train.take(perm[num_validation:]), train.take(perm[:num_validation]), test)


class DatasetSizeWarning(UserWarning):
    """A dataset's files hold another number of examples than the published dataset."""


def validation_size(available: int, published: int, published_validation: int, dataset: str) -> int:
    """How many of ``available`` training examples to hold out for validation.
    ``published_validation`` of the ``published`` count on the real files. The split is
    the same fraction of any other count (tiny test files, a truncated copy), with a
    warning that gives both counts, so that a different split is never silent."""
    if available == published:
        return published_validation
    size = max(1, round(available * published_validation / published))
    warnings.warn(f"{dataset} has {available:,} training examples where the published set has {published:,}: "
                  f"validation holds {size:,} of them ({published_validation:,} of {published:,} on the real files)",
                  DatasetSizeWarning, stacklevel=2)
    return size


def subset(data: TensorData, size: int, seed: int) -> TensorData:
    """``size`` examples of ``data`` drawn by a permutation fixed by ``seed`` (a smoke
    scale's share of a large dataset)."""
    return data.take(torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:size])


@dataclass(frozen=True)
class ScaleConfig:
    """Everything a scale changes: target, budget, eval period, step hint, batch size,
    and free-form model/data options. ``provenance`` says how the target was set."""

    target: spec.Target
    budget_sec: float
    eval_period_sec: float
    step_hint: int
    batch_size: int
    provenance: str
    options: dict[str, Any] = field(default_factory=dict)
    calibrated: bool = False  # True once scripts/set_targets.py measured it here


def derived_scales(base: dict[str, ScaleConfig], every: dict[str, Any] | None = None,
                   **by_scale: dict[str, Any]) -> dict[str, ScaleConfig]:
    """``base``'s scales with some settings changed: ``every`` at every scale, and
    ``by_scale[scale]`` at that one (a sibling workload or a variant of a family)."""
    return {scale: dataclasses.replace(config, **(every or {}), **by_scale.get(scale, {}))
            for scale, config in base.items()}


TARGETS_FILE = "targets.json"


def calibration(cls: type, name: str, scale: str) -> dict[str, Any] | None:
    """The entry ``scripts/set_targets.py`` wrote for (name, scale) in the family's
    ``targets.json`` (target, budget, step hint, and the reference run's submission,
    point and hardware), or None: the one place calibrated numbers live."""
    file = Path(inspect.getfile(cls)).with_name(TARGETS_FILE)
    return json.loads(file.read_text()).get(f"{name}/{scale}") if file.is_file() else None


def calibrated(cls: type, name: str, scale: str, config: ScaleConfig) -> ScaleConfig:
    """``config`` with the target, budget and step hint of its calibration, if any."""
    entry = calibration(cls, name, scale)
    if entry is None:
        return config
    target = spec.Target(entry["metric"], float(entry["target"]), bool(entry["maximize"]))
    provenance = (f"calibrated by scripts/set_targets.py on {entry['provenance']['date']} "
                  f"({entry['provenance']['hardware']}); see {Path(inspect.getfile(cls)).parent.name}/{TARGETS_FILE}")
    return dataclasses.replace(config, target=target, budget_sec=float(entry["budget_sec"]),
                               step_hint=int(entry["step_hint"]), provenance=provenance, calibrated=True)


# Parameter types by module class, for optimizers that treat kinds differently.
_TYPES_BY_MODULE: tuple[tuple[type, spec.ParameterType, spec.ParameterType], ...] = (
    (nn.Linear, spec.ParameterType.WEIGHT, spec.ParameterType.BIAS),
    (nn.modules.conv._ConvNd, spec.ParameterType.CONV_WEIGHT, spec.ParameterType.BIAS),
    (nn.modules.batchnorm._BatchNorm, spec.ParameterType.BATCH_NORM_SCALE, spec.ParameterType.BATCH_NORM_BIAS),
    (nn.LayerNorm, spec.ParameterType.LAYER_NORM_SCALE, spec.ParameterType.LAYER_NORM_BIAS),
    (nn.GroupNorm, spec.ParameterType.LAYER_NORM_SCALE, spec.ParameterType.LAYER_NORM_BIAS),
    (nn.Embedding, spec.ParameterType.EMBEDDING, spec.ParameterType.BIAS),
)


def param_types_of(model: nn.Module) -> spec.ParameterTypeTree:
    """Name -> ParameterType for every parameter, from the module that owns it.
    A module may declare ``param_types = {"local_name": ParameterType}`` to override
    (e.g. a fused attention projection)."""
    types: spec.ParameterTypeTree = {}
    for module_name, module in model.named_modules():
        declared = getattr(module, "param_types", {})
        for local, _ in module.named_parameters(recurse=False):
            name = f"{module_name}.{local}" if module_name else local
            if local in declared:
                types[name] = declared[local]
                continue
            for cls, weight_type, bias_type in _TYPES_BY_MODULE:
                if isinstance(module, cls):
                    types[name] = bias_type if local == "bias" else weight_type
                    break
            else:
                raise TypeError(f"no parameter type for {name} ({type(module).__name__}); declare param_types")
    return types


def update_batch_norm_fn(module: nn.Module, update_batch_norm: bool) -> None:
    """Freeze (momentum 0) or restore a BatchNorm layer's running-statistics update."""
    if not isinstance(module, nn.modules.batchnorm._BatchNorm):
        return
    if not update_batch_norm:
        if not hasattr(module, "momentum_backup"):
            module.momentum_backup = module.momentum
        module.momentum = 0.0
    elif hasattr(module, "momentum_backup"):
        module.momentum = module.momentum_backup


class TensorWorkload(spec.Workload):
    SCALES: dict[str, ScaleConfig] = {}
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    #: examples of the training split evaluated as "eval_train"
    eval_train_size: int = 1000
    #: dropout used when a submission passes none (AlgoPerf v0.5 form)
    default_dropout_rate: float = 0.0
    #: seed of the train/validation/test split (fixed: never per trial)
    split_seed: int = 0
    #: convolutional nets keep weights and images channels-last: cuDNN's fast layout on a
    #: GPU; on a CPU, where max-pooling in the default layout is slow, mnist_cnn's full eval
    #: takes 0.17 s instead of 0.33 s and its training step 17.5 ms instead of 20.0 ms
    #: (python scripts/cnn_layout.py mnist_cnn)
    channels_last: bool = False
    #: bfloat16 autocast of every forward pass, training and eval; the runner sets it from
    #: the trial's record (``autocast``). Logits come back as float32 for the loss.
    autocast: bool = False

    @property
    def eval_batch_size(self) -> int:
        # On a CPU, batches whose activations stay in cache: one full eval of the smoke CNN
        # (2,500 images) takes 0.17 s at 64 and 32, 0.19 s at 128 and 0.22 s at 256 on one
        # thread (python scripts/eval_batch.py mnist_cnn 256 128 64 32).
        return 4096 if self.device.type == "cuda" else 64

    def __init__(self, scale: str, device: torch.device, data_dir: Any = None):
        super().__init__()
        if scale not in self.SCALES:
            raise ValueError(f"{type(self).__name__} has no scale {scale!r}; scales: {', '.join(self.SCALES)}")
        self.scale, self.device, self.data_dir = scale, torch.device(device), data_dir
        self._splits: Splits | None = None
        self._eval_train: TensorData | None = None

    # --- to provide --------------------------------------------------------------------
    @abc.abstractmethod
    def load_splits(self) -> Splits:
        """The data, as CPU tensors."""

    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model on the CPU; ``forward(inputs, dropout_rate)``."""

    def augment(self, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Training-time augmentation on the device (identity by default)."""
        return inputs

    # --- settings from the scale ----------------------------------------------------------
    @functools.cached_property
    def config(self) -> ScaleConfig:
        # Lazy: the registry sets ``name`` after construction, and calibration is by name.
        return calibrated(type(self), self.name, self.scale, self.SCALES[self.scale])

    def override(self, **changes: Any) -> None:
        """Change this instance's scale settings (target, budget_sec, step_hint, ...):
        for target setting and tests; a study never does this."""
        self.config = dataclasses.replace(self.config, **changes)

    @property
    def target(self) -> spec.Target:
        return self.config.target

    @property
    def max_allowed_runtime_sec(self) -> float:
        return self.config.budget_sec

    @property
    def eval_period_time_sec(self) -> float:
        return self.config.eval_period_sec

    @property
    def step_hint(self) -> int:
        return self.config.step_hint

    @property
    def default_batch_size(self) -> int:
        return self.config.batch_size

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "provenance": self.config.provenance,
                "calibrated": self.config.calibrated}

    @property
    def memory_format(self) -> torch.memory_format:
        """Of the model and the image batches: channels-last for the CNNs on every device."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    # --- data ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load the data onto the device (untimed set-up). Idempotent."""
        if self._splits is not None:
            return
        splits = self.load_splits()
        self._splits = Splits(*(self._on_device(s) for s in splits))
        n = min(self.eval_train_size, len(splits.train))
        pick = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(self.split_seed + 1))[:n]
        self._eval_train = self._splits.train.take(pick.to(self.device))

    def _on_device(self, data: TensorData) -> TensorData:
        data = data.to(self.device)
        if self.memory_format == torch.channels_last and data.inputs.dim() == 4:
            # Batches gathered from it by index keep the layout: no per-step conversion.
            data = TensorData(data.inputs.contiguous(memory_format=torch.channels_last), data.targets)
        return data

    @property
    def splits(self) -> Splits:
        self.prepare()
        return self._splits

    @property
    def num_train_examples(self) -> int:
        return len(self.splits.train)

    @property
    def num_eval_train_examples(self) -> int:
        self.prepare()
        return len(self._eval_train)

    @property
    def num_validation_examples(self) -> int:
        return len(self.splits.validation)

    @property
    def num_test_examples(self) -> int:
        return len(self.splits.test)

    def build_train_queue(self, batch_size: int, seed: int) -> Iterator[dict[str, torch.Tensor]]:
        train = self.splits.train
        if batch_size > len(train):
            raise ValueError(f"batch size {batch_size} exceeds the {len(train)} training examples of {self.name}")
        return self._batches(train, batch_size, torch.Generator(device=self.device).manual_seed(seed))

    def _batches(self, train: TensorData, batch_size: int, generator: torch.Generator):
        # Epochs of a fresh permutation; the last partial batch of an epoch is dropped.
        channels_last = self.memory_format == torch.channels_last
        while True:
            perm = torch.randperm(len(train), device=self.device, generator=generator)
            for start in range(0, len(train) - batch_size + 1, batch_size):
                batch = train.take(perm[start:start + batch_size])
                inputs = self.augment(batch.inputs, generator)
                if channels_last:  # an augmentation's gathers may return the default layout
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                yield {"inputs": inputs, "targets": batch.targets}

    # --- model -----------------------------------------------------------------------------
    def init_model_fn(self, rng: spec.RandomState) -> spec.ModelInitState:
        torch.manual_seed(int(rng))
        model = self.build_model().to(self.device, memory_format=self.memory_format)
        self._param_shapes = {n: spec.ShapeTuple(p.shape) for n, p in model.named_parameters()}
        self._param_types = param_types_of(model)
        return model, None

    def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
                 update_batch_norm, dropout_rate=None):
        model = params
        train = mode == spec.ForwardPassMode.TRAIN
        model.train(train)
        if train and getattr(model, "_bn_updates", True) != update_batch_norm:
            # Walk the modules only when the setting changes, not at every step.
            model.apply(lambda m: update_batch_norm_fn(m, update_batch_norm))
            model._bn_updates = update_batch_norm
        rate = self.default_dropout_rate if dropout_rate is None else dropout_rate
        with torch.set_grad_enabled(train and torch.is_grad_enabled()):
            if not self.autocast:
                return model(augmented_and_preprocessed_input_batch["inputs"], rate), model_state
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                logits = model(augmented_and_preprocessed_input_batch["inputs"], rate)
        return logits.float(), model_state  # the loss and the eval sums in float32

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
        """Cross-entropy per example (per token for sequences), masked where a mask is
        given; summed and counted so that callers can average across devices."""
        per_example = F.cross_entropy(
            logits_batch.reshape(-1, logits_batch.shape[-1]), label_batch.reshape(-1),
            reduction="none", label_smoothing=label_smoothing,
        ).reshape(label_batch.shape)
        if mask_batch is None:
            # A fill on the device: torch.tensor(n, device=cuda) would copy from the host and
            # synchronize, at every step and every eval batch.
            n_valid = per_example.new_full((), per_example.numel())
        else:
            per_example = per_example * mask_batch
            n_valid = mask_batch.sum()
        return {"summed": per_example.sum(), "n_valid_examples": n_valid, "per_example": per_example}

    # --- evaluation ------------------------------------------------------------------------
    def eval_sums(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch sums of each metric, and their ``count``; averaged over the split."""
        losses = self.loss_fn(targets, logits)
        correct = (logits.argmax(-1) == targets).sum()
        return {"loss": losses["summed"], "accuracy": correct.to(losses["summed"].dtype),
                "count": losses["n_valid_examples"]}

    @torch.no_grad()
    def _eval_split(self, model: nn.Module, data: TensorData) -> dict[str, torch.Tensor]:
        totals: dict[str, torch.Tensor] = {}
        for start in range(0, len(data), self.eval_batch_size):
            batch = {"inputs": data.inputs[start:start + self.eval_batch_size],
                     "targets": data.targets[start:start + self.eval_batch_size]}
            logits, _ = self.model_fn(model, batch, None, spec.ForwardPassMode.EVAL, 0, False)
            for k, v in self.eval_sums(logits, batch["targets"]).items():
                totals[k] = totals[k] + v if k in totals else v
        count = totals.pop("count")
        return {k: v / count for k, v in totals.items()}

    def eval_model(self, params: nn.Module, model_state: spec.ModelAuxiliaryState) -> dict[str, float]:
        self.prepare()
        return self._eval_splits(params, (("train", self._eval_train), ("validation", self._splits.validation),
                                          ("test", self._splits.test)))

    def eval_validation(self, params: nn.Module, model_state: spec.ModelAuxiliaryState) -> dict[str, float]:
        self.prepare()
        return self._eval_splits(params, (("validation", self._splits.validation),))

    def _eval_splits(self, model: nn.Module, splits: tuple[tuple[str, TensorData], ...]) -> dict[str, float]:
        names, values = [], []
        for split, data in splits:
            for metric, value in self._eval_split(model, data).items():
                names.append(f"{split}/{metric}")
                values.append(value.float())
        return dict(zip(names, torch.stack(values).tolist()))  # one device-to-host read
