"""What every volume encoder offers the methods, probes and fine-tuning: pooled features, the bottleneck
feature map, a dense segmentation network that shares its weights, and which parameters are "the encoder"."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn


class VolumeEncoder(nn.Module):
    """Base of the volume encoders.

    ``forward(x (B, C, X, Y, Z)) -> (B, out_dim)`` pooled features; ``feature_map(x) -> (B, bottleneck_channels,
    X/stride, Y/stride, Z/stride)``; ``segmenter(num_classes)`` a module ``(B, C, X, Y, Z) -> (B, K, X, Y, Z)``
    whose encoder part *is* this module (fine-tuning it trains this encoder); ``encoder_parameters()`` what a
    frozen-encoder probe freezes. Subclasses set ``in_channels``, ``out_dim``, ``bottleneck_channels``, ``stride``
    and ``min_size`` (the smallest edge an input may have).
    """

    in_channels: int
    out_dim: int
    bottleneck_channels: int
    stride: int
    min_size: int

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects volumes (B, {self.in_channels}, X, Y, Z), "
                             f"got {tuple(x.shape)}")
        if min(x.shape[2:]) < self.min_size:
            raise ValueError(f"{type(self).__name__} needs volumes of at least {self.min_size}^3 voxels, "
                             f"got {tuple(x.shape[2:])}")

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3, 4))

    def segmenter(self, num_classes: int) -> nn.Module:
        raise TypeError(f"{type(self).__name__} has no decoder for dense outputs; use unet3d, vit3d or swin_unetr "
                        "for segmentation and restoration")

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        return self.parameters()


def reset_parameters(module: nn.Module) -> None:
    """Re-initialise every sub-module that can (a decoder trained from scratch on top of a frozen encoder)."""
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()
