"""Adafactor (torch.optim.Adafactor) with linear warmup and cosine decay, in the native form."""

import torch

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    # The paper's settings: relative step sizes min(lr, 1/sqrt(t)) times the parameter's
    # RMS, second-moment decay 1 - t^-0.8, update clipping at RMS 1, no momentum.
    return torch.optim.Adafactor(model.parameters(), lr=hp.learning_rate, beta2_decay=-0.8,
                                 d=1.0, weight_decay=hp.weight_decay)


schedule = warmup_cosine()  # scales lr, the cap of the relative step size
