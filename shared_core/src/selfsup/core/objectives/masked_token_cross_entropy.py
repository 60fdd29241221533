"""Cross-entropy on masked tokens: BERT/HuBERT/BEiT-style hard codes or iBOT-style soft targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core.objectives import _validation as check
from selfsup.core.objectives._masked_mean import masked_mean
from selfsup.core.objectives._token_mask import require_token_mask


def masked_token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                               mask: torch.Tensor | None = None, *,
                               label_smoothing: float = 0.0,
                               gather: bool = False) -> torch.Tensor:
    """Mean cross-entropy over the masked tokens.

    Args:
        logits: ``(B, N, V)`` predictions over a vocabulary/codebook/prototypes of size V.
        targets: ``(B, N)`` integer codes (hard) or ``(B, N, V)`` probabilities (soft, e.g. a
            teacher's softmax); soft targets get no gradient.
        mask: ``(B, N)`` bool, True = predicted token; None = every token.
        label_smoothing: as in ``torch.nn.functional.cross_entropy`` (hard targets only).
        gather: normalise by the number of masked tokens over all ranks (exact under DDP).
    """
    check.require_float("logits", logits, 3)
    require_token_mask(mask, logits.shape[:2])
    soft = targets.dtype.is_floating_point
    if soft:
        check.require_same_shape("logits", logits, "targets", targets)
        if label_smoothing:
            raise ValueError("label_smoothing applies to hard (integer) targets only")
    else:
        if targets.shape != logits.shape[:2]:
            raise ValueError(f"hard targets must have shape {tuple(logits.shape[:2])}, "
                             f"got {tuple(targets.shape)}")
        selected = targets if mask is None else targets[mask]
        if selected.numel() and (selected.min() < 0 or selected.max() >= logits.shape[-1]):
            raise ValueError(f"targets must lie in [0, {logits.shape[-1]}), got values in "
                             f"[{int(selected.min())}, {int(selected.max())}]")
    check.require_finite(logits=logits, targets=targets if soft else None)

    logp = F.log_softmax(check.upcast(logits), dim=-1)
    if soft:
        per_token = -(check.upcast(targets.detach()) * logp).sum(dim=-1)
    else:
        per_token = F.nll_loss(logp.flatten(0, 1), targets.flatten(), reduction="none")
        if label_smoothing:
            smooth = -logp.mean(dim=-1).flatten()
            per_token = (1 - label_smoothing) * per_token + label_smoothing * smooth
        per_token = per_token.view(targets.shape)
    return masked_mean(per_token, mask, gather)


class MaskedTokenCrossEntropy(nn.Module):
    """Module form of :func:`masked_token_cross_entropy`."""

    def __init__(self, label_smoothing: float = 0.0, gather: bool = False) -> None:
        super().__init__()
        self.label_smoothing, self.gather = label_smoothing, gather

    def forward(self, logits: torch.Tensor, targets: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return masked_token_cross_entropy(logits, targets, mask,
                                          label_smoothing=self.label_smoothing, gather=self.gather)
