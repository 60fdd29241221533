"""A user's own images as they are on disk: a folder (flat or nested, searched recursively) or a list file, read
lazily in DataLoader workers. Any size and mode: grayscale, RGBA, palette, 16-bit, CMYK."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as TF

from selfsup.core.data import FileSource, ItemIndex

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_TORCHVISION_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def image_header(path: Path) -> dict[str, int]:
    """``{"width", "height", "gray"}`` from the file's header alone (no pixel is decoded); raises for a file that
    is not an image or whose pixel count is over Pillow's decompression-bomb limit."""
    with Image.open(path) as image:
        width, height = image.size
        gray = image.mode in GRAY_MODES
    limit = Image.MAX_IMAGE_PIXELS
    if width < 1 or height < 1:
        raise ValueError(f"image of {width} x {height} pixels")
    if limit and width * height > limit:
        raise ValueError(f"{width} x {height} pixels is over the {limit} pixel limit (a decompression bomb?)")
    return {"width": width, "height": height, "gray": int(gray)}


def _pil_to_uint8(image: Image.Image, channels: int) -> torch.Tensor:
    """Pillow image of any mode -> uint8 ``(channels, H, W)``; 16-bit and 32-bit grey are scaled, not clipped."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F":
            top = max(float(array.max()), 1.0) if array.max() > 1 else 1.0
        gray = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        tensor = torch.from_numpy(gray)[None]
        return tensor.expand(3, -1, -1).clone() if channels == 3 else tensor
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))  # transparent pixels on white
        image = Image.alpha_composite(background, image)
    image = image.convert("L" if channels == 1 else "RGB")
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy())[None] if channels == 1 else torch.from_numpy(array.copy()).permute(2, 0, 1)


def _on_white(image: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``(C, H, W)`` with C in 1-4 (grey, grey + alpha, RGB, RGBA) -> ``(channels, H, W)``; transparent pixels
    composited on white, as Pillow's path does."""
    if image.shape[0] in (2, 4):
        alpha = image[-1:].float() / 255
        image = (image[:-1].float() * alpha + 255 * (1 - alpha)).round().to(torch.uint8)
    if image.shape[0] == 1 and channels == 3:
        return image.expand(3, -1, -1).clone()
    if image.shape[0] == 3 and channels == 1:
        return TF.rgb_to_grayscale(image)
    return image


def decode_image_file(path: str | Path, channels: int = 3) -> torch.Tensor:
    """uint8 ``(channels, H, W)`` of an image file: :func:`decode_image_bytes` of its bytes."""
    path = Path(path)
    return decode_image_bytes(np.fromfile(path, dtype=np.uint8), path.suffix, channels)


def decode_image_bytes(data: np.ndarray, suffix: str, channels: int = 3) -> torch.Tensor:
    """uint8 ``(channels, H, W)`` of an encoded image (``data`` uint8 bytes; ``suffix`` its file's, e.g. ".png"):
    first frame of an animation, EXIF orientation applied, transparency on white. torchvision's decoders for
    JPEG/PNG/WebP/GIF where they read the bytes as they are, Pillow for the rest and for what they refuse (CMYK,
    16-bit grey, BMP, TIFF)."""
    if suffix.lower() in _TORCHVISION_SUFFIXES:
        try:
            image = decode_image(torch.from_numpy(data), mode=ImageReadMode.UNCHANGED, apply_exif_orientation=True)
            if image.dim() == 4:
                image = image[0]
            if image.dtype == torch.uint16:  # 16-bit PNG: scaled to 8 bits, not clipped
                image = TF.to_dtype(image, torch.uint8, scale=True)
            if image.dtype == torch.uint8 and image.shape[0] in (1, 2, 3, 4):
                return _on_white(image, channels)
        except RuntimeError:
            pass  # Pillow below reads what libjpeg/libpng refuse here, or says why it cannot
    with Image.open(io.BytesIO(data.tobytes())) as image:
        image.seek(0)
        return _pil_to_uint8(ImageOps.exif_transpose(image), channels)


def fit_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side resized to ``size`` (antialiased), then the centre ``size`` x ``size``."""
    return TF.center_crop(TF.resize(image, size, antialias=True), [size, size])


class ImageFiles(FileSource):
    """Items ``{"image": uint8 (channels, work_size, work_size)}``: each file decoded in the worker, its shorter side
    resized to ``work_size`` (larger than the crops the method takes, so random resized crops see the image at
    more than their own resolution) and centre-cropped square for batching."""

    domain = "vision"

    def __init__(self, root: str | Path, index: ItemIndex, *, work_size: int, channels: int = 3,
                 **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.work_size, self.channels = work_size, channels

    def encoded(self, i: int) -> tuple[np.ndarray, str]:
        """``(bytes, suffix)`` of image ``i``."""
        path = self.path(i)
        return np.fromfile(path, dtype=np.uint8), path.suffix

    def read(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": fit_square(decode_image_bytes(*self.encoded(i), self.channels), self.work_size)}

    def config(self) -> dict:
        return {"work_size": self.work_size, "channels": self.channels}
