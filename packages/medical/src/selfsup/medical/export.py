"""Volume encoders as MONAI's own networks: ``--format monai`` writes the state dict of the MONAI network inside the
encoder (``BasicUNet`` for ``unet3d*``, ``SwinUNETR`` for ``swin_unetr``, ``ResNet`` for ``resnet3d_*``), which the
network built with the printed arguments loads with ``strict=True`` except its output head (``final_conv`` /
``out``: the encoder has none; yours has your classes). The check builds that network, loads the file, and compares
the encoder's features computed from it with the encoder's own."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from selfsup.core.export import Exported, NotExportable, compare_reloaded, encoder_name
from selfsup.medical.encoders.resnet3d import ResNet3D
from selfsup.medical.encoders.swin_unetr import SwinUNETREncoder
from selfsup.medical.encoders.unet3d import UNet3D

HEADS = {"BasicUNet": "final_conv.", "SwinUNETR": "out."}


def example_volumes(encoder: nn.Module, batch: int) -> torch.Tensor:
    """``(batch, C, s, s, s)`` standard-normal volumes: the 3D ViT's ``volume_size``, else 32 (every other volume
    encoder's smallest input)."""
    tokenizer = getattr(encoder, "tokenizer", None)
    size = tokenizer.volume_size if tokenizer is not None else max(32, getattr(encoder, "min_size", 32))
    return torch.randn(batch, encoder.in_channels, size, size, size)


def monai_network(encoder: nn.Module) -> tuple[nn.Module, str]:
    """``(a fresh MONAI network of the encoder's shape, the Python line that builds it)``."""
    if isinstance(encoder, UNet3D):
        from monai.networks.nets import BasicUNet

        args = dict(spatial_dims=3, in_channels=encoder.in_channels, features=encoder.features, norm=encoder.norm,
                    dropout=encoder.dropout)
        line = (f"net = monai.networks.nets.BasicUNet(spatial_dims=3, in_channels={encoder.in_channels}, "
                f"out_channels=NUM_CLASSES, features={encoder.features}, norm={encoder.norm!r}, "
                f"dropout={encoder.dropout})")
        return BasicUNet(out_channels=1, **args), line
    if isinstance(encoder, SwinUNETREncoder):
        from monai.networks.nets import SwinUNETR

        line = (f"net = monai.networks.nets.SwinUNETR(in_channels={encoder.in_channels}, out_channels=NUM_CLASSES, "
                f"feature_size={encoder.feature_size}, use_v2={encoder.use_v2})")
        return SwinUNETR(in_channels=encoder.in_channels, out_channels=1, feature_size=encoder.feature_size,
                         use_v2=encoder.use_v2), line
    if isinstance(encoder, ResNet3D):
        from monai.networks import nets

        args = dict(spatial_dims=3, n_input_channels=encoder.in_channels, conv1_t_size=3, conv1_t_stride=1,
                    feed_forward=False, widen_factor=encoder.widen_factor, norm=("instance", {"affine": True}))
        line = (f"net = monai.networks.nets.resnet{encoder.depth}(spatial_dims=3, "
                f"n_input_channels={encoder.in_channels}, conv1_t_size=3, conv1_t_stride=1, feed_forward=False, "
                f'widen_factor={encoder.widen_factor}, norm=("instance", {{"affine": True}}))')
        return getattr(nets, f"resnet{encoder.depth}")(**args), line
    raise NotExportable(f"--format monai takes unet3d*, swin_unetr and resnet3d_*, not {encoder_name(encoder)!r} "
                        "(MONAI has no network of its shape); --format hf or onnx take it")


def export_monai(encoder: nn.Module, output: Path, **_) -> Exported:
    """``output`` (``.pt``): the MONAI network's state dict, head left out; reloaded into the printed network."""
    network, line = monai_network(encoder)
    weights = {k: v.detach().contiguous().clone() for k, v in encoder.net.state_dict().items()}
    torch.save(weights, output)  # tensors only: torch.load(..., weights_only=True) reads it
    result = network.load_state_dict(torch.load(output, weights_only=True), strict=False)
    head = HEADS.get(type(network).__name__)
    missing = [k for k in result.missing_keys if head is None or not k.startswith(head)]
    if missing or result.unexpected_keys:
        raise ValueError(f"monai {output}: the MONAI network does not take these weights (missing {missing[:5]}, "
                         f"unexpected {result.unexpected_keys[:5]})")
    twin = copy.deepcopy(encoder)
    twin.net = network  # the encoder's features, computed by the reloaded MONAI network
    if head is not None:  # as the encoder holds its network: without the output head
        delattr(twin.net, head.rstrip("."))
    diff = compare_reloaded(encoder, twin, f"monai {output}")
    strict = "" if head is None else f"  # missing: only the head ({head}*)"
    snippet = ("import monai, torch\n" + line + "\n"
               f'net.load_state_dict(torch.load("{output}", weights_only=True), strict={head is None}){strict}')
    return Exported("monai", output, snippet, diff)
