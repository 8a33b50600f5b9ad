"""NAdamW with linear warmup and cosine decay (AlgoPerf's baseline), in the native form.

torch.optim.NAdam is Dozat's NAdam: its momentum coefficient follows a schedule
(mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))) and its bias corrections are
products of the mu_t; even with that schedule off, it corrects the momentum term by
1 - beta1 ** (t + 1). AlgoPerf's NAdamW (Table 1 of Choi et al., 2019, with AdamW's
decoupled weight decay) corrects both terms by 1 - beta1 ** t, and the targets are set
with it, so it is written here, 20 lines, tested against the update rule in
tests/test_baselines_nadamw.py.
"""

import torch

from algoperf_lite.native import warmup_cosine


class NAdamW(torch.optim.Optimizer):
    """p <- p * (1 - lr * wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr * (b1 m + (1 - b1) g) / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = torch.enable_grad()(closure)() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            group["step"] = t = group.get("step", 0) + 1
            step_size, root_correction2 = lr / (1 - beta1**t), (1 - beta2**t) ** 0.5
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
                p.mul_(1 - lr * group["weight_decay"])
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / root_correction2).add_(eps)
                p.addcdiv_(m.lerp(g, 1 - beta1), denom, value=-step_size)  # the Nesterov look-ahead
        return loss


def make_optimizer(model, hp, workload):
    return NAdamW(model.parameters(), lr=hp.learning_rate, betas=(1.0 - hp.one_minus_beta1, hp.beta2),
                  eps=1e-8, weight_decay=hp.weight_decay)


schedule = warmup_cosine()  # warmup over hp.warmup_factor * step_hint, cosine to 0 at step_hint
