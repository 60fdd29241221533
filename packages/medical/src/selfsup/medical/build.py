"""Encoders and methods by name. The factories import their module on first use: MONAI's import takes tens of
seconds, and registering the plugin (``selfsup list``, any ``selfsup`` command) must not pay it."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

from selfsup.core.registry import recorded


def _lazy(module: str, attr: str, *args, **defaults) -> Callable[..., nn.Module]:
    def factory(*more, **kwargs) -> nn.Module:
        cls = getattr(importlib.import_module(f"selfsup.medical.{module}"), attr)
        return cls(*args, *more, **{**defaults, **kwargs})

    factory.__qualname__ = factory.__name__ = attr
    factory.__module__ = f"selfsup.medical.{module}"
    return factory


ENCODERS = {
    "unet3d": _lazy("encoders.unet3d", "UNet3D"),
    "unet3d_small": _lazy("encoders.unet3d", "UNet3D", features=(8, 16, 32, 64, 128, 8)),
    "unet3d_small16": _lazy("encoders.unet3d", "UNet3D", features=(8, 16, 32, 64, 128, 16)),  # last block 16 wide
    "unet3d_tiny": _lazy("encoders.unet3d", "UNet3D", features=(4, 8, 16, 32, 64, 4)),
    "vit3d_mini": _lazy("encoders.vit3d", "VisionTransformer3D", "mini"),
    "vit3d_small": _lazy("encoders.vit3d", "VisionTransformer3D", "small"),
    "vit3d_base": _lazy("encoders.vit3d", "VisionTransformer3D", "base"),
    "swin_unetr": _lazy("encoders.swin_unetr", "SwinUNETREncoder"),
    "resnet3d_10": _lazy("encoders.resnet3d", "ResNet3D", 10),
    "resnet3d_18": _lazy("encoders.resnet3d", "ResNet3D", 18),
}
METHODS = {
    "swin_ssl": _lazy("methods.swin_pretraining", "SwinPretraining"),
    "voco": _lazy("methods.voco", "VoCo"),
    "models_genesis": _lazy("methods.models_genesis", "ModelsGenesis"),
    "mae3d": _lazy("methods.mae3d", "MAE3D"),
}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """``build_encoder("unet3d_small")``, ``build_encoder("swin_unetr", feature_size=48)``, ..."""
    if name not in ENCODERS:
        raise ValueError(f"unknown volume encoder {name!r}; choose from {sorted(ENCODERS)}")
    return recorded(ENCODERS[name](**kwargs), name, kwargs)


def build_method(name: str, encoder: nn.Module, **kwargs) -> nn.Module:
    """A volume SSL method (``swin_ssl``, ``voco``, ``models_genesis``, ``mae3d``) around ``encoder``."""
    if name not in METHODS:
        raise ValueError(f"unknown volume method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **kwargs)
