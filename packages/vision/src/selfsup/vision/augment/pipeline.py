"""Augmentation pipelines that run on whole batches on the training device: SimCLR, BYOL (asymmetric)
and DINO multi-crop, plus the matching evaluation transform."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.vision.augment.blur import random_gaussian_blur
from selfsup.vision.augment.color import color_jitter, random_grayscale, random_solarize
from selfsup.vision.augment.geometric import random_horizontal_flip, random_resized_crop

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """``uint8`` images in ``[0, 255]`` -> float32 in ``[0, 1]``; float images are checked, not rescaled."""
    if images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or floating point in [0, 1], got {images.dtype}")
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contain NaN or infinite values")
    return images.float()


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """``(images - mean) / std`` per channel; ``mean``/``std`` have one entry per channel (or one for all)."""
    c = images.shape[1]
    m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).reshape(-1)
    s = torch.as_tensor(std, dtype=images.dtype, device=images.device).reshape(-1)
    if m.numel() not in (1, c) or s.numel() not in (1, c):
        raise ValueError(f"mean/std need 1 or {c} entries, got {m.numel()} and {s.numel()}")
    return (images - m.reshape(1, -1, 1, 1)) / s.reshape(1, -1, 1, 1)


def prepare_images(images: torch.Tensor, mean=CIFAR_MEAN, std=CIFAR_STD, size: int | None = None) -> torch.Tensor:
    """Evaluation transform: to float, resize (bilinear, antialiased) if ``size`` differs, normalise."""
    x = to_float(images)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return normalize(x, mean, std)


@dataclass(frozen=True)
class AugmentConfig:
    """One view's augmentation, in the order applied. Probabilities are per image."""

    size: int = 32
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    grayscale_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0
    mean: tuple[float, ...] = CIFAR_MEAN
    std: tuple[float, ...] = CIFAR_STD


class ImageAugment(nn.Module):
    """``uint8 or [0, 1] float (B, C, H, W) -> normalised float (B, C, size, size)``, one random draw per image.

    Crop and resize, flip, colour jitter, grayscale, blur, solarize, normalise — all batched tensor
    ops on the images' device, so a GPU run is not held back by per-image CPU transforms.
    """

    def __init__(self, config: AugmentConfig | None = None, **overrides) -> None:
        super().__init__()
        self.config = replace(config or AugmentConfig(), **overrides)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.autocast(images.device.type, enabled=False):  # pixels stay float32 under a bf16 forward
            return self._augment(images)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        c = self.config
        x = random_resized_crop(to_float(images), c.size, c.scale, c.ratio)
        x = random_horizontal_flip(x, c.flip_p)
        x = color_jitter(x, c.brightness, c.contrast, c.saturation, c.hue, c.jitter_p)
        x = random_grayscale(x, c.grayscale_p)
        x = random_gaussian_blur(x, c.blur_p, c.blur_sigma)
        x = random_solarize(x, c.solarize_p)
        return normalize(x, c.mean, c.std)

    def extra_repr(self) -> str:
        return repr(self.config)


def set_normalization(module: nn.Module, mean, std) -> nn.Module:
    """Make every :class:`ImageAugment` inside ``module`` (a method or a pipeline) normalise with this
    data's per-channel ``mean``/``std``; returns ``module``."""
    for augment in module.modules():
        if isinstance(augment, ImageAugment):
            augment.config = replace(augment.config, mean=tuple(mean), std=tuple(std))
    return module


class MultiView(nn.Module):
    """A list of augmented views of one batch: ``[augment(images) for augment in augments]``."""

    def __init__(self, augments: list[ImageAugment]) -> None:
        super().__init__()
        if not augments:
            raise ValueError("MultiView needs at least one augmentation")
        self.augments = nn.ModuleList(augments)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [augment(images) for augment in self.augments]


def _small(size: int) -> bool:
    return size <= 64  # CIFAR-scale recipes leave blur out (solo-learn, lightly's CIFAR benchmarks)


def simclr_views(size: int = 32, mean=CIFAR_MEAN, std=CIFAR_STD, **overrides) -> MultiView:
    """Two views with SimCLR's augmentation (blur p=0.5 on images larger than 64 pixels)."""
    cfg = AugmentConfig(size=size, saturation=0.4, blur_p=0.0 if _small(size) else 0.5, mean=tuple(mean),
                        std=tuple(std))
    return MultiView([ImageAugment(cfg, **overrides), ImageAugment(cfg, **overrides)])


def byol_views(size: int = 32, mean=CIFAR_MEAN, std=CIFAR_STD, **overrides) -> MultiView:
    """BYOL's asymmetric pair: blur 1.0 / 0.1 (not on small images) and solarize 0 / 0.2."""
    base = AugmentConfig(size=size, mean=tuple(mean), std=tuple(std))
    first = replace(base, blur_p=0.0 if _small(size) else 1.0, solarize_p=0.0)
    second = replace(base, blur_p=0.0 if _small(size) else 0.1, solarize_p=0.2)
    return MultiView([ImageAugment(first, **overrides), ImageAugment(second, **overrides)])


def multicrop_views(size: int = 32, local_size: int | None = None, num_local: int = 4, mean=CIFAR_MEAN,
                    std=CIFAR_STD, global_scale: tuple[float, float] = (0.3, 1.0),
                    local_scale: tuple[float, float] = (0.05, 0.3)) -> MultiView:
    """DINO's multi-crop: 2 global views (BYOL's pair) then ``num_local`` small views of ``local_size``
    (default ``size // 2``, rounded to a multiple of 4)."""
    local_size = local_size or max(8, size // 2 // 4 * 4)
    global_pair = byol_views(size, mean, std, scale=global_scale).augments
    local = AugmentConfig(size=local_size, scale=local_scale, blur_p=0.0 if _small(size) else 0.5,
                          mean=tuple(mean), std=tuple(std))
    return MultiView([*global_pair, *(ImageAugment(local) for _ in range(num_local))])
