"""How a vision method gets its views: augment ``batch["image"]`` on the device, or take given views."""

from __future__ import annotations

import torch
from torch import nn


def batch_images(batch) -> torch.Tensor:
    """``(B, C, H, W)`` images of a batch ``{"image": ...}`` (or a bare tensor)."""
    images = batch["image"] if isinstance(batch, dict) else batch
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected a batch {{'image': (B, C, H, W) tensor}}, got {got}")
    return images


def make_views(augment: nn.Module, batch) -> list[torch.Tensor]:
    """``batch["views"]`` when the data pipeline made them already, else ``augment(batch["image"])``."""
    if isinstance(batch, dict) and "views" in batch:
        return list(batch["views"])
    return augment(batch_images(batch))
