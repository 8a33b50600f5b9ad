"""The contract between the runner, workloads and submissions: the PyTorch side of
AlgoPerf's interface (``algoperf/spec.py``), typed and short.

This module imports nothing of the project, so that it can stand in for ``algoperf.spec``
when an unmodified AlgoPerf submission is loaded (see :mod:`algoperf_lite.compat`), and
nothing heavy at import (torch is imported where it is used), so that scoring and the
report can read a record's :class:`Target` without torch.

Three parts: the types; :class:`WorkloadContract`, what a submission may use of a
workload, and :class:`Workload`, which adds the runner's side (data, eval, target); and
:class:`Submission`, the five functions a submission provides, each documented with when
the runner calls it and what it may do.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from torch import nn


class LossType(enum.Enum):
    SOFTMAX_CROSS_ENTROPY = 0
    SIGMOID_CROSS_ENTROPY = 1
    MEAN_SQUARED_ERROR = 2
    CTC_LOSS = 3
    MEAN_ABSOLUTE_ERROR = 4


class ForwardPassMode(enum.Enum):
    TRAIN = 0
    EVAL = 1


class ParameterType(enum.Enum):
    """What a parameter is, so that an optimizer can treat matrices, embeddings and
    norms differently without looking at names or shapes."""

    WEIGHT = 0
    BIAS = 1
    CONV_WEIGHT = 2
    BATCH_NORM_SCALE = 3
    BATCH_NORM_BIAS = 4
    LAYER_NORM_SCALE = 5
    LAYER_NORM_BIAS = 6
    EMBEDDING = 7
    ATTENTION_Q = 8
    ATTENTION_K = 9
    ATTENTION_V = 10
    ATTENTION_OUT = 11
    ATTENTION_QKV = 12
    ATTENTION_KV = 13
    ATTENTION_BIAS = 14


class ShapeTuple:
    """A shape that tree utilities treat as a leaf (AlgoPerf's type of the same name)."""

    def __init__(self, shape_tuple: tuple[int, ...]):
        self.shape_tuple = tuple(shape_tuple)

    def __repr__(self) -> str:
        return f"ShapeTuple({self.shape_tuple})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapeTuple) and self.shape_tuple == other.shape_tuple

    def __hash__(self) -> int:
        return hash(self.shape_tuple)


# AlgoPerf's type aliases, kept so that submissions' annotations resolve.
Tensor = Any  # torch.Tensor
Shape = tuple[int, ...] | ShapeTuple
ParameterKey = str
ParameterShapeTree = dict[ParameterKey, ShapeTuple]
ParameterTypeTree = dict[ParameterKey, ParameterType]
ParameterContainer = Any  # the model: a torch.nn.Module
RandomState = Any  # an int seed here; AlgoPerf's PyTorch submissions pass it through
OptimizerState = Any
Hyperparameters = Any  # a namedtuple of the trial's point, or None under self-tuning
Timing = int
Steps = int
ModelAuxiliaryState = Any  # BatchNorm statistics live in the module; this is None
ModelInitState = tuple[ParameterContainer, ModelAuxiliaryState]
UpdateReturn = tuple[OptimizerState, ParameterContainer, ModelAuxiliaryState]


class TrainingCompleteError(Exception):
    """Raised by ``update_params`` to end training early; the runner grants one final
    eval. If the target was not reached by then, the trial counts as not reached."""


class Target(NamedTuple):
    metric: str  # e.g. "accuracy"; compared on "validation/<metric>"
    value: float
    maximize: bool

    def reached(self, value: float) -> bool:
        """Inclusive test (docs/rules.md): >= for maximized metrics, <= for minimized."""
        return value >= self.value if self.maximize else value <= self.value

    @property
    def comparison(self) -> str:
        return ">=" if self.maximize else "<="

    def __str__(self) -> str:
        return f"validation {self.metric} {self.comparison} {self.value:g}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(str(data["metric"]), float(data["value"]), bool(data["maximize"]))


class WorkloadContract(metaclass=abc.ABCMeta):
    """What a submission may use of a workload: the PyTorch form of AlgoPerf's
    ``spec.Workload`` without its data and eval. ``init_model_fn`` returns an
    ``nn.Module``, ``model_fn`` runs it, ``loss_fn`` returns summed / n_valid_examples /
    per_example. The runner hands a submission a view with exactly these public names
    (:mod:`algoperf_lite.trial.workload_view`)."""

    #: AlgoPerf submissions may log through it; None here
    metrics_logger: Any = None

    def __init__(self) -> None:
        self._param_shapes: ParameterShapeTree | None = None
        self._param_types: ParameterTypeTree | None = None

    # --- what the targets and budgets are --------------------------------------------
    @property
    def target_metric_name(self) -> str:
        return self.target.metric

    @property
    def validation_target_value(self) -> float:
        return self.target.value

    @property
    def test_target_value(self) -> float:
        return self.target.value

    @property
    @abc.abstractmethod
    def loss_type(self) -> LossType: ...

    @property
    @abc.abstractmethod
    def max_allowed_runtime_sec(self) -> float:
        """Budget of submission time, in seconds, on this workload's scale."""

    @property
    @abc.abstractmethod
    def eval_period_time_sec(self) -> float: ...

    @property
    @abc.abstractmethod
    def step_hint(self) -> int:
        """About how many steps the target-setting run took within the budget."""

    # --- sizes -------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def num_train_examples(self) -> int: ...

    @property
    @abc.abstractmethod
    def num_eval_train_examples(self) -> int: ...

    @property
    @abc.abstractmethod
    def num_validation_examples(self) -> int: ...

    @property
    @abc.abstractmethod
    def num_test_examples(self) -> int: ...

    @property
    def eval_batch_size(self) -> int:
        return 4096

    @property
    def train_mean(self) -> Any:
        return 0.0

    @property
    def train_stddev(self) -> Any:
        return 1.0

    # --- parameters ----------------------------------------------------------------------
    @property
    def param_shapes(self) -> ParameterShapeTree:
        if self._param_shapes is None:
            raise ValueError("call init_model_fn() before reading param_shapes")
        return self._param_shapes

    @property
    def model_params_types(self) -> ParameterTypeTree:
        """Parameter name (as in ``model.named_parameters()``) -> ParameterType."""
        if self._param_types is None:
            raise ValueError("call init_model_fn() before reading model_params_types")
        return self._param_types

    def is_output_params(self, param_key: ParameterKey) -> bool:
        return False

    # --- model ---------------------------------------------------------------------------
    @abc.abstractmethod
    def model_fn(
        self,
        params: ParameterContainer,
        augmented_and_preprocessed_input_batch: dict[str, Tensor],
        model_state: ModelAuxiliaryState,
        mode: ForwardPassMode,
        rng: RandomState,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[Tensor, ModelAuxiliaryState]:
        """Return (logits, new model state). ``dropout_rate=None`` means the workload's
        default (AlgoPerf v0.5 submissions do not pass it)."""

    @abc.abstractmethod
    def loss_fn(
        self,
        label_batch: Tensor,
        logits_batch: Tensor,
        mask_batch: Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, Tensor]:
        """Return {'summed', 'n_valid_examples', 'per_example'} (masked, unreduced)."""

    def output_activation_fn(self, logits_batch: Tensor, framework: str = "pytorch") -> Tensor:
        import torch

        if framework != "pytorch":
            raise ValueError(f"only the pytorch framework is supported, got {framework!r}")
        if self.loss_type in (LossType.SOFTMAX_CROSS_ENTROPY, LossType.CTC_LOSS):
            return torch.softmax(logits_batch, dim=-1)
        if self.loss_type is LossType.SIGMOID_CROSS_ENTROPY:
            return torch.sigmoid(logits_batch)
        return logits_batch


class Workload(WorkloadContract):
    """A dataset, a model, a loss, an eval metric, a validation target and a budget: the
    contract plus the runner's side (the data, the eval and the target), which a
    submission is never handed."""

    #: registered name, set by the registry (e.g. "digits_logreg")
    name: str = ""
    #: resolved scale, "smoke" or "full"
    scale: str = "smoke"
    #: the registered workload this one is a held-out variant of (docs/rules.md), else None
    variant_of: str | None = None

    @property
    @abc.abstractmethod
    def target(self) -> Target:
        """The validation target."""

    def has_reached_validation_target(self, eval_result: dict[str, float]) -> bool:
        return self.target.reached(eval_result[f"validation/{self.target.metric}"])

    def has_reached_test_target(self, eval_result: dict[str, float]) -> bool:
        return self.target.reached(eval_result[f"test/{self.target.metric}"])

    @property
    @abc.abstractmethod
    def default_batch_size(self) -> int:
        """Used when a submission's ``get_batch_size`` does not know this workload."""

    @abc.abstractmethod
    def init_model_fn(self, rng: RandomState) -> ModelInitState:
        """Return (model on the workload's device, model state)."""

    def prepare(self) -> None:
        """Load the data onto the device; the runner calls it in the untimed set-up."""

    @abc.abstractmethod
    def build_train_queue(self, batch_size: int, seed: int) -> Iterator[dict[str, Tensor]]:
        """An endless, seeded, shuffled iterator of training batches on the device."""

    @abc.abstractmethod
    def eval_model(self, params: ParameterContainer, model_state: ModelAuxiliaryState) -> dict[str, float]:
        """Metrics on eval_train, validation and test: {'train/loss': ..,
        'validation/accuracy': .., 'test/...': ..}. Runs no submission code."""

    def eval_validation(self, params: ParameterContainer, model_state: ModelAuxiliaryState) -> dict[str, float]:
        """The validation metrics alone ({'validation/accuracy': ..}): all that the runner
        needs of a checkpoint between evals. By default the whole eval."""
        return self.eval_model(params, model_state)

    def describe(self) -> dict[str, Any]:
        """What the registry lists and the results record (scale, sizes, target, budget)."""
        return {
            "workload": self.name,
            "scale": self.scale,
            "target": self.target._asdict(),
            "budget_sec": self.max_allowed_runtime_sec,
            "eval_period_sec": self.eval_period_time_sec,
            "step_hint": self.step_hint,
            "default_batch_size": self.default_batch_size,
        }


class Submission(Protocol):
    """The functions a submission module defines (AlgoPerf's API; the native form is
    adapted to it by :mod:`algoperf_lite.native`). ``workload`` is always the contract
    view (:class:`WorkloadContract`): no data splits, no eval. ``rng`` is an int seed
    derived from the trial's seed and the step. ``hyperparameters`` has attribute access
    (``hp.learning_rate``); under self-tuning it is the submission's ``self_tuning.json``
    point, or None when it has none."""

    def get_batch_size(self, workload_name: str) -> int:
        """Called once, before set-up. Raise ValueError for a workload name it does not
        know: the runner then uses the workload's default (and records that)."""

    def init_optimizer_state(self, workload: WorkloadContract, model_params: nn.Module,
                             model_state: ModelAuxiliaryState, hyperparameters: Hyperparameters,
                             rng: RandomState) -> OptimizerState:
        """Called once, in the untimed set-up, after the model is built: build the
        optimizer, schedules and whatever state ``update_params`` needs."""

    def data_selection(self, workload: WorkloadContract, input_queue: Iterator[dict[str, Tensor]],
                       optimizer_state: OptimizerState, current_param_container: nn.Module,
                       model_state: ModelAuxiliaryState, hyperparameters: Hyperparameters,
                       global_step: int, rng: RandomState) -> dict[str, Tensor]:
        """Called at the start of every step, on the clock: the batch to train on, drawn
        from the runner's shuffled training queue (it may draw several, or skip some)."""

    def update_params(self, workload: WorkloadContract, current_param_container: nn.Module,
                      current_params_types: ParameterTypeTree, model_state: ModelAuxiliaryState,
                      hyperparameters: Hyperparameters, batch: dict[str, Tensor], loss_type: LossType,
                      optimizer_state: OptimizerState, eval_results: list[tuple[int, dict[str, float]]],
                      global_step: int, rng: RandomState, train_state: dict[str, Any] | None = None,
                      ) -> UpdateReturn:
        """Called once per step, on the clock: one update of the model in place (or a new
        model), computing its loss through ``workload.loss_fn`` (the runner's divergence
        check watches it). ``eval_results`` holds (step, metrics) of every eval so far;
        ``train_state`` (v0.6) the accumulated submission time and whether the target was
        reached. Raise :class:`TrainingCompleteError` to end training after a final eval."""

    def prepare_for_eval(self, workload: WorkloadContract, current_param_container: nn.Module,
                         current_params_types: ParameterTypeTree, model_state: ModelAuxiliaryState,
                         hyperparameters: Hyperparameters, loss_type: LossType,
                         optimizer_state: OptimizerState, eval_results: list[tuple[int, dict[str, float]]],
                         global_step: int, rng: RandomState) -> UpdateReturn:
        """Optional. Called before every eval, on the clock: return the model the eval
        should see (e.g. averaged weights). Training continues from what it returns, so a
        submission that swaps weights in swaps them back in its next ``update_params``."""


InitOptimizerFn = Callable[..., OptimizerState]
UpdateParamsFn = Callable[..., UpdateReturn]
PrepareForEvalFn = Callable[..., UpdateReturn]
DataSelectionFn = Callable[..., dict[str, Tensor]]
GetBatchSizeFn = Callable[[str], int]
