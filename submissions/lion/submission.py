"""Lion (EvoLved Sign Momentum) with linear warmup and cosine decay, in the native form."""

from pytorch_optimizer import Lion

from algoperf_lite.native import warmup_cosine


def make_optimizer(model, hp, workload):
    # Decoupled weight decay: p <- p * (1 - lr * wd), as in the paper's Program 1.
    return Lion(model.parameters(), lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
                weight_decay=hp.weight_decay, weight_decouple=True)


schedule = warmup_cosine()  # the paper trains with cosine decay after a warmup
