"""Optimizers with parameter groups: no weight decay on norms and biases; AdamW, Adam (L2 penalty in the
gradient, as the graph SSL papers' ``torch.optim.Adam(weight_decay=...)``), SGD and LARS."""

from __future__ import annotations

import torch
from torch import nn


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters split into decayed (matrices, kernels) and not decayed (1-D: norms, biases).

    The non-decayed group is also excluded from LARS adaptation (``lars_exclude``), as in SimCLR/BYOL.
    """
    decay, no_decay = [], []
    for _, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay, "lars_exclude": False},
        {"params": no_decay, "weight_decay": 0.0, "lars_exclude": True},
    ]


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al. 2017).

    For each parameter not marked ``lars_exclude``, the update is scaled by
    ``trust_coefficient * ||w|| / ||g + weight_decay * w||`` (1 when either norm is zero).
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = 0.001, eps: float = 1e-8) -> None:
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, eps=eps, lars_exclude=False)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                update = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad.clone()
                if not group["lars_exclude"]:
                    w_norm, u_norm = torch.norm(p), torch.norm(update)
                    trust = torch.where((w_norm > 0) & (u_norm > 0),
                                        group["trust_coefficient"] * w_norm / (u_norm + group["eps"]),
                                        torch.ones_like(w_norm))
                    update.mul_(trust)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = update.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(update)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def build_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float,
                    betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """The optimizer of a :class:`TrainConfig` (AdamW, Adam, LARS or SGD), with norms and biases in a group
    without weight decay."""
    groups = parameter_groups(model, weight_decay)
    if not groups[0]["params"] and not groups[1]["params"]:
        raise ValueError("the model has no trainable parameters")
    if name == "adamw":
        return torch.optim.AdamW([{k: v for k, v in g.items() if k != "lars_exclude"} for g in groups],
                                 lr=lr, betas=betas)
    if name == "adam":
        return torch.optim.Adam([{k: v for k, v in g.items() if k != "lars_exclude"} for g in groups],
                                lr=lr, betas=betas)
    if name == "sgd":
        return torch.optim.SGD([{k: v for k, v in g.items() if k != "lars_exclude"} for g in groups],
                               lr=lr, momentum=0.9)
    if name == "lars":
        return LARS(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}: choose 'adamw', 'adam', 'sgd' or 'lars'")
