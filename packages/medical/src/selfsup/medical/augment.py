"""Batched volume augmentations on the batch's device: random crops, 90-degree rotations, cut-out, and the
Models Genesis transformations (non-linear intensity, local voxel shuffling, in-/out-painting).

Every function takes ``volumes (B, C, X, Y, Z)`` and an optional ``torch.Generator`` (on the CPU; the random
numbers are drawn there and applied on the volumes' device), and draws independent parameters per sample.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.transforms.utils import generate_label_classes_crop_centers, map_classes_to_indices


def _rand(generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=generator)


def _randint(generator: torch.Generator | None, high: int, n: int) -> torch.Tensor:
    return torch.randint(0, max(1, high), (n,), generator=generator)


def _random_box(shape, edges, generator: torch.Generator | None) -> tuple[slice, slice, slice]:
    """Slices of a box with the given ``edges`` at a uniformly random place inside ``shape`` (X, Y, Z)."""
    return tuple(slice(start, start + e) for start, e in
                 ((int(_randint(generator, s - e + 1, 1)), e) for s, e in zip(shape, edges, strict=True)))


def _check_crop_fits(volume_shape, size: int) -> None:
    if any(s < size for s in volume_shape):
        raise ValueError(f"crop size {size} does not fit in volumes of {tuple(volume_shape)}")


def random_crop_corners(batch: int, volume_shape, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, 3)`` corners of ``size``^3 crops drawn uniformly inside ``volume_shape`` (X, Y, Z)."""
    _check_crop_fits(volume_shape, size)
    return torch.stack([_randint(generator, s - size + 1, batch) for s in volume_shape], dim=1)


