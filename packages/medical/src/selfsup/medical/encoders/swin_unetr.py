"""SwinUNETR (Hatamizadeh et al. 2022) from MONAI: the Swin Transformer is the encoder, the CNN decoder is
the rest. MONAI 1.5+ has no ``img_size`` argument; each edge must be a multiple of 32 (at least 64 is usual)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from monai.networks.blocks import UnetOutBlock
from monai.networks.nets import SwinUNETR as MonaiSwinUNETR
from torch import nn

from selfsup.medical.encoders.base import VolumeEncoder, reset_parameters


class SwinUNETREncoder(VolumeEncoder):
    """MONAI ``SwinUNETR``; pooled features are the mean of the last Swin stage (``16 * feature_size``
    channels, stride 32)."""

    def __init__(self, in_channels: int = 1, feature_size: int = 48, use_checkpoint: bool = False,
                 use_v2: bool = False) -> None:
        super().__init__()
        if feature_size % 12:
            raise ValueError(f"feature_size must be a multiple of 12 (MONAI SwinUNETR), got {feature_size}")
        self.net = MonaiSwinUNETR(in_channels=in_channels, out_channels=1, feature_size=feature_size,
                                  use_checkpoint=use_checkpoint, use_v2=use_v2)
        del self.net.out
        self.in_channels, self.feature_size, self.use_v2 = in_channels, feature_size, use_v2
        self.out_dim = self.bottleneck_channels = 16 * feature_size
        self.stride, self.min_size = 32, 32

    def check_input(self, x: torch.Tensor) -> None:
        super().check_input(x)
        if any(s % 32 for s in x.shape[2:]):
            raise ValueError(f"SwinUNETR needs every edge to be a multiple of 32, got {tuple(x.shape[2:])}")

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.check_input(x)
        return self.net.swinViT(x, self.net.normalize)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden_states(x)[4]

    def decode(self, x: torch.Tensor, hidden: list[torch.Tensor]) -> torch.Tensor:
        """``(B, feature_size, X, Y, Z)``: MONAI SwinUNETR's decoder path up to its output block."""
        n = self.net
        enc0, enc1, enc2, enc3 = n.encoder1(x), n.encoder2(hidden[0]), n.encoder3(hidden[1]), n.encoder4(hidden[2])
        dec = n.decoder5(n.encoder10(hidden[4]), hidden[3])
        dec = n.decoder4(dec, enc3)
        dec = n.decoder3(dec, enc2)
        dec = n.decoder2(dec, enc1)
        return n.decoder1(dec, enc0)

    def segmenter(self, num_classes: int) -> nn.Module:
        return SwinSegmenter(self, num_classes)

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        return self.net.swinViT.parameters()

    def decoder_modules(self) -> list[nn.Module]:
        return [m for name, m in self.net.named_children() if name != "swinViT"]


class SwinSegmenter(nn.Module):
    """A pretrained :class:`SwinUNETREncoder` with SwinUNETR's decoder and a ``num_classes`` output block: the whole
    network, for segmentation."""

    def __init__(self, swin: SwinUNETREncoder, num_classes: int) -> None:
        super().__init__()
        self.encoder = swin
        self.head = UnetOutBlock(spatial_dims=3, in_channels=swin.feature_size, out_channels=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.decode(x, self.encoder.hidden_states(x)))

    def reset_decoder(self) -> None:
        for module in self.encoder.decoder_modules():
            reset_parameters(module)
