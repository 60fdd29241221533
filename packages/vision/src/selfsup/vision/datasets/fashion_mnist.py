"""Fashion-MNIST from its official idx files (plain or gzip), e.g. Debian's ``dataset-fashion-mnist``."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from selfsup.vision.datasets.arrays import ImageArray

DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: Path) -> np.ndarray:
    """An idx file (magic ``0 0 0x08 ndim``, big-endian int32 dims, then uint8 data) as an array."""
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not a uint8 idx file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {tuple(dims)} ({int(np.prod(dims))} values), found {data.size}")
    return data.reshape(tuple(int(d) for d in dims))


def _find(root: Path, stem: str) -> Path:
    for folder in (root, root / "FashionMNIST" / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(f"fashion-mnist: missing {root / stem}[.gz]. Get the idx files from "
                            "https://github.com/zalandoresearch/fashion-mnist (or `apt-get install "
                            f"dataset-fashion-mnist`, which puts them in {DEBIAN_ROOT})")


def load_fashion_mnist(root: str | Path | None = None, split: str = "train") -> ImageArray:
    """``(N, 1, 28, 28)`` images; ``root`` defaults to Debian's folder."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root) if root is not None else DEBIAN_ROOT
    image_file, label_file = (_find(root, stem) for stem in _FILES[split])
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise ValueError(f"fashion-mnist: {image_file} holds {images.shape}, {label_file} holds {labels.shape}")
    return ImageArray(torch.from_numpy(images.copy())[:, None], torch.from_numpy(labels.astype(np.int64)), CLASSES,
                      f"fashion-mnist {split}")
