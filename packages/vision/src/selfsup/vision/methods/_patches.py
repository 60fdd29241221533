"""Patch bookkeeping shared by the masked-image methods."""

from __future__ import annotations

import torch


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(B, C, H, W) -> (B, (H/p)*(W/p), p*p*C)``, patches in the tokenizer's row-major order."""
    b, c, h, w = images.shape
    p = patch_size
    x = images.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int, grid: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, N, p*p*C) -> (B, C, H, W)``."""
    b, p = patches.shape[0], patch_size
    x = patches.reshape(b, grid[0], grid[1], p, p, channels).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, channels, grid[0] * p, grid[1] * p)


def masked_indices(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(visible (B, N_keep), masked (B, N_mask))`` token indices of ``mask (B, N)`` (True = masked),
    in the order :func:`selfsup.core.trunk.drop_masked` uses; rows must mask equally many tokens."""
    order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)
    n_keep = mask.shape[1] - int(mask[0].sum())
    return order[:, :n_keep], order[:, n_keep:]
