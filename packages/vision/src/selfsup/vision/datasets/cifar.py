"""CIFAR-10 and CIFAR-100 in the official "python version" layout (pickled batches), read as data: through a
restricted unpickler that builds NumPy arrays, lists, dicts and strings only, never code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, CIFAR100
from torchvision.datasets.utils import check_integrity

from selfsup.core.data.safe_pickle import load_restricted
from selfsup.vision.datasets.arrays import ImageArray

_SPECS = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def load_cifar(root: str | Path, name: str = "cifar10", split: str = "train", *, verify: bool = True) -> ImageArray:
    """Read ``root/cifar-10-batches-py`` (or ``root/cifar-100-python``) as extracted from the official
    archive. ``verify`` checks each file's MD5, the class names' included, against the published one
    (torchvision's list). Every file is unpickled with :func:`selfsup.core.data.load_restricted`, with or without
    ``verify``: a file that names anything but arrays, lists, dicts and strings is refused, so a dataset folder
    is read as data, never run as code."""
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
        _verify(name, path, md5, verify)
        entry = _batch(load_restricted(path, encoding="latin1"), path)
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
    meta_path = folder / spec.meta["filename"]
    classes: list[str] = []
    if meta_path.is_file():
        _verify(name, meta_path, spec.meta["md5"], verify)
        meta = load_restricted(meta_path, encoding="latin1")
        if not isinstance(meta, dict) or not isinstance(meta.get(spec.meta["key"]), list):
            raise ValueError(f"{name}: {meta_path} holds no {spec.meta['key']!r} list of class names")
        classes = [str(c) for c in meta[spec.meta["key"]]]
    return ImageArray(torch.from_numpy(np.concatenate(images)), torch.tensor(labels), classes, f"{name} {split}")


def _verify(name: str, path: Path, md5: str, verify: bool) -> None:
    if verify and not check_integrity(str(path), md5):
        raise ValueError(f"{name}: {path} does not match the official MD5 {md5} (corrupt or partial download)")


def _batch(entry, path: Path) -> dict:
    """A batch's dict, checked: ``data`` a uint8 array of whole 3x32x32 images, as many labels as images."""
    if not isinstance(entry, dict) or "data" not in entry or not ({"labels", "fine_labels"} & set(entry)):
        raise ValueError(f"{path}: not a CIFAR batch (expected a dict with 'data' and 'labels')")
    data = np.asarray(entry["data"])
    labels = entry.get("labels", entry.get("fine_labels"))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: 'data' is {data.dtype} {data.shape} with {len(labels)} labels; a CIFAR batch "
                         "holds uint8 rows of 3072 values, one label each")
    return entry
