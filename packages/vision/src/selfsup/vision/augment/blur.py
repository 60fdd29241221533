"""Batched Gaussian blur with one random sigma per image (a grouped separable convolution)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Blur each image of ``images (B, C, H, W)`` with its own ``sigma (B,)`` (0 = unchanged).

    ``kernel_size`` is odd; borders are reflected (as torchvision's ``gaussian_blur``).
    """
    if kernel_size % 2 != 1 or kernel_size < 3:
        raise ValueError(f"kernel_size must be odd and >= 3, got {kernel_size}")
    b, c, h, w = images.shape
    radius = kernel_size // 2
    x = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    safe = sigma.to(images.dtype).clamp_min(1e-3)[:, None]
    kernel = torch.exp(-0.5 * (x[None] / safe) ** 2)
    kernel = kernel / kernel.sum(1, keepdim=True)
    identity = (x == 0).to(images.dtype)[None].expand(b, -1)
    kernel = torch.where((sigma > 0)[:, None], kernel, identity)
    kernel = kernel.repeat_interleave(c, dim=0)  # (B*C, k): every channel of an image gets its kernel
    out = F.pad(images.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel[:, None, None, :], groups=b * c)
    out = F.conv2d(out, kernel[:, None, :, None], groups=b * c)
    return out.reshape(b, c, h, w)


def random_gaussian_blur(images: torch.Tensor, p: float = 0.5, sigma: tuple[float, float] = (0.1, 2.0),
                         kernel_size: int | None = None) -> torch.Tensor:
    """With probability ``p`` per image, blur it with sigma uniform in ``sigma``. The kernel covers
    about a tenth of the image side (SimCLR), at least 3 pixels, and at most the image size minus one."""
    if p <= 0:
        return images
    if kernel_size is None:
        kernel_size = max(3, int(0.1 * min(images.shape[-2:])) // 2 * 2 + 1)
        kernel_size = min(kernel_size, (min(images.shape[-2:]) - 1) // 2 * 2 + 1)
    b = images.shape[0]
    s = torch.empty(b, device=images.device).uniform_(*sigma)
    s = torch.where(torch.rand(b, device=images.device) < p, s, torch.zeros_like(s))
    return gaussian_blur(images, s, kernel_size)
