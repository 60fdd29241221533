"""A folder of class sub-folders (torchvision ``ImageFolder``), decoded once to a fixed size."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2
from tqdm.auto import tqdm

from selfsup.core.data.scan import progress_interval
from selfsup.vision.datasets.arrays import ImageArray


def load_image_folder(root: str | Path, size: int = 64, *, progress: bool = True) -> ImageArray:
    """``root/<class>/<image>`` -> ``(N, 3, size, size)`` (shorter side resized to ``size``, centre crop).
    Unreadable images raise an error that names the file."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    folder = ImageFolder(str(root))
    resize = v2.Compose([v2.PILToTensor(), v2.Resize(size, antialias=True), v2.CenterCrop(size)])
    images = []
    for path, _ in tqdm(folder.samples, desc=f"decode {root.name}", disable=not progress,
                             mininterval=progress_interval()):
        try:
            images.append(resize(folder.loader(path).convert("RGB")))
        except Exception as error:  # PIL raises several types for broken files
            raise ValueError(f"cannot read image {path}: {error}") from error
    return ImageArray(torch.stack(images), torch.tensor(folder.targets), folder.classes, f"image folder {root.name}")
