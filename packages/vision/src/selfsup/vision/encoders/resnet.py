"""ResNet encoders from torchvision, with the CIFAR stem for 32x32 inputs; pooled features out."""

from __future__ import annotations

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet_mini")


def _mini_resnet(widths: tuple[int, ...] = (16, 32, 64, 128)) -> nn.Module:
    """A narrow ResNet-10 (one torchvision ``BasicBlock`` per stage) that trains on 2 CPU cores in minutes."""
    stages, cin = [], widths[0]
    for i, width in enumerate(widths):
        stride = 1 if i == 0 else 2
        same = stride == 1 and cin == width
        down = None if same else nn.Sequential(conv1x1(cin, width, stride), nn.BatchNorm2d(width))
        stages.append(BasicBlock(cin, width, stride, down))
        cin = width
    body = nn.Sequential(*stages)
    body.out_dim = widths[-1]
    return body


class ResNetEncoder(nn.Module):
    """``(B, C, H, W)`` normalised images -> ``(B, out_dim)`` globally average-pooled features.

    Args:
        arch: ``resnet18``, ``resnet34``, ``resnet50`` (torchvision, random init) or ``resnet_mini``
            (widths 16-32-64-128, for CPU runs).
        cifar_stem: 3x3 stride-1 first convolution and no max-pool, the usual change for 32x32 images;
            False keeps the ImageNet stem (7x7 stride 2 + max-pool).
        in_chans: input channels (1 for grey images).
        channels_last: keep activations in channels-last memory format (faster convolutions).
    """

    def __init__(self, arch: str = "resnet18", *, cifar_stem: bool = True, in_chans: int = 3,
                 channels_last: bool = True) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
        self.arch, self.in_chans, self.channels_last = arch, in_chans, channels_last
        if arch == "resnet_mini":
            body = _mini_resnet()
            width, self.out_dim = 16, body.out_dim
            stem_conv = nn.Conv2d(in_chans, width, 3, 1, 1, bias=False) if cifar_stem else \
                nn.Conv2d(in_chans, width, 7, 2, 3, bias=False)
            self.stem = nn.Sequential(stem_conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                      nn.Identity() if cifar_stem else nn.MaxPool2d(3, 2, 1))
            self.body = body
        else:
            net = getattr(torchvision.models, arch)(weights=None)
            if cifar_stem:
                net.conv1 = nn.Conv2d(in_chans, 64, 3, 1, 1, bias=False)
                net.maxpool = nn.Identity()
            elif in_chans != 3:
                net.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
            self.out_dim = net.fc.in_features
            self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
            self.body = nn.Sequential(net.layer1, net.layer2, net.layer3, net.layer4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, out_dim)`` pooled features."""
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(f"{self.arch} expects (B, {self.in_chans}, H, W) images, got {tuple(images.shape)}")
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.pool(self.body(self.stem(images))).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images)
