"""Encoders and methods by name, and the encoder each method uses in the suite's presets."""

from __future__ import annotations

from torch import nn

from selfsup.medical.encoders import ResNet3D, SwinUNETREncoder, UNet3D, VisionTransformer3D
from selfsup.medical.methods import MAE3D, ModelsGenesis, SwinPretraining, VoCo

ENCODERS = {
    "unet3d": UNet3D,
    "unet3d_small": lambda **kw: UNet3D(**{"features": (8, 16, 32, 64, 128, 8), **kw}),
    "unet3d_tiny": lambda **kw: UNet3D(**{"features": (4, 8, 16, 32, 64, 4), **kw}),
    "vit3d_mini": lambda **kw: VisionTransformer3D("mini", **kw),
    "vit3d_small": lambda **kw: VisionTransformer3D("small", **kw),
    "vit3d_base": lambda **kw: VisionTransformer3D("base", **kw),
    "swin_unetr": SwinUNETREncoder,
    "resnet3d_10": lambda **kw: ResNet3D(10, **kw),
    "resnet3d_18": lambda **kw: ResNet3D(18, **kw),
}
METHODS = {"swin_ssl": SwinPretraining, "voco": VoCo, "models_genesis": ModelsGenesis, "mae3d": MAE3D}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """``build_encoder("unet3d_small")``, ``build_encoder("swin_unetr", feature_size=48)``, ..."""
    if name not in ENCODERS:
        raise ValueError(f"unknown volume encoder {name!r}; choose from {sorted(ENCODERS)}")
    return ENCODERS[name](**kwargs)


def build_method(name: str, encoder: nn.Module, **kwargs) -> nn.Module:
    if name not in METHODS:
        raise ValueError(f"unknown volume method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **kwargs)
