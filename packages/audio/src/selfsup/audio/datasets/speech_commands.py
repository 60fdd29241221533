"""Speech Commands (Warden 2018) in its official layout: ``<root>/<word>/<speaker>_nohash_<n>.wav``
with ``validation_list.txt`` and ``testing_list.txt`` naming the held-out files."""

from __future__ import annotations

from pathlib import Path

from selfsup.audio.datasets.clips import AudioClips, load_clips, missing

SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"


def load_speech_commands(root: str | Path, split: str = "train", *, words: list[str] | None = None,
                         frames: int = 100, num_mel_bins: int = 128) -> AudioClips:
    """``split``: ``train`` (files in neither list), ``validation`` or ``test``; ``words`` limits the
    classes (default: every word folder). ``groups`` are the speaker hashes."""
    root = Path(root)
    lists = {s: root / f"{s}_list.txt" for s in ("validation", "testing")}
    for path in lists.values():
        if not path.is_file():
            raise missing(path, "Speech Commands split list", f"Extract {SPEECH_COMMANDS_URL} into {root}.")
    if split not in ("train", "validation", "test"):
        raise ValueError(f"split must be 'train', 'validation' or 'test', got {split!r}")
    held = {s: set(lists[s].read_text().split()) for s in lists}
    classes = sorted(words or (p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")))
    paths, labels, groups = [], [], []
    for label, word in enumerate(classes):
        for path in sorted((root / word).glob("*.wav")):
            rel = f"{word}/{path.name}"
            in_split = {"validation": rel in held["validation"], "test": rel in held["testing"],
                        "train": rel not in held["validation"] and rel not in held["testing"]}[split]
            if in_split:
                paths.append(path)
                labels.append(label)
                groups.append(path.name.split("_nohash_")[0])
    if not paths:
        raise missing(root, f"Speech Commands {split} files for words {classes}", "Check the folder layout.")
    return load_clips(paths, labels, groups, classes, frames=frames, num_mel_bins=num_mel_bins,
                      name=f"Speech Commands {split}")
