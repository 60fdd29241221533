"""The CIFAR-10 JPEG pack (one ``.npz``: concatenated JPEG bytes, offsets, labels, split), decoded once
with torchvision's libjpeg-turbo decoder and cached as raw uint8 arrays."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_jpeg

from selfsup.core.cache import cache_dir
from selfsup.vision.datasets.arrays import ImageArray

FILE_NAME = "cifar10_jpeg.npz"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _decode(pack: Path) -> dict[str, np.ndarray]:
    with np.load(pack, allow_pickle=False) as npz:
        missing = {"data", "offsets", "labels", "split"} - set(npz.files)
        if missing:
            raise ValueError(f"{pack} lacks the arrays {sorted(missing)}")
        data, offsets = npz["data"], npz["offsets"]
        labels, split = npz["labels"].astype(np.int64), npz["split"].astype(str)
    if len(offsets) != len(labels) + 1 or len(split) != len(labels):
        raise ValueError(f"{pack}: {len(offsets)} offsets, {len(labels)} labels and {len(split)} split entries "
                         "do not describe the same images")
    encoded = [torch.from_numpy(data[offsets[i] : offsets[i + 1]]) for i in range(len(labels))]
    images = []
    for start in range(0, len(encoded), 4096):
        images.extend(decode_jpeg(encoded[start : start + 4096], mode=ImageReadMode.RGB))
    return {"images": torch.stack(images).numpy(), "labels": labels, "train": split == "train"}


def load_cifar10_jpeg(root: str | Path, split: str = "train", *, cache: bool = True) -> ImageArray:
    """``root/cifar10_jpeg.npz`` -> the ``split`` ("train" 50,000 or "test" 10,000) as ``(N, 3, 32, 32)``.

    The first call decodes all 60,000 images and, with ``cache``, stores them under
    ``$SELFSUP_CACHE`` (default ``~/.cache/selfsup``) keyed by the pack's size and mtime.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    pack = Path(root) / FILE_NAME if Path(root).is_dir() else Path(root)
    if not pack.is_file():
        raise FileNotFoundError(f"CIFAR-10 JPEG pack not found: expected {pack} (the project's shared data keeps "
                                f"it as shared/data/vision/{FILE_NAME}; pass --data-root to its folder)")
    stat = pack.stat()
    cached = cache_dir() / f"cifar10_jpeg-{stat.st_size}-{int(stat.st_mtime)}.npz"
    if cache and cached.is_file():
        with np.load(cached) as npz:
            arrays = {k: npz[k] for k in npz.files}
    else:
        arrays = _decode(pack)
        if cache:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(cached.name + f".tmp{os.getpid()}.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, cached)
    keep = arrays["train"] if split == "train" else ~arrays["train"]
    return ImageArray(torch.from_numpy(arrays["images"][keep]), torch.from_numpy(arrays["labels"][keep]), CLASSES,
                      f"CIFAR-10 JPEG pack {split}")
