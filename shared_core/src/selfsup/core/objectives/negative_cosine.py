"""Negative cosine similarity between a prediction and a (stop-gradient) target: BYOL, SimSiam."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core.objectives import _validation as check


def negative_cosine(prediction: torch.Tensor, target: torch.Tensor, *,
                    stop_gradient: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """``-mean_i cos(prediction_i, target_i)``.

    Args:
        prediction: ``(B, D)`` predictor outputs (online branch).
        target: ``(B, D)`` targets (momentum encoder or other view); detached when
            ``stop_gradient`` (SimSiam and BYOL both need it).

    BYOL's ``2 - 2 cos`` is ``2 + 2 * negative_cosine``: same gradients up to a factor 2.
    """
    check.require_pair("prediction", prediction, "target", target, 2)
    check.require_batch("negative_cosine", prediction.shape[0], 1, False, "an empty batch has no mean")
    check.require_finite(prediction=prediction, target=target)
    target = target.detach() if stop_gradient else target
    p, t = check.upcast(prediction), check.upcast(target)
    return -F.cosine_similarity(p, t, dim=1, eps=eps).mean()


class NegativeCosineLoss(nn.Module):
    """Module form of :func:`negative_cosine`."""

    def __init__(self, stop_gradient: bool = True) -> None:
        super().__init__()
        self.stop_gradient = stop_gradient

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return negative_cosine(prediction, target, stop_gradient=self.stop_gradient)
