"""Sharpness-Aware Minimization over AdamW with linear warmup and cosine decay, in the
AlgoPerf form: two forward-backward passes per step."""

import torch
from pytorch_optimizer import SAM

from algoperf_lite import submission_kit as kit
from algoperf_lite.native import warmup_cosine


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    hp = hyperparameters
    optimizer = SAM(model_params.parameters(), torch.optim.AdamW, rho=hp.rho, lr=hp.learning_rate,
                    betas=(1.0 - hp.one_minus_beta1, hp.beta2), eps=1e-8, weight_decay=hp.weight_decay)
    scheduler = kit.lr_scheduler(optimizer, warmup_cosine(), workload.step_hint, hp)
    return {"optimizer": optimizer, "scheduler": scheduler, "hp": hp}


def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng, train_state=None):
    optimizer, hp, model = optimizer_state["optimizer"], optimizer_state["hp"], current_param_container
    optimizer.zero_grad(set_to_none=True)
    _, new_model_state = kit.backward(workload, model, model_state, hp, batch, rng)

    def perturbed_gradient():  # at w + rho * g / |g|; BatchNorm statistics as the first pass left them
        kit.backward(workload, model, new_model_state, hp, batch, rng, update_batch_norm=False)
        kit.clip_gradients(model, hp)

    optimizer.step(perturbed_gradient)  # climb, take that gradient, go back to w, AdamW step
    optimizer_state["scheduler"].step()
    return optimizer_state, model, new_model_state


get_batch_size = kit.get_batch_size
data_selection = kit.data_selection
