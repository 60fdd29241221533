"""Latent prediction (I-JEPA, data2vec): regress a student's predictions onto normalised teacher features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core.objectives import _validation as check
from selfsup.core.objectives._masked_mean import masked_mean
from selfsup.core.objectives._token_mask import require_token_mask


def normalized_teacher_target(layers: torch.Tensor | Sequence[torch.Tensor],
                              norm: Literal["layer", "instance", "none"] = "layer") -> torch.Tensor:
    """Average of per-layer normalised teacher features (data2vec's top-K target).

    Args:
        layers: ``(B, N, D)`` one layer's output, or a list / ``(K, B, N, D)`` stack of K layers.
        norm: ``"layer"`` = LayerNorm over D per token (I-JEPA, data2vec 2.0);
            ``"instance"`` = InstanceNorm over N per channel (data2vec 1.0); ``"none"``.
    Returns:
        ``(B, N, D)`` target without gradient.
    """
    stacked = torch.stack(list(layers)) if not isinstance(layers, torch.Tensor) else layers
    if stacked.dim() == 3:
        stacked = stacked.unsqueeze(0)
    check.require_float("teacher layers", stacked, 4)
    x = check.upcast(stacked.detach())
    if norm == "layer":
        x = F.layer_norm(x, x.shape[-1:])
    elif norm == "instance":
        x = (x - x.mean(dim=2, keepdim=True)) / torch.sqrt(x.var(dim=2, keepdim=True, unbiased=False) + 1e-5)
    elif norm != "none":
        raise ValueError(f"norm must be 'layer', 'instance' or 'none', got {norm!r}")
    return x.mean(dim=0)


def latent_prediction(prediction: torch.Tensor, target: torch.Tensor,
                      mask: torch.Tensor | None = None, *,
                      loss: Literal["mse", "smooth_l1"] = "mse", beta: float = 1.0,
                      gather: bool = False) -> torch.Tensor:
    """Mean regression loss of ``prediction (B, N, D)`` onto ``target (B, N, D)`` at masked tokens.

    ``target`` is treated as a teacher output (no gradient); build it with
    :func:`normalized_teacher_target`. ``loss="smooth_l1"`` is I-JEPA's choice, ``"mse"``
    data2vec's. ``gather`` normalises by the number of masked tokens over all ranks.
    """
    check.require_pair("prediction", prediction, "target", target, 3)
    require_token_mask(mask, prediction.shape[:2])
    check.require_finite(prediction=prediction, target=target)
    pred, tgt = check.upcast(prediction), check.upcast(target.detach())
    if loss == "mse":
        per_value = (pred - tgt).pow(2)
    elif loss == "smooth_l1":
        per_value = F.smooth_l1_loss(pred, tgt, reduction="none", beta=beta)
    else:
        raise ValueError(f"loss must be 'mse' or 'smooth_l1', got {loss!r}")
    return masked_mean(per_value.mean(dim=-1), mask, gather)


class LatentPredictionLoss(nn.Module):
    """Module form of :func:`latent_prediction`; ``forward(prediction, teacher_layers, mask)``."""

    def __init__(self, norm: Literal["layer", "instance", "none"] = "layer",
                 loss: Literal["mse", "smooth_l1"] = "mse", gather: bool = False) -> None:
        super().__init__()
        self.norm, self.loss, self.gather = norm, loss, gather

    def forward(self, prediction: torch.Tensor,
                teacher_layers: torch.Tensor | Sequence[torch.Tensor],
                mask: torch.Tensor | None = None) -> torch.Tensor:
        target = normalized_teacher_target(teacher_layers, self.norm)
        return latent_prediction(prediction, target, mask, loss=self.loss, gather=self.gather)
