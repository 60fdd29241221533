"""ESC-50 (Piczak 2015) in its official layout: ``<root>/audio/*.wav`` and ``<root>/meta/esc50.csv``
(filename, fold, target, category, ...); five folds for cross-validation."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from selfsup.audio.datasets.clips import AudioClips, load_clips, missing

ESC50_URL = "https://github.com/karolpiczak/ESC-50"


def load_esc50(root: str | Path, folds: Sequence[int] = (1, 2, 3, 4, 5), *, frames: int = 512,
               num_mel_bins: int = 128) -> AudioClips:
    """The clips of ``folds``; ``groups`` are the fold numbers (as strings)."""
    root = Path(root)
    meta = root / "meta" / "esc50.csv"
    if not meta.is_file():
        raise missing(meta, "ESC-50 metadata", f"Clone or download {ESC50_URL} and pass its folder.")
    with meta.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    needed = {"filename", "fold", "target", "category"}
    if rows and not needed <= set(rows[0]):
        raise ValueError(f"{meta}: expected columns {sorted(needed)}, got {sorted(rows[0])}")
    names = {int(r["target"]): r["category"] for r in rows}
    classes = [names.get(i, str(i)) for i in range(max(names) + 1)] if names else []
    chosen = [r for r in rows if int(r["fold"]) in set(folds)]
    return load_clips([root / "audio" / r["filename"] for r in chosen], [int(r["target"]) for r in chosen],
                      [r["fold"] for r in chosen], classes, frames=frames, num_mel_bins=num_mel_bins,
                      name=f"ESC-50 folds {list(folds)}")
