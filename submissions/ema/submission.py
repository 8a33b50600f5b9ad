"""AdamW with an exponential moving average of the weights, which the evals see, in the
AlgoPerf form: ``prepare_for_eval`` swaps the average in, the next step swaps it out."""

import torch
from torch.optim.swa_utils import get_ema_multi_avg_fn

from algoperf_lite import submission_kit as kit
from algoperf_lite.native import warmup_cosine


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    hp = hyperparameters
    optimizer = torch.optim.AdamW(model_params.parameters(), lr=hp.learning_rate,
                                  betas=(1.0 - hp.one_minus_beta1, hp.beta2), weight_decay=hp.weight_decay)
    # The average spans about ema_horizon * step_hint steps, whatever the run's length.
    decay = max(0.0, 1.0 - 1.0 / (hp.ema_horizon * workload.step_hint))
    return {"optimizer": optimizer, "hp": hp,
            "scheduler": kit.lr_scheduler(optimizer, warmup_cosine(), workload.step_hint, hp),
            "ema_update": get_ema_multi_avg_fn(decay),
            "start": int(hp.warmup_factor * workload.step_hint),  # average once warmup is over
            "average": None, "swapped": False}


def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng, train_state=None):
    state, model = optimizer_state, current_param_container
    params = [p.detach() for p in model.parameters()]
    if state["swapped"]:  # an eval saw the average: put the trained weights back
        kit.swap_(params, state["average"])
        state["swapped"] = False
    state["optimizer"].zero_grad(set_to_none=True)
    _, new_model_state = kit.backward(workload, model, model_state, state["hp"], batch, rng)
    kit.clip_gradients(model, state["hp"])
    state["optimizer"].step()
    state["scheduler"].step()
    if global_step >= state["start"]:
        if state["average"] is None:
            state["average"] = [p.clone() for p in params]
        else:
            state["ema_update"](state["average"], params, global_step)
    return state, model, new_model_state


def prepare_for_eval(workload, current_param_container, current_params_types, model_state,
                     hyperparameters, loss_type, optimizer_state, eval_results, global_step, rng):
    state = optimizer_state
    if state["average"] is not None and not state["swapped"]:
        kit.swap_([p.detach() for p in current_param_container.parameters()], state["average"])
        state["swapped"] = True
    return state, current_param_container, model_state


get_batch_size = kit.get_batch_size
data_selection = kit.data_selection
