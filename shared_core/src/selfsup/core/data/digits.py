"""scikit-learn's 8x8 digits (1,797 images, shipped inside scikit-learn) as two augmented views.

The fixed split takes 597 stratified test images; the rest (1,200) is the train split.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


def augment_digit(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Batched random affine (rotation +-15 deg, scale 0.9-1.1, shift), contrast, noise and a 3x3
    erasing of ``x (B, 1, 8, 8)`` in [0, 1]."""
    b = x.shape[0]
    rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    angle = (rand(b) - 0.5) * math.radians(30)
    scale = 0.9 + 0.2 * rand(b)
    shift = (rand(b, 2) - 0.5) * 0.5
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    out = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    out = out * (0.7 + 0.6 * rand(b, 1, 1, 1)) + 0.1 * torch.randn(out.shape, generator=generator)
    corner = (rand(b, 2) * 6).long()
    grid = torch.arange(8)
    inside_r = (grid[None, :] >= corner[:, :1]) & (grid[None, :] < corner[:, :1] + 3)
    inside_c = (grid[None, :] >= corner[:, 1:]) & (grid[None, :] < corner[:, 1:] + 3)
    erase = inside_r[:, :, None] & inside_c[:, None, :] & (rand(b, 1, 1) < 0.5)
    return out.masked_fill(erase[:, None], 0.0)


class DigitsViews(Dataset):
    """Items ``{"image": (1, 8, 8), "label": y}``; :meth:`collate` stacks a list of items and draws two
    augmented views of the whole batch at once: ``{"views": [v1, v2], "image", "label"}``.

    Args:
        split: ``"train"`` (1,200), ``"test"`` (597) or ``"all"``.
        augment: two augmented views (True) or the clean image twice.
        seed: seed of the stratified split.
    """

    def __init__(self, split: str = "train", augment: bool = True, seed: int = 0) -> None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
        labels = torch.tensor(digits.target)
        if split != "all":
            train, test = train_test_split(np.arange(len(labels)), test_size=597, stratify=digits.target,
                                           random_state=seed)
            keep = torch.as_tensor(train if split == "train" else test)
            images, labels = images[keep], labels[keep]
        self.images, self.labels, self.augment = images, labels, augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.images[index], "label": self.labels[index]}

    def collate(self, items: list[dict]) -> dict:
        """Batch ``items`` and add ``views``: two batched augmentations (or the clean images twice)."""
        images = torch.stack([item["image"] for item in items])
        labels = torch.stack([item["label"] for item in items])
        views = [augment_digit(images), augment_digit(images)] if self.augment else [images, images]
        return {"views": views, "image": images, "label": labels}
