"""SimSiam (Chen & He 2021) on images: the core method with on-device augmented views."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.methods import SimSiam as CoreSimSiam
from selfsup.vision.augment import simclr_views
from selfsup.vision.methods._views import make_views


class SimSiam(CoreSimSiam):
    """Predictor + stop-gradient, no negatives; SimCLR's augmentation by default."""

    def __init__(self, encoder: nn.Module, *, augment: nn.Module | None = None, image_size: int = 32,
                 proj_dim: int = 2048, pred_hidden_dim: int = 512) -> None:
        super().__init__(encoder, proj_dim=proj_dim, pred_hidden_dim=pred_hidden_dim)
        self.augment = augment if augment is not None else simclr_views(image_size)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        return super().forward({"views": make_views(self.augment, batch)})