class ClassBalancedCrops:
    """Corners of ``size``^3 crops centred on a voxel of a class drawn uniformly among those a labelled volume
    has (MONAI's ``RandCropByLabelClasses`` sampling): rare classes (CSF is ~1% of a brain volume) are seen
    as often as common ones. ``labels (N, X, Y, Z)`` integer classes 0..``num_classes - 1``."""

    def __init__(self, labels: torch.Tensor, num_classes: int, size: int, seed: int = 0) -> None:
        _check_crop_fits(labels.shape[1:], size)
        self.size, self.shape = size, tuple(labels.shape[1:])
        self.indices = [[i for i in map_classes_to_indices(label[None].numpy(), num_classes) if len(i)]
                        for label in labels]
        self.rand_state = np.random.RandomState(seed)

    def __call__(self, pick: torch.Tensor) -> torch.Tensor:
        """``(B, 3)`` corners, one per volume index in ``pick (B,)``."""
        corners = []
        for i in pick.tolist():
            (centre,) = generate_label_classes_crop_centers((self.size,) * 3, 1, self.shape, self.indices[i],
                                                            rand_state=self.rand_state, warn=False)
            corners.append([int(c) - self.size // 2 for c in centre])
        return torch.tensor(corners)


def crop_at(volumes: torch.Tensor, corners: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, C, size, size, size)``: the crop of each volume at its corner ``corners (B, 3)``."""
    return torch.stack([v[:, x:x + size, y:y + size, z:z + size]
                        for v, (x, y, z) in zip(volumes, corners.tolist(), strict=True)])


def random_crop(volumes: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random ``size``^3 crop per volume."""
    return crop_at(volumes, random_crop_corners(volumes.shape[0], volumes.shape[2:], size, generator), size)


def rotate90(volumes: torch.Tensor, turns: torch.Tensor, dims: tuple[int, int] = (2, 3)) -> torch.Tensor:
    """Rotate volume ``i`` by ``turns[i]`` quarter turns in the plane of ``dims`` (SwinUNETR's rotation task)."""
    plane = (dims[0] - 1, dims[1] - 1)
    return torch.stack([torch.rot90(v, k, plane) for v, k in zip(volumes, turns.tolist(), strict=True)])


def cutout(volumes: torch.Tensor, ratio: float = 0.3, box: float = 0.25,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide random cubes (edge ``box`` of the volume's) until about ``ratio`` of each volume is hidden; hidden
    voxels are set to noise. Returns the masked volumes and the mask ``(B, 1, X, Y, Z)`` (True = hidden)."""
    b, _, *shape = volumes.shape
    edges = [max(1, round(box * s)) for s in shape]
    mask = torch.zeros(b, 1, *shape, dtype=torch.bool)
    for i in range(b):
        for _ in range(64):
            if mask[i].float().mean() >= ratio:
                break
            mask[i, :, *_random_box(shape, edges, generator)] = True
    mask = mask.to(volumes.device)
    noise = torch.rand(volumes.shape, generator=generator).to(volumes.device, volumes.dtype)
    return torch.where(mask, noise, volumes), mask


def bezier_intensity(volumes: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Models Genesis' non-linear transformation: each volume (intensities in [0, 1]) goes through a random
    monotonic cubic Bezier curve from (0, 0) to (1, 1), inverted half of the time."""
    b = volumes.shape[0]
    p1, p2 = _rand(generator, b, 2), _rand(generator, b, 2)
    flip = _rand(generator, b) < 0.5
    t = torch.linspace(0, 1, 1001)
    basis = torch.stack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t ** 2 * (1 - t), t ** 3], dim=1)  # (T, 4)
    out = []
    for i, v in enumerate(volumes):
        xs = basis @ torch.tensor([0.0, p1[i, 0], p2[i, 0], 1.0])
        ys = basis @ torch.tensor([0.0, p1[i, 1], p2[i, 1], 1.0])
        order = torch.argsort(xs)
        xs, ys = xs[order].to(v.device), ys[order].to(v.device)
        if flip[i]:
            ys = ys.flip(0)
        flat = v.clamp(0, 1).reshape(-1).contiguous()
        idx = torch.searchsorted(xs, flat).clamp(1, xs.numel() - 1)
        x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
        w = ((flat - x0) / (x1 - x0).clamp_min(1e-8)).clamp(0, 1)
        out.append((y0 + w * (y1 - y0)).reshape(v.shape))
    return torch.stack(out)


def local_shuffle(volumes: torch.Tensor, blocks: int = 200, max_block: int = 4,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Models Genesis' local pixel shuffling: voxels are permuted inside ``blocks`` small random windows."""
    out = volumes.clone()
    b, c, *shape = volumes.shape
    for i in range(b):
        for _ in range(blocks):
            e = [int(_randint(generator, max_block, 1)) + 1 for _ in shape]
            box = _random_box(shape, e, generator)
            window = out[i, :, *box]
            perm = torch.randperm(window[0].numel(), generator=generator).to(volumes.device)
            out[i, :, *box] = window.reshape(c, -1)[:, perm].reshape(window.shape)
    return out


def paint(volumes: torch.Tensor, outpaint_p: float = 0.2, generator: torch.Generator | None = None) -> torch.Tensor:
    """Models Genesis' in-painting (random inner boxes replaced by noise) or, with probability ``outpaint_p``,
    out-painting (everything but one random inner box replaced by noise)."""
    out = volumes.clone()
    b, c, *shape = volumes.shape
    for i in range(b):
        noise = torch.rand(c, *shape, generator=generator).to(volumes.device, volumes.dtype)
        if float(_rand(generator, 1)) < outpaint_p:
            e = [int(s * (0.5 + 0.3 * float(_rand(generator, 1)))) for s in shape]
            box = _random_box(shape, e, generator)
            keep = out[i, :, *box].clone()
            out[i] = noise
            out[i, :, *box] = keep
        else:
            for _ in range(int(_randint(generator, 4, 1)) + 1):
                e = [max(1, int(s * (0.1 + 0.2 * float(_rand(generator, 1))))) for s in shape]
                box = _random_box(shape, e, generator)
                out[i, :, *box] = noise[:, *box]
    return out
