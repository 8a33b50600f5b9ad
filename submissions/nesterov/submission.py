"""SGD with Nesterov momentum, linear warmup and linear decay, in the native form."""

import torch

from algoperf_lite.native import warmup_linear


def make_optimizer(model, hp, workload):
    return torch.optim.SGD(
        model.parameters(),
        lr=hp.learning_rate,
        momentum=1.0 - hp.one_minus_beta1,
        weight_decay=hp.weight_decay,  # coupled L2, as in AlgoPerf's baseline
        nesterov=True,
    )


# Warmup, then linear decay to end_factor * peak over decay_steps_factor of the rest.
schedule = warmup_linear(end_factor="end_factor", decay_steps_factor="decay_steps_factor")
