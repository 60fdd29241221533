"""The medical loaders' cache folder and atomic writes into it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def atomic_save_npy(array: np.ndarray, path: Path) -> None:
    """Write ``array`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    tmp.replace(path)
