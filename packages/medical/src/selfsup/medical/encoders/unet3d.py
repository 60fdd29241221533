"""3D U-Net on MONAI's ``BasicUNet``: its contracting path is the encoder, its expanding path the decoder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from monai.networks.nets import BasicUNet
from torch import nn

from selfsup.medical.encoders.base import VolumeEncoder, reset_parameters


class UNet3D(VolumeEncoder):
    """MONAI ``BasicUNet`` (two 3x3x3 convs per level, 4 max-pool levels, skip connections).

    Args:
        features: MONAI's six widths: levels 0-4 and the last up-sampling block.
        norm: MONAI norm name (``"instance"`` suits small batches of volumes).

    Pooled features are the mean of the deepest level (``features[4]`` channels, stride 16).
    """

    def __init__(self, in_channels: int = 1, features: Sequence[int] = (8, 16, 32, 64, 128, 8),
                 norm: str = "instance", dropout: float = 0.0) -> None:
        super().__init__()
        if len(features) != 6:
            raise ValueError(f"features must have 6 widths (MONAI BasicUNet), got {tuple(features)}")
        self.net = BasicUNet(spatial_dims=3, in_channels=in_channels, out_channels=1, features=tuple(features),
                             norm=norm, dropout=dropout)
        del self.net.final_conv  # each dense head (segmentation, restoration) brings its own 1x1x1 conv
        self.in_channels, self.features, self.norm, self.dropout = in_channels, tuple(features), norm, dropout
        self.out_dim = self.bottleneck_channels = features[4]
        self.stride, self.min_size = 16, 32  # instance norm needs 2^3 voxels at stride 16

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five levels ``[x0 (stride 1), ..., x4 (stride 16)]``."""
        self.check_input(x)
        levels = [self.net.conv_0(x)]
        for down in (self.net.down_1, self.net.down_2, self.net.down_3, self.net.down_4):
            levels.append(down(levels[-1]))
        return levels

    def decode(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """``(B, features[5], X, Y, Z)`` from :meth:`encode`'s levels."""
        x0, x1, x2, x3, x4 = levels
        u = self.net.upcat_4(x4, x3)
        u = self.net.upcat_3(u, x2)
        u = self.net.upcat_2(u, x1)
        return self.net.upcat_1(u, x0)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[-1]

    def segmenter(self, num_classes: int) -> nn.Module:
        return UNetSegmenter(self, num_classes)

    def encoder_modules(self) -> list[nn.Module]:
        return [self.net.conv_0, self.net.down_1, self.net.down_2, self.net.down_3, self.net.down_4]

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        for module in self.encoder_modules():
            yield from module.parameters()

    def decoder_modules(self) -> list[nn.Module]:
        return [self.net.upcat_4, self.net.upcat_3, self.net.upcat_2, self.net.upcat_1]


class UNetSegmenter(nn.Module):
    """The U-Net's encoder and decoder (shared with ``unet``) and a new 1x1x1 head: ``(B, C, X, Y, Z) ->
    (B, num_classes, X, Y, Z)``. ``reset_decoder()`` re-initialises the expanding path (frozen-encoder probes)."""

    def __init__(self, unet: UNet3D, num_classes: int) -> None:
        super().__init__()
        self.encoder = unet
        self.head = nn.Conv3d(unet.features[5], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.decode(self.encoder.encode(x)))

    def reset_decoder(self) -> None:
        for module in self.encoder.decoder_modules():
            reset_parameters(module)
