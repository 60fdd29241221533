"""Models Genesis (Zhou et al., MICCAI 2019 / MedIA 2021): restore the original sub-volume from a transformed
one with the whole encoder-decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.medical.augment import bezier_intensity, local_shuffle, paint, random_crop
from selfsup.medical.encoders.base import VolumeEncoder
from selfsup.medical.methods._batch import batch_volumes


class ModelsGenesis(nn.Module):
    """Each ``crop``^3 sub-volume goes through, independently, local voxel shuffling (``shuffle_p``), the
    non-linear Bezier intensity curve (``nonlinear_p``) and in- or out-painting (``paint_p``, out-painting a
    fifth of the time); the encoder's dense network (``encoder.segmenter(in_channels)``, so a U-Net's decoder
    is pretrained too) restores the original, mean squared error. Intensities are expected in [0, 1].
    """

    def __init__(self, encoder: VolumeEncoder, *, crop: int = 32, nonlinear_p: float = 0.9, shuffle_p: float = 0.5,
                 paint_p: float = 0.9, shuffle_blocks: int = 100) -> None:
        super().__init__()
        self.encoder, self.crop = encoder, crop
        self.nonlinear_p, self.shuffle_p, self.paint_p, self.shuffle_blocks = nonlinear_p, shuffle_p, paint_p, \
            shuffle_blocks
        self.restorer = encoder.segmenter(encoder.in_channels)

    def transform(self, crops: torch.Tensor) -> torch.Tensor:
        out = crops.clone()
        b = crops.shape[0]
        for p, fn in ((self.shuffle_p, lambda v: local_shuffle(v, self.shuffle_blocks)),
                      (self.nonlinear_p, bezier_intensity), (self.paint_p, paint)):
            pick = torch.rand(b) < p
            if pick.any():
                idx = pick.nonzero().flatten().to(crops.device)
                out[idx] = fn(out[idx])
        return out

    def forward(self, batch) -> dict[str, torch.Tensor]:
        crops = random_crop(batch_volumes(batch), self.crop)
        restored = self.restorer(self.transform(crops))
        return {"loss": F.mse_loss(restored.float(), crops.float())}
