"""Batched geometric augmentations: one random crop box and flip per image, computed on the images' device."""

from __future__ import annotations

import math

import torch
from torchvision.ops import roi_align


def _uniform(low: float, high: float, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return torch.empty(shape, device=device).uniform_(low, high)


def random_crop_boxes(batch: int, height: int, width: int, scale: tuple[float, float] = (0.08, 1.0),
                      ratio: tuple[float, float] = (3 / 4, 4 / 3), *, device: torch.device | str = "cpu",
                      attempts: int = 10) -> torch.Tensor:
    """``(B, 4)`` boxes ``x1, y1, x2, y2`` in pixels, drawn as torchvision's ``RandomResizedCrop`` draws them.

    Each image tries ``attempts`` (area fraction, log-uniform aspect ratio) pairs and keeps the first that
    fits; an image with none that fits gets the central crop of the largest allowed aspect ratio.
    """
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {scale}")
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must satisfy 0 < min <= max, got {ratio}")
    device = torch.device(device)
    area = height * width * _uniform(scale[0], scale[1], (batch, attempts), device)
    aspect = torch.exp(_uniform(math.log(ratio[0]), math.log(ratio[1]), (batch, attempts), device))
    w = torch.sqrt(area * aspect).round()
    h = torch.sqrt(area / aspect).round()
    fits = (w >= 1) & (h >= 1) & (w <= width) & (h <= height)
    first = torch.where(fits.any(1), fits.float().argmax(1), torch.full((batch,), -1, device=device))
    pick = first.clamp_min(0)[:, None]
    w, h = w.gather(1, pick)[:, 0], h.gather(1, pick)[:, 0]
    # fallback (no attempt fitted): the whole image, cut to the nearest allowed aspect ratio
    in_ratio = width / height
    fw = min(width, round(height * ratio[1])) if in_ratio > ratio[1] else width
    fh = min(height, round(width / ratio[0])) if in_ratio < ratio[0] else height
    fallback = first < 0
    w = torch.where(fallback, torch.full_like(w, fw), w)
    h = torch.where(fallback, torch.full_like(h, fh), h)
    x1 = torch.floor(torch.rand(batch, device=device) * (width - w + 1))
    y1 = torch.floor(torch.rand(batch, device=device) * (height - h + 1))
    x1 = torch.where(fallback, torch.full_like(x1, (width - fw) // 2), x1)
    y1 = torch.where(fallback, torch.full_like(y1, (height - fh) // 2), y1)
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=1)


def crop_resize(images: torch.Tensor, boxes: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop ``boxes (B, 4)`` out of ``images (B, C, H, W)`` (float) and resize each to ``size``, bilinearly.

    One ``torchvision.ops.roi_align`` call for the whole batch; its adaptive sampling averages
    ``ceil(box / size)`` points per output pixel, so down-scaling is smoothed and a full-image box at
    the same size returns the image unchanged.
    """
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float (B, C, H, W) tensor, got {images.dtype} {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ValueError(f"boxes must be ({images.shape[0]}, 4), got {tuple(boxes.shape)}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    index = torch.arange(images.shape[0], device=images.device, dtype=images.dtype)[:, None]
    rois = torch.cat([index, boxes.to(images.dtype)], dim=1)
    return roi_align(images, rois, output_size=size, spatial_scale=1.0, sampling_ratio=0, aligned=True)


def random_resized_crop(images: torch.Tensor, size: int | tuple[int, int], scale: tuple[float, float] = (0.08, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> torch.Tensor:
    """``(B, C, size, size)``: an independent random resized crop of every image of ``images (B, C, H, W)``."""
    boxes = random_crop_boxes(images.shape[0], images.shape[-2], images.shape[-1], scale, ratio, device=images.device)
    return crop_resize(images, boxes, size)


def random_horizontal_flip(images: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Mirror each image of ``(B, C, H, W)`` left-right with probability ``p``."""
    flip = torch.rand(images.shape[0], device=images.device) < p
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
