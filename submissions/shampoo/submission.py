"""Shampoo with Adam-style (RMSProp) grafting, linear warmup and cosine decay, in the
native form."""

from pytorch_optimizer import ScalableShampoo
from pytorch_optimizer.optimizer.utils.graft import LayerWiseGrafting

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    return ScalableShampoo(
        model.parameters(), lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
        moving_average_for_momentum=True, nesterov=True,
        weight_decay=hp.weight_decay, decoupled_weight_decay=True,
        # Shampoo's direction with the per-layer step length of RMSProp: the grafting that
        # makes Shampoo work with Adam's learning rates (Anil et al., 2020).
        graft_type=LayerWiseGrafting.RMSPROP,
        # Precondition once warmup is over (AlgoPerf's baseline: from step 101 of ~10^5);
        # the inverse roots are recomputed every preconditioning_compute_steps steps.
        start_preconditioning_step=max(int(hp.warmup_factor * workload.step_hint), 1),
        preconditioning_compute_steps=hp.preconditioning_compute_steps,
        block_size=hp.block_size,
    )


schedule = warmup_cosine()
