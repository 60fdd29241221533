"""What every volume method does first: take the volumes out of the batch and check them."""

from __future__ import annotations

import math

import torch
from torch import nn


def batch_volumes(batch) -> torch.Tensor:
    """``(B, C, X, Y, Z)`` float volumes from ``{"image": ...}`` or a tensor; a ValueError for anything else."""
    volumes = batch["image"] if isinstance(batch, dict) else batch
    if not isinstance(volumes, torch.Tensor) or volumes.dim() != 5:
        raise ValueError(f"expected volumes (B, C, X, Y, Z), got {getattr(volumes, 'shape', type(volumes))}")
    if not volumes.is_floating_point():
        raise TypeError(f"volumes must be floating point, got {volumes.dtype}")
    if not torch.isfinite(volumes).all():
        raise ValueError("the batch's volumes contain NaN or inf")
    return volumes


def upsampling_head(in_channels: int, stride: int, out_channels: int = 1) -> nn.Sequential:
    """Transposed 2x2x2 convolutions from a stride-``stride`` feature map back to full resolution (SwinUNETR's
    reconstruction head), halving the channels at each step."""
    steps = round(math.log2(stride))
    if 2 ** steps != stride:
        raise ValueError(f"the encoder's stride must be a power of 2, got {stride}")
    layers, channels = [], in_channels
    for _ in range(steps):
        nxt = max(channels // 2, 8)
        layers += [nn.ConvTranspose3d(channels, nxt, 2, stride=2), nn.InstanceNorm3d(nxt), nn.LeakyReLU(0.1)]
        channels = nxt
    layers.append(nn.Conv3d(channels, out_channels, 1))
    return nn.Sequential(*layers)
