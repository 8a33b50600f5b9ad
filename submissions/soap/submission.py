"""SOAP (Adam in the eigenbasis of Shampoo's preconditioner) with linear warmup and cosine
decay, in the native form."""

from pytorch_optimizer import SOAP

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    # The paper's defaults otherwise: eigenbasis refreshed every 10 steps, matrices up to
    # 10,000 wide preconditioned (wider dims and vectors get plain Adam), bias correction.
    return SOAP(model.parameters(), lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
                shampoo_beta=hp.beta2, weight_decay=hp.weight_decay,
                precondition_frequency=hp.precondition_frequency)


schedule = warmup_cosine()
