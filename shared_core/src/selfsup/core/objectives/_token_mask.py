"""Shape check for the ``(B, N)`` boolean masks of the masked-prediction objectives."""

from __future__ import annotations

import torch


def require_token_mask(mask: torch.Tensor | None, batch_shape: torch.Size) -> None:
    """``mask`` must be None or a bool tensor of shape ``batch_shape`` (True = predicted token)."""
    if mask is None:
        return
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = masked/predicted), got {mask.dtype}")
    if mask.shape != batch_shape:
        raise ValueError(f"mask must have shape {tuple(batch_shape)}, got {tuple(mask.shape)}")
