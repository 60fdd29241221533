"""CIFAR-10 and CIFAR-100 in the official "python version" layout (pickled batches)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, CIFAR100
from torchvision.datasets.utils import check_integrity

from selfsup.vision.datasets.arrays import ImageArray

_SPECS = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def load_cifar(root: str | Path, name: str = "cifar10", split: str = "train", *, verify: bool = True) -> ImageArray:
    """Read ``root/cifar-10-batches-py`` (or ``root/cifar-100-python``) as extracted from the official
    archive. ``verify`` checks each file's MD5 against the published one (torchvision's list)."""
    if name not in _SPECS:
        raise ValueError(f"name must be one of {sorted(_SPECS)}, got {name!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    spec = _SPECS[name]
    folder = Path(root) / spec.base_folder
    files = spec.train_list if split == "train" else spec.test_list
    images, labels = [], []
    for file_name, md5 in files:
        path = folder / file_name
        if not path.is_file():
            raise FileNotFoundError(f"{name}: missing {path}. Download {spec.url} and extract it into {Path(root)} "
                                    f"(or use torchvision.datasets.{spec.__name__}(root, download=True))")
        if verify and not check_integrity(str(path), md5):
            raise ValueError(f"{name}: {path} does not match the official MD5 {md5} (corrupt or partial download)")
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
    meta_path = folder / spec.meta["filename"]
    classes: list[str] = []
    if meta_path.is_file():
        with open(meta_path, "rb") as handle:
            classes = list(pickle.load(handle, encoding="latin1")[spec.meta["key"]])
    return ImageArray(torch.from_numpy(np.concatenate(images)), torch.tensor(labels), classes, f"{name} {split}")
