"""Where the graph loaders look for files, and where downloads go."""

from __future__ import annotations

from pathlib import Path


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
