"""The SwinUNETR pretraining recipe (Tang et al., CVPR 2022): rotation prediction + contrastive coding +
masked-volume inpainting, on any volume encoder (SwinUNETR's Swin-ViT in the paper)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import kernels
from selfsup.medical.augment import cutout, random_crop, rotate90
from selfsup.medical.encoders.base import VolumeEncoder
from selfsup.medical.methods._batch import batch_volumes, upsampling_head


class SwinPretraining(nn.Module):
    """Two random ``crop``^3 sub-volumes of each volume are rotated by a random multiple of 90 degrees and
    partly hidden (cut-out with noise, ``mask_ratio`` of the voxels); the encoder's feature map then feeds
    three heads: a rotation classifier (4 classes, cross-entropy), a contrastive projection (NT-Xent between the
    two sub-volumes of a volume, ``temperature``) and a transposed-convolution reconstruction of the whole
    rotated sub-volume (L1). ``loss = rot + contrast + inpaint`` (the paper's equal weights, adjustable).
    """

    def __init__(self, encoder: VolumeEncoder, *, crop: int = 32, mask_ratio: float = 0.3, temperature: float = 0.5,
                 proj_dim: int = 256, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> None:
        super().__init__()
        self.encoder, self.crop, self.mask_ratio, self.temperature = encoder, crop, mask_ratio, temperature
        self.weights = weights
        c = encoder.bottleneck_channels
        self.rotation_head = nn.Linear(c, 4)
        self.contrast_head = nn.Sequential(nn.Linear(c, 2 * proj_dim), nn.GELU(), nn.Linear(2 * proj_dim, proj_dim))
        self.reconstruction_head = upsampling_head(c, encoder.stride, encoder.in_channels)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        volumes = batch_volumes(batch)
        views = torch.cat([random_crop(volumes, self.crop), random_crop(volumes, self.crop)])
        turns = torch.randint(0, 4, (views.shape[0],))
        rotated = rotate90(views, turns)
        masked, _ = cutout(rotated, self.mask_ratio)
        features = self.encoder.feature_map(masked)
        pooled = features.mean(dim=(2, 3, 4))
        rot = F.cross_entropy(self.rotation_head(pooled).float(), turns.to(pooled.device))
        z1, z2 = self.contrast_head(pooled).float().chunk(2)
        contrast = kernels.nt_xent(z1, z2, self.temperature)
        inpaint = F.l1_loss(self.reconstruction_head(features).float(), rotated.float())
        wr, wc, wi = self.weights
        return {"loss": wr * rot + wc * contrast + wi * inpaint, "rotation": rot.detach(),
                "contrast": contrast.detach(), "inpaint": inpaint.detach()}
