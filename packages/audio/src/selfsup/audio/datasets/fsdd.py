"""Free Spoken Digit Dataset: ``{digit}_{speaker}_{take}.wav``, 8 kHz mono; official test split = takes 0-4."""

from __future__ import annotations

import re
from pathlib import Path

from selfsup.audio.datasets.clips import AudioClips, load_clips, missing

FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"
_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def fsdd_recordings(root: str | Path) -> Path:
    """The ``recordings`` folder under ``root`` (``root`` itself, ``root/recordings`` or ``root/fsdd/recordings``)."""
    root = Path(root)
    for folder in (root, root / "recordings", root / "fsdd" / "recordings"):
        if folder.is_dir() and any(_NAME.match(p.name) for p in folder.glob("*.wav")):
            return folder
    raise missing(root / "recordings", "FSDD recordings ({digit}_{speaker}_{take}.wav)",
                  f"Clone {FSDD_URL} and pass its folder (the one holding recordings/).")


def load_fsdd(root: str | Path, split: str = "all", *, frames: int = 96, num_mel_bins: int = 128) -> AudioClips:
    """Digits 0-9 spoken by 6 speakers, 50 takes each. ``split``: ``all``, ``train`` (takes 5-49) or
    ``test`` (takes 0-4, the official split). ``groups`` are the speakers (leave-one-speaker-out)."""
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    folder = fsdd_recordings(root)
    entries = []
    for path in sorted(folder.glob("*.wav")):
        match = _NAME.match(path.name)
        if not match:
            continue
        digit, speaker, take = int(match[1]), match[2], int(match[3])
        if split == "all" or (split == "test") == (take < 5):
            entries.append((path, digit, speaker))
    return load_clips([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries],
                      [str(d) for d in range(10)], frames=frames, num_mel_bins=num_mel_bins, name=f"FSDD {split}")


def fsdd_takes(clips: AudioClips) -> list[int]:
    """The take index of each FSDD clip (from its file name)."""
    return [int(_NAME.match(Path(p).name)[3]) for p in clips.paths]
