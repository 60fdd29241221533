"""SpecAugment (Park et al. 2019) on batches: torchaudio's frequency and time masking, a fresh mask per
example."""

from __future__ import annotations

import torch
import torchaudio
from torch import nn


class SpecAugment(nn.Module):
    """``(B, F, T) -> (B, F, T)``: ``num_masks`` frequency masks of up to ``freq_mask`` bins and time
    masks of up to ``time_mask`` frames, independent per example; masked values are the fill value
    (0 = the dataset mean after normalisation)."""

    def __init__(self, freq_mask: int = 24, time_mask: int = 24, num_masks: int = 2) -> None:
        super().__init__()
        self.freq = torchaudio.transforms.FrequencyMasking(freq_mask, iid_masks=True)
        self.time = torchaudio.transforms.TimeMasking(time_mask, iid_masks=True)
        self.num_masks = num_masks

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if spec.dim() != 3:
            raise ValueError(f"SpecAugment expects (B, F, T), got {tuple(spec.shape)}")
        x = spec[:, None]
        for _ in range(self.num_masks):
            x = self.time(self.freq(x))
        return x[:, 0]
