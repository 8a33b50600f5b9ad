"""Prodigy (learning-rate free Adam) with cosine decay, in the native form."""

import contextlib
import io

from prodigyopt import Prodigy

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    # lr stays 1: Prodigy estimates the step size d itself; d_coef scales the estimate.
    # Bias correction and the warmup safeguard are the authors' advice with a warmup.
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line at every construction
        return Prodigy(model.parameters(), lr=1.0, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
                       weight_decay=hp.weight_decay, decouple=True, d_coef=hp.d_coef,
                       use_bias_correction=True, safeguard_warmup=True)


schedule = warmup_cosine()  # the paper pairs Prodigy with cosine annealing
