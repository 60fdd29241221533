"""Embedded default: scikit-learn's 8x8 digits (shipped in its wheel), upsampled to 32x32 grey images."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core.data import DigitsViews
from selfsup.vision.datasets.arrays import ImageArray


def load_digits_images(split: str = "train", size: int = 32, seed: int = 0) -> ImageArray:
    """``(N, 1, size, size)`` uint8; the stratified split of the core suite: 1,200 train / 597 test."""
    digits = DigitsViews(split, augment=False, seed=seed)
    images = F.interpolate(digits.images, size=(size, size), mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    labels = digits.labels
    return ImageArray(images, labels, [str(i) for i in range(10)], f"sklearn digits {split} (embedded, {size}x{size})")
