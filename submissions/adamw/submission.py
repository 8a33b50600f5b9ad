"""AdamW with linear warmup and cosine decay, in the native form."""

import torch

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    return torch.optim.AdamW(
        model.parameters(),
        lr=hp.learning_rate,
        betas=(1.0 - hp.one_minus_beta1, hp.beta2),
        eps=1e-8,
        weight_decay=hp.weight_decay,
    )


schedule = warmup_cosine()  # warmup over hp.warmup_factor * step_hint, cosine to 0 at step_hint
batch_size = None  # the workload's default
