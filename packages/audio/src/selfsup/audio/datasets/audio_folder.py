"""A folder of audio files with one sub-folder per class (``<root>/<class>/<file>.wav|flac|ogg``)."""

from __future__ import annotations

from pathlib import Path

from selfsup.audio.datasets.clips import AUDIO_SUFFIXES, AudioClips, load_clips, missing


def load_audio_folder(root: str | Path, *, frames: int = 100, num_mel_bins: int = 128) -> AudioClips:
    """Every audio file under each class folder; ``groups`` are the class names' sub-folders' parents
    (the class itself), so use your own split for group-wise evaluation."""
    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not classes:
        raise missing(root, "class sub-folders with audio files", "Arrange files as <root>/<class>/<file>.wav.")
    paths, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).rglob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES:
                paths.append(path)
                labels.append(label)
    if not paths:
        raise missing(root, f"audio files ({', '.join(AUDIO_SUFFIXES)}) in {classes}", "Check the folder.")
    return load_clips(paths, labels, [classes[i] for i in labels], classes, frames=frames,
                      num_mel_bins=num_mel_bins, name=f"folder {root.name}")
