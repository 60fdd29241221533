"""Volume validation with messages that name the file (instead of a crash deep in a 3D network)."""

from __future__ import annotations

import numpy as np


def check_volume(array, where: str, *, spatial_dims: int = 3, channel_first: bool = False) -> np.ndarray:
    """``array`` as float32 numpy after checking it has ``spatial_dims`` spatial axes (plus a channel axis
    when ``channel_first``), a non-empty shape and only finite values; a ValueError naming ``where``
    otherwise."""
    a = np.asarray(array)
    want = spatial_dims + int(channel_first)
    if a.ndim != want:
        layout = "(C, X, Y, Z)" if channel_first else "(X, Y, Z)"
        raise ValueError(f"{where}: expected a {spatial_dims}D volume {layout}, got shape {a.shape}")
    if a.size == 0 or min(a.shape) == 0:
        raise ValueError(f"{where}: the volume is empty (shape {a.shape})")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{where}: voxels must be numbers, got dtype {a.dtype}")
    a = a.astype(np.float32, copy=False)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{where}: {int(bad.sum())} voxels are NaN or inf")
    return a
