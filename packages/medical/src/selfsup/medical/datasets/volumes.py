"""In-memory volume sets: what every medical loader returns and every suite stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

TISSUES = ("CSF", "GM", "WM")


@dataclass
class VolumeSet:
    """``images (N, C, X, Y, Z)`` float32; ``labels (N, X, Y, Z)`` int64 class per voxel (0 = background) or
    None; ``targets (N, T)`` float32 volume-level values (e.g. tissue fractions) or None, named by
    ``target_names``; ``class_names`` name the label classes 1..K; ``name`` says where the data came from
    (reports print it)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    name: str = "volumes"
    class_names: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dim() != 5:
            raise ValueError(f"{self.name}: images must be (N, C, X, Y, Z), got {tuple(self.images.shape)}")
        if not self.images.is_floating_point():
            raise TypeError(f"{self.name}: images must be floating point, got {self.images.dtype}")
        n = self.images.shape[0]
        if n == 0:
            raise ValueError(f"{self.name}: no volumes")
        if self.labels is not None and self.labels.shape != (n, *self.images.shape[2:]):
            raise ValueError(f"{self.name}: labels must be {(n, *self.images.shape[2:])}, "
                             f"got {tuple(self.labels.shape)}")
        if self.targets is not None and (self.targets.dim() != 2 or self.targets.shape[0] != n):
            raise ValueError(f"{self.name}: targets must be (N={n}, T), got {tuple(self.targets.shape)}")
        if not self.ids:
            self.ids = [f"{self.name}-{i:03d}" for i in range(n)]

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        """Label classes including background."""
        return len(self.class_names) + 1

    def subset(self, index, name: str | None = None) -> VolumeSet:
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        pick = lambda t: None if t is None else t[index]  # noqa: E731
        return VolumeSet(self.images[index], pick(self.labels), pick(self.targets), name or self.name,
                         self.class_names, self.target_names, [self.ids[i] for i in index.tolist()])


class VolumeDataset(Dataset):
    """``{"image": (C, X, Y, Z)}`` per volume (``"label"`` too with ``with_labels``), for the Trainer; methods
    crop and augment the batch on the device."""

    def __init__(self, volumes: VolumeSet, with_labels: bool = False) -> None:
        if with_labels and volumes.labels is None:
            raise ValueError(f"{volumes.name} has no labels")
        self.volumes, self.with_labels = volumes, with_labels

    def __len__(self) -> int:
        return len(self.volumes)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {"image": self.volumes.images[i]}
        if self.with_labels:
            item["label"] = self.volumes.labels[i]
        return item
