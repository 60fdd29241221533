"""Image encoders for the libraries people fine-tune in: ``--format torchvision`` (ResNet-18/34/50 as a torchvision
state dict) and ``--format timm`` (ResNets and ViTs, loadable by ``timm.create_model(..., pretrained=True,
pretrained_cfg_overlay=dict(file=PATH), num_classes=0)``). Each export is loaded back that way and its features
compared with the encoder's.

Key maps: our ResNet's ``stem.0``/``stem.1``/``body.i`` are torchvision's (and timm's) ``conv1``/``bn1``/
``layer{i+1}``; the classifier ``fc`` is not written (``num_classes=0``, or ``model.fc = nn.Identity()``). Our ViT's
``tokenizer.proj``/``trunk.*`` are timm's ``patch_embed.proj``/``blocks``/``norm``/``cls_token``, and its fixed 2D
sin-cos table (plus the modality embedding, if any) becomes timm's learned ``pos_embed`` with a zero row for the
class token, which timm adds no position to in our encoder either."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from selfsup.core.export import Exported, NotExportable, compare_reloaded, encoder_kwargs, encoder_name
from selfsup.vision.encoders import ResNetEncoder, VisionTransformer

TORCHVISION_ARCHS = ("resnet18", "resnet34", "resnet50")


def example_images(encoder: nn.Module, batch: int) -> torch.Tensor:
    """``(batch, C, S, S)`` standard-normal images at the encoder's size: the ViT's grid, else the recorded
    ``image_size`` (32 for the CIFAR stem, 64 for the ImageNet stem when none was recorded)."""
    if isinstance(encoder, VisionTransformer):
        size, channels = encoder.tokenizer.image_size, encoder.tokenizer.in_chans
    else:
        cifar = _cifar_stem(encoder)
        size, channels = encoder_kwargs(encoder).get("image_size", 32 if cifar else 64), encoder.in_chans
    return torch.randn(batch, channels, size, size)


def _cifar_stem(encoder: ResNetEncoder) -> bool:
    return encoder.stem[0].kernel_size == (3, 3)


def resnet_state_dict(encoder: ResNetEncoder) -> dict[str, torch.Tensor]:
    """Our ResNet's weights under torchvision's (and timm's) names, without ``fc``."""
    renamed = {}
    for key, value in encoder.state_dict().items():
        part, index, rest = key.split(".", 2)
        if part == "stem":
            name = {"0": "conv1", "1": "bn1"}[index]
        elif part == "body":
            name = f"layer{int(index) + 1}"
        else:
            raise NotExportable(f"unexpected ResNet weight {key!r}")
        renamed[f"{name}.{rest}"] = value.detach().contiguous().clone()
    return renamed


def _check_resnet(encoder: nn.Module, target: str) -> ResNetEncoder:
    if not isinstance(encoder, ResNetEncoder) or encoder.arch not in TORCHVISION_ARCHS:
        raise NotExportable(f"--format {target} takes {', '.join(TORCHVISION_ARCHS)}"
                            + (" and the vit_* encoders" if target == "timm" else "")
                            + f", not {encoder_name(encoder)!r}; --format hf or onnx take every encoder")
    return encoder


def _save(weights: dict[str, torch.Tensor], output: Path) -> None:
    if output.suffix == ".safetensors":
        save_file(weights, str(output))
    else:
        torch.save(weights, output)  # tensors only: torch.load(..., weights_only=True) reads it


def export_torchvision(encoder: nn.Module, output: Path, **_) -> Exported:
    """``output`` (``.pt``/``.pth``, or ``.safetensors``): the state dict ``torchvision.models.<arch>()`` loads with
    ``strict=True`` once ``fc`` is ``nn.Identity()``. The CIFAR stem (3x3 stride-1 ``conv1``, no max-pool) is
    written as it is; the snippet sets the same ``conv1`` and ``maxpool`` on the torchvision model before loading."""
    import torchvision

    encoder = _check_resnet(encoder, "torchvision")
    weights = resnet_state_dict(encoder)
    _save(weights, output)
    model = getattr(torchvision.models, encoder.arch)(weights=None)
    lines = ["import torch, torchvision", f"model = torchvision.models.{encoder.arch}()"]
    if _cifar_stem(encoder) or encoder.in_chans != 3:
        kernel, stride, pad = (3, 1, 1) if _cifar_stem(encoder) else (7, 2, 3)
        model.conv1 = nn.Conv2d(encoder.in_chans, 64, kernel, stride, pad, bias=False)
        lines.append(f"model.conv1 = torch.nn.Conv2d({encoder.in_chans}, 64, {kernel}, {stride}, {pad}, bias=False)"
                     + ("; model.maxpool = torch.nn.Identity()  # the CIFAR stem" if _cifar_stem(encoder) else ""))
        if _cifar_stem(encoder):
            model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    loaded = torch.load(output, weights_only=True) if output.suffix != ".safetensors" else weights
    model.load_state_dict(loaded, strict=True)
    lines += ["model.fc = torch.nn.Identity()  # or a new head for your classes",
              f'model.load_state_dict(torch.load("{output}", weights_only=True))']
    return Exported("torchvision", output, "\n".join(lines), compare_reloaded(encoder, model, f"torchvision {output}"))


def timm_model_args(encoder: nn.Module) -> tuple[str, dict]:
    """``(timm model name, keyword arguments)`` that build the timm twin of ``encoder``."""
    if isinstance(encoder, VisionTransformer):
        trunk, tokenizer = encoder.trunk, encoder.tokenizer
        config = trunk.config
        if config.num_registers or not config.cls_token:
            raise NotExportable("--format timm takes ViTs with a class token and no register tokens")
        kwargs = {"img_size": tokenizer.image_size, "patch_size": tokenizer.patch_size, "in_chans": tokenizer.in_chans,
                  "embed_dim": config.dim, "depth": config.depth, "num_heads": config.heads,
                  "mlp_ratio": config.mlp_ratio, "qkv_bias": config.qkv_bias}
        if encoder.pool == "mean":
            kwargs.update(global_pool="avg", fc_norm=False)  # norm on the tokens, then the mean of the patches
        return "vit_tiny_patch16_224", kwargs
    encoder = _check_resnet(encoder, "timm")
    if _cifar_stem(encoder):
        raise NotExportable("--format timm cannot build the CIFAR stem (3x3 conv1, no max-pool) inside "
                            "timm.create_model; use --format torchvision (its snippet sets that stem) or hf")
    return encoder.arch, {"in_chans": encoder.in_chans}


def vit_state_dict(encoder: VisionTransformer) -> dict[str, torch.Tensor]:
    """Our ViT's weights under timm's names, the position table written in."""
    state = encoder.state_dict()
    weights = {}
    for key, value in state.items():
        if key.startswith("tokenizer.proj."):
            weights["patch_embed.proj." + key.removeprefix("tokenizer.proj.")] = value
        elif key.startswith("trunk.blocks.") or key.startswith("trunk.norm."):
            weights[key.removeprefix("trunk.")] = value
        elif key == "trunk.cls_token":
            weights["cls_token"] = value
        elif not key.startswith("trunk.modality_embed."):
            raise NotExportable(f"no timm place for ViT weight {key!r}")
    positions = encoder.tokenizer.pos_embed.detach().clone()
    if "image" in encoder.trunk.modality_embed:
        positions = positions + encoder.trunk.modality_embed["image"].detach()
    weights["pos_embed"] = torch.cat([torch.zeros_like(positions[:, :1]), positions], dim=1)
    return {k: v.detach().contiguous().clone() for k, v in weights.items()}


def export_timm(encoder: nn.Module, output: Path, **_) -> Exported:
    """``output`` (``.safetensors``, or ``.pth``): weights under timm's names, loaded back through
    ``timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=output), num_classes=0, ...)``
    (timm loads strictly) and compared."""
    try:
        import timm
    except ImportError:
        raise ImportError("--format timm needs timm: pip install timm") from None
    name, kwargs = timm_model_args(encoder)
    weights = vit_state_dict(encoder) if isinstance(encoder, VisionTransformer) else resnet_state_dict(encoder)
    _save(weights, output)
    model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(output)}, num_classes=0,
                              **kwargs)
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    snippet = ("import timm\n"
               f'model = timm.create_model("{name}", pretrained=True, num_classes=0{args},\n'
               f'                          pretrained_cfg_overlay=dict(file="{output}"))\n'
               "features = model(images)  # the encoder's pooled features")
    return Exported("timm", output, snippet, compare_reloaded(encoder, model, f"timm {output}"))

