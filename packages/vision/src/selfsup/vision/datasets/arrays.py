"""Images held as one uint8 tensor: what every loader returns and what the trainer iterates over."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset


@dataclass
class ImageArray:
    """``images`` uint8 ``(N, C, H, W)``, ``labels`` int64 ``(N,)`` (-1 where unknown), class names, a
    description for reports; :meth:`channel_stats` gives the per-channel mean and std."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str] = field(default_factory=list)
    name: str = "images"

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"{self.name}: images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.images.shape[0] == 0:
            raise ValueError(f"{self.name}: no images")
        self.labels = torch.as_tensor(self.labels, dtype=torch.long)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.name}: {self.images.shape[0]} images but labels of shape "
                             f"{tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def channel_stats(self, max_images: int = 10000) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std in ``[0, 1]`` units (of at most ``max_images``, evenly strided)."""
        x = self.images[:: max(1, len(self) // max_images)].float().div(255.0)
        return tuple(x.mean(dim=(0, 2, 3)).tolist()), tuple(x.std(dim=(0, 2, 3)).tolist())

    def subset(self, index) -> ImageArray:
        index = torch.as_tensor(index, dtype=torch.long)
        return ImageArray(self.images[index], self.labels[index], self.classes, self.name)


class ImageDataset(Dataset):
    """Map-style dataset over an :class:`ImageArray`: items ``{"image": uint8 (C, H, W), "label": int}``;
    augmentation happens later, on whole batches on the training device."""

    def __init__(self, array: ImageArray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.array.images[index], "label": self.array.labels[index]}
