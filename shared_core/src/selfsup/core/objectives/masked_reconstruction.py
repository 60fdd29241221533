"""Masked reconstruction (MAE, He et al. 2022): regress the pixels/values of the masked patches."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.objectives import _validation as check
from selfsup.core.objectives._masked_mean import masked_mean
from selfsup.core.objectives._token_mask import require_token_mask


def masked_reconstruction(prediction: torch.Tensor, target: torch.Tensor,
                          mask: torch.Tensor | None = None, *, normalize_target: bool = True,
                          eps: float = 1e-6, gather: bool = False) -> torch.Tensor:
    """MAE loss: per-patch mean squared error, averaged over the masked patches.

    Args:
        prediction: ``(B, N, P)`` decoder outputs, one row of P values per patch.
        target: ``(B, N, P)`` the patches' true values.
        mask: ``(B, N)`` bool, True = masked (the loss is computed there); None = all patches.
        normalize_target: standardise each target patch by its own mean and (unbiased)
            variance, as MAE's ``norm_pix_loss``.
        gather: normalise by the number of masked patches over all ranks (exact under DDP
            when ranks mask different numbers of patches).
    """
    check.require_pair("prediction", prediction, "target", target, 3)
    require_token_mask(mask, prediction.shape[:2])
    if normalize_target and target.shape[-1] < 2:
        raise ValueError("normalize_target needs patches of at least 2 values")
    check.require_finite(prediction=prediction, target=target)

    pred, tgt = check.upcast(prediction), check.upcast(target.detach())
    if normalize_target:
        tgt = (tgt - tgt.mean(dim=-1, keepdim=True)) / torch.sqrt(tgt.var(dim=-1, keepdim=True) + eps)
    per_patch = (pred - tgt).pow(2).mean(dim=-1)  # (B, N)
    return masked_mean(per_patch, mask, gather)


class MaskedReconstructionLoss(nn.Module):
    """Module form of :func:`masked_reconstruction`."""

    def __init__(self, normalize_target: bool = True, gather: bool = False) -> None:
        super().__init__()
        self.normalize_target, self.gather = normalize_target, gather

    def forward(self, prediction: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return masked_reconstruction(prediction, target, mask,
                                     normalize_target=self.normalize_target, gather=self.gather)
