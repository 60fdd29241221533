"""BYOL-A (Niizumi et al. 2021): BYOL on two augmentations of the same clip (mixup with other clips,
random resize crop, linear fader), on any audio encoder (BYOL-A's CNN by default in the suite)."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.audio.augment import BYOLAAugment
from selfsup.audio.encoders import spectrograms
from selfsup.core.methods import EMADistillation


class BYOLA(EMADistillation):
    """Projector/predictor ``hidden_dim -> out_dim`` (BYOL-A: 4096 -> 256); the trainer's cosine EMA
    schedule updates the teacher after each step."""

    def __init__(self, encoder: nn.Module, *, augment: nn.Module | None = None, out_dim: int = 256,
                 hidden_dim: int = 4096) -> None:
        super().__init__(encoder, "byol", out_dim=out_dim, hidden_dim=hidden_dim)
        self.augment = augment if augment is not None else BYOLAAugment()

    def forward(self, batch) -> dict[str, torch.Tensor]:
        return super().forward({"views": self.augment(spectrograms(batch))})
