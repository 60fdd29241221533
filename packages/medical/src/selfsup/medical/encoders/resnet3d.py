"""3D ResNet (Chen et al. 2019 MedicalNet / Hara et al. 2018 depths) from MONAI, for volume-level features."""

from __future__ import annotations

import torch
from monai.networks.nets import resnet10, resnet18, resnet34, resnet50

from selfsup.medical.encoders.base import VolumeEncoder

_DEPTHS = {10: resnet10, 18: resnet18, 34: resnet34, 50: resnet50}


class ResNet3D(VolumeEncoder):
    """MONAI ``ResNet`` with a 3x3x3 stride-1 stem (small crops); pooled features of the last stage.
    ``widen_factor`` scales the widths (0.25 on CPU). No decoder: volume-level methods and probes only."""

    def __init__(self, depth: int = 18, in_channels: int = 1, widen_factor: float = 1.0) -> None:
        super().__init__()
        if depth not in _DEPTHS:
            raise ValueError(f"depth must be one of {sorted(_DEPTHS)}, got {depth}")
        self.net = _DEPTHS[depth](spatial_dims=3, n_input_channels=in_channels, conv1_t_size=3, conv1_t_stride=1,
                                  feed_forward=False, widen_factor=widen_factor, norm=("instance", {"affine": True}))
        self.in_channels, self.stride, self.min_size = in_channels, 16, 16
        self.depth, self.widen_factor = depth, widen_factor
        last = self.net.layer4[-1]
        self.out_dim = self.bottleneck_channels = (last.conv3 if hasattr(last, "conv3") else last.conv2).out_channels

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        n = self.net
        x = n.maxpool(n.act(n.bn1(n.conv1(x))))
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))
