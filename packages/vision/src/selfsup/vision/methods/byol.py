"""BYOL (Grill et al. 2020) on images: EMA teacher, predictor, BYOL's asymmetric augmentation pair."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.methods import EMADistillation
from selfsup.vision.augment import byol_views
from selfsup.vision.methods._views import make_views


class BYOL(EMADistillation):
    """Projector/predictor 4096 -> 256 as in the paper (smaller by argument); the trainer's cosine
    EMA-momentum schedule updates the teacher after each step."""

    def __init__(self, encoder: nn.Module, *, augment: nn.Module | None = None, image_size: int = 32,
                 out_dim: int = 256, hidden_dim: int = 4096) -> None:
        super().__init__(encoder, "byol", out_dim=out_dim, hidden_dim=hidden_dim)
        self.augment = augment if augment is not None else byol_views(image_size)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        return super().forward({"views": make_views(self.augment, batch)})
