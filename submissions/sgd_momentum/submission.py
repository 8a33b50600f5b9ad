"""SGD with heavy-ball momentum, linear warmup and linear decay, in the AlgoPerf form
(the same file runs on AlgoPerf's own runner). Under self-tuning algoperf-lite passes the
point in ``self_tuning.json``; AlgoPerf's runner would pass None."""

from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
import torch.distributed.nn as dist_nn

from algoperf import spec
from algoperf.pytorch_utils import pytorch_setup

USE_PYTORCH_DDP = pytorch_setup()[0]


def init_optimizer_state(workload: spec.Workload, model_params: spec.ParameterContainer,
                         model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                         rng: spec.RandomState) -> spec.OptimizerState:
    optimizer = torch.optim.SGD(
        model_params.parameters(),
        lr=hyperparameters.learning_rate,
        momentum=1.0 - hyperparameters.one_minus_beta1,
        weight_decay=hyperparameters.weight_decay,
        nesterov=False,
    )
    warmup = int(hyperparameters.warmup_factor * workload.step_hint)
    decay = max(workload.step_hint - warmup, 1)
    end = hyperparameters.end_factor

    def lr_factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return 1.0 - (1.0 - end) * min((step - warmup) / decay, 1.0)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    return {"optimizer": optimizer, "scheduler": scheduler, "hyperparameters": hyperparameters}


def update_params(workload: spec.Workload, current_param_container: spec.ParameterContainer,
                  current_params_types: spec.ParameterTypeTree, model_state: spec.ModelAuxiliaryState,
                  hyperparameters: spec.Hyperparameters, batch: Dict[str, spec.Tensor],
                  loss_type: spec.LossType, optimizer_state: spec.OptimizerState,
                  eval_results: List[Tuple[int, float]], global_step: int, rng: spec.RandomState,
                  train_state: Optional[Dict[str, Any]] = None) -> spec.UpdateReturn:
    hyperparameters = optimizer_state["hyperparameters"]
    model = current_param_container
    model.train()
    optimizer_state["optimizer"].zero_grad()
    logits, new_model_state = workload.model_fn(
        params=model, augmented_and_preprocessed_input_batch=batch, model_state=model_state,
        mode=spec.ForwardPassMode.TRAIN, rng=rng, update_batch_norm=True,
        dropout_rate=getattr(hyperparameters, "dropout_rate", 0.0),
    )
    loss_dict = workload.loss_fn(
        label_batch=batch["targets"], logits_batch=logits, mask_batch=batch.get("weights"),
        label_smoothing=getattr(hyperparameters, "label_smoothing", 0.0),
    )
    summed, n_valid = loss_dict["summed"], loss_dict["n_valid_examples"]
    if USE_PYTORCH_DDP:  # sum over ranks so that every rank gets the global mean gradient
        summed, n_valid = dist_nn.all_reduce(summed), dist_nn.all_reduce(n_valid)
    (summed / n_valid).backward()
    optimizer_state["optimizer"].step()
    optimizer_state["scheduler"].step()
    return optimizer_state, model, new_model_state


def get_batch_size(workload_name: str) -> int:
    # No per-workload choice: the runner then uses each workload's default batch size.
    raise ValueError(f"no batch size chosen for {workload_name}")


def data_selection(workload: spec.Workload, input_queue: Iterator[Dict[str, spec.Tensor]],
                   optimizer_state: spec.OptimizerState, current_param_container: spec.ParameterContainer,
                   model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                   global_step: int, rng: spec.RandomState) -> Dict[str, spec.Tensor]:
    return next(input_queue)

