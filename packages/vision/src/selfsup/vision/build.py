"""Encoders and methods by name (what the plugin registers and the suite uses)."""

from __future__ import annotations

from functools import partial

from torch import nn

from selfsup.core.registry import recorded
from selfsup.vision.encoders import ResNetEncoder, VisionTransformer
from selfsup.vision.methods import BYOL, DCL, DINO, IJEPA, MAE, BarlowTwins, SimCLR, SimSiam, VICReg

METHODS = {"simclr": SimCLR, "byol": BYOL, "simsiam": SimSiam, "barlow_twins": BarlowTwins, "vicreg": VICReg,
           "dcl": DCL, "dino": DINO, "mae": MAE, "ijepa": IJEPA}
VIT_METHODS = ("mae", "ijepa")  # they mask patch tokens: ViT encoders only


def _resnet(arch: str, *, image_size: int = 32, in_chans: int = 3, **kwargs) -> ResNetEncoder:
    return ResNetEncoder(arch, cifar_stem=kwargs.pop("cifar_stem", image_size <= 64), in_chans=in_chans, **kwargs)


def _vit(size: str, patch_size: int, *, image_size: int | None = None, in_chans: int = 3, **kwargs):
    default_size = 32 if patch_size <= 4 else 224
    return VisionTransformer(size, image_size=image_size or default_size, patch_size=patch_size, in_chans=in_chans,
                             **kwargs)


ENCODERS = {
    **{arch: partial(_resnet, arch) for arch in ("resnet18", "resnet34", "resnet50", "resnet_mini")},
    **{f"vit_{size}_patch4": partial(_vit, size, 4) for size in ("mini", "tiny", "small")},
    **{f"vit_{size}_patch16": partial(_vit, size, 16) for size in ("tiny", "small", "base")},
}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """``build_encoder("resnet18", image_size=32, in_chans=3)``; ViTs also take ``pool="cls"|"mean"``."""
    if name not in ENCODERS:
        raise ValueError(f"unknown image encoder {name!r}; choose from {sorted(ENCODERS)}")
    return recorded(ENCODERS[name](**kwargs), name, kwargs)


def build_method(name: str, encoder: nn.Module, **kwargs) -> nn.Module:
    """``build_method("simclr", encoder, image_size=32, ...)``; MAE and I-JEPA need a ViT encoder."""
    if name not in METHODS:
        raise ValueError(f"unknown image method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **kwargs)
