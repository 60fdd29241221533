"""Batched photometric augmentations with one random factor per image (torchvision's functional ops take
one factor for the whole batch). Images are float ``(B, C, H, W)`` in ``[0, 1]``, ``C`` = 1 or 3."""

from __future__ import annotations

import math

import torch
from torchvision.transforms.v2.functional import rgb_to_grayscale


def _factors(batch: int, spread: float, p: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``(B, 1, 1, 1)`` factors uniform in ``[1 - spread, 1 + spread]`` where ``p`` holds, 1 elsewhere."""
    f = torch.empty(batch, device=device).uniform_(max(0.0, 1 - spread), 1 + spread)
    return torch.where(p, f, torch.ones_like(f))[:, None, None, None]


def _gray(images: torch.Tensor) -> torch.Tensor:
    return images if images.shape[1] == 1 else rgb_to_grayscale(images)


def adjust_hue(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma of RGB ``images`` by ``shift (B,)`` turns (in ``[-0.5, 0.5]``) in YIQ space.

    A per-image linear map (one batched matrix product) that keeps luma, as a hue rotation does;
    it approximates torchvision's HSV ``adjust_hue``.
    """
    to_yiq = images.new_tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    angle = 2 * math.pi * shift
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rotate = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, cos, -sin], -1),
                          torch.stack([zero, sin, cos], -1)], -2)  # (B, 3, 3)
    matrix = torch.linalg.inv(to_yiq) @ rotate @ to_yiq
    return torch.einsum("bij,bjhw->bihw", matrix.to(images.dtype), images)


def color_jitter(images: torch.Tensor, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.2,
                 hue: float = 0.1, p: float = 0.8) -> torch.Tensor:
    """SimCLR's colour jitter: with probability ``p`` per image, random brightness, contrast, saturation
    and hue changes, applied in a random order (one order per batch); results clamped to ``[0, 1]``."""
    b, device = images.shape[0], images.device
    apply = torch.rand(b, device=device) < p
    ops = ["brightness", "contrast"] + (["saturation", "hue"] if images.shape[1] == 3 else [])
    for i in torch.randperm(len(ops)).tolist():
        op = ops[i]
        if op == "brightness" and brightness > 0:
            images = images * _factors(b, brightness, apply, device)
        elif op == "contrast" and contrast > 0:
            mean = _gray(images).mean(dim=(1, 2, 3), keepdim=True)
            f = _factors(b, contrast, apply, device)
            images = f * images + (1 - f) * mean
        elif op == "saturation" and saturation > 0:
            f = _factors(b, saturation, apply, device)
            images = f * images + (1 - f) * _gray(images)
        elif op == "hue" and hue > 0:
            shift = torch.empty(b, device=device).uniform_(-hue, hue) * apply
            images = adjust_hue(images, shift)
        images = images.clamp(0.0, 1.0)
    return images


def random_grayscale(images: torch.Tensor, p: float = 0.2) -> torch.Tensor:
    """Replace each RGB image by its grey version (3 equal channels) with probability ``p``."""
    if images.shape[1] == 1 or p <= 0:
        return images
    gray = rgb_to_grayscale(images, num_output_channels=3)
    pick = torch.rand(images.shape[0], device=images.device) < p
    return torch.where(pick[:, None, None, None], gray, images)


def random_solarize(images: torch.Tensor, p: float = 0.2, threshold: float = 0.5) -> torch.Tensor:
    """Invert the pixels at or above ``threshold`` of each image with probability ``p``."""
    pick = (torch.rand(images.shape[0], device=images.device) < p)[:, None, None, None]
    return torch.where(pick & (images >= threshold), 1.0 - images, images)
