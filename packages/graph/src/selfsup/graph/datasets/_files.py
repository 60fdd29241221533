"""Where the graph loaders look for files, and the working copies that torch-geometric processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$SELFSUP_CACHE/graph/...`` (default ``~/.cache/selfsup/graph/...``)."""
    return Path(os.environ.get("SELFSUP_CACHE", Path.home() / ".cache" / "selfsup")).joinpath("graph", *parts)


def find_raw_dir(root: Path, name: str, required: list[str], how_to_get: str) -> Path:
    """The folder holding every file of ``required``: ``root/name/raw``, ``root/raw`` or ``root`` itself
    (name matched case-insensitively); otherwise a FileNotFoundError naming the expected path."""
    root = Path(root)
    candidates = [root / name / "raw", root / name.lower() / "raw", root / "raw", root]
    if root.is_dir():
        candidates += [d / "raw" for d in root.iterdir() if d.is_dir() and d.name.lower() == name.lower()]
    for folder in candidates:
        if all((folder / f).is_file() for f in required):
            return folder
    missing = [f for f in required if not (candidates[0] / f).is_file()]
    raise FileNotFoundError(f"{name}: expected {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''} "
                            f"in {candidates[0]}; {how_to_get}")


def working_copy(raw_dir: Path, files: list[str], *parts: str) -> Path:
    """Copy ``files`` from ``raw_dir`` to ``cache_dir(*parts)/raw`` (read-only data folders stay untouched;
    torch-geometric writes its processed files next to the copy) and return ``cache_dir(*parts)``.
    A copy whose files differ in size from the originals is refreshed, processed files included."""
    root = cache_dir(*parts)
    raw = root / "raw"
    stale = any(not (raw / f).is_file() or (raw / f).stat().st_size != (raw_dir / f).stat().st_size for f in files)
    if stale:
        shutil.rmtree(root, ignore_errors=True)
        raw.mkdir(parents=True)
        for f in files:
            tmp = raw / (f + ".tmp")
            shutil.copyfile(raw_dir / f, tmp)
            tmp.replace(raw / f)
    return root
