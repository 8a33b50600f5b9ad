"""Schedule-Free AdamW (the authors' ``schedulefree`` package), in the AlgoPerf form: the
eval sees the averaged weights, switched in by ``prepare_for_eval`` and out before the
next step."""

import schedulefree

from algoperf_lite import submission_kit as kit


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    hp = hyperparameters
    optimizer = schedulefree.AdamWScheduleFree(
        model_params.parameters(), lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
        weight_decay=hp.weight_decay, warmup_steps=int(hp.warmup_factor * workload.step_hint),
        r=hp.r, weight_lr_power=2.0,  # AlgoPerf v0.5's winning settings
    )
    optimizer.train()
    return {"optimizer": optimizer, "hp": hp}


def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng, train_state=None):
    optimizer, hp = optimizer_state["optimizer"], optimizer_state["hp"]
    optimizer.train()  # back to the interpolated point y after an eval (no-op otherwise)
    optimizer.zero_grad(set_to_none=True)
    _, new_model_state = kit.backward(workload, current_param_container, model_state, hp, batch, rng)
    kit.clip_gradients(current_param_container, hp)
    optimizer.step()
    return optimizer_state, current_param_container, new_model_state


def prepare_for_eval(workload, current_param_container, current_params_types, model_state,
                     hyperparameters, loss_type, optimizer_state, eval_results, global_step, rng):
    optimizer_state["optimizer"].eval()  # the averaged weights x, the ones the theory bounds
    return optimizer_state, current_param_container, model_state


get_batch_size = kit.get_batch_size
data_selection = kit.data_selection
