"""Muon for the hidden weight matrices and AdamW for everything else, with linear warmup
and cosine decay, in the native form."""

import torch

from algoperf_lite.native import warmup_cosine
from algoperf_lite.spec import ParameterType
from algoperf_lite.submission_kit import OptimizerGroup

# Matrices that map hidden features to hidden features. Embeddings, norms, biases and
# convolution filters (torch.optim.Muon takes 2-D parameters only) go to AdamW.
HIDDEN_MATRIX = {ParameterType.WEIGHT, ParameterType.ATTENTION_Q, ParameterType.ATTENTION_K,
                 ParameterType.ATTENTION_V, ParameterType.ATTENTION_OUT, ParameterType.ATTENTION_QKV,
                 ParameterType.ATTENTION_KV}


def make_optimizer(model, hp, workload):
    types = workload.model_params_types
    hidden, other = [], []
    for name, p in model.named_parameters():
        is_hidden = types[name] in HIDDEN_MATRIX and p.ndim == 2 and not workload.is_output_params(name)
        (hidden if is_hidden else other).append(p)
    adamw = torch.optim.AdamW(other, lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
                              weight_decay=hp.weight_decay)
    if not hidden:  # e.g. a linear model, whose only matrix is the output layer
        return adamw
    # "match_rms_adamw" scales Muon's orthogonal update to AdamW's RMS (Liu et al., 2025),
    # so that one learning rate and weight decay serve both.
    muon = torch.optim.Muon(hidden, lr=hp.learning_rate, weight_decay=hp.weight_decay,
                            momentum=hp.muon_momentum, nesterov=True, adjust_lr_fn="match_rms_adamw")
    return OptimizerGroup(muon, adamw)


schedule = warmup_cosine()
