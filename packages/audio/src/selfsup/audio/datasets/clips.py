"""A labelled set of fixed-length log-mel clips, and the torch dataset the trainer reads."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset

from selfsup.audio.features import SILENCE, SpectrogramStats, fit_frames, kaldi_fbank
from selfsup.audio.io import AudioReadError, read_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


@dataclass
class AudioClips:
    """``specs (N, F, T)`` float32 log-mel filterbanks (not normalised), ``lengths (N,)`` frames of real
    signal before padding, ``labels (N,)`` int64 indices into ``classes``, ``groups``: one string per
    clip (speaker, voice or fold) for group-wise splits, ``paths`` the source files (or synthetic ids),
    ``skipped``: ``(path, reason)`` of files that could not be used."""

    specs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    groups: list[str]
    paths: list[str]
    name: str = "audio"
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.specs.shape[0]
        if self.specs.dim() != 3:
            raise ValueError(f"specs must be (N, F, T), got {tuple(self.specs.shape)}")
        for what, value in (("lengths", self.lengths), ("labels", self.labels), ("groups", self.groups),
                            ("paths", self.paths)):
            if len(value) != n:
                raise ValueError(f"{what} has {len(value)} entries for {n} clips")

    def __len__(self) -> int:
        return self.specs.shape[0]

    def subset(self, index: Sequence[int] | torch.Tensor, name: str | None = None) -> AudioClips:
        idx = torch.as_tensor(index, dtype=torch.long)
        pick = idx.tolist()
        return AudioClips(self.specs[idx], self.lengths[idx], self.labels[idx], self.classes,
                          [self.groups[i] for i in pick], [self.paths[i] for i in pick], name or self.name)

    def stats(self) -> SpectrogramStats:
        """Normalisation statistics of these clips (call it on the training split)."""
        return SpectrogramStats.fit(self.specs, self.lengths)


class SpectrogramDataset(Dataset):
    """``{"spec": (F, T)}`` normalised with ``stats`` (AST convention); labels are not returned."""

    def __init__(self, clips: AudioClips, stats: SpectrogramStats) -> None:
        self.clips, self.stats = clips, stats

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"spec": self.stats(self.clips.specs[i])}


@contextmanager
def one_thread() -> Iterator[None]:
    """Featurising one short clip gains nothing from intra-op threads (and they fight other processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def clip_features(wave: torch.Tensor, rate: int, frames: int, num_mel_bins: int) -> tuple[torch.Tensor, int]:
    """``((F, frames) fbank, real frames)`` of a mono waveform, padded with silence."""
    spec = kaldi_fbank(wave, rate, num_mel_bins=num_mel_bins)
    return fit_frames(spec, frames, pad_value=SILENCE), min(spec.shape[-1], frames)


def load_clips(paths: Sequence[Path], labels: Sequence[int], groups: Sequence[str], classes: list[str], *,
               frames: int, num_mel_bins: int = 128, name: str = "audio") -> AudioClips:
    """Read and featurise files; files that cannot be used are reported (a warning naming them, and
    ``clips.skipped``), not crashed on. Raises if none can be used."""
    specs, lengths, kept, skipped = [], [], [], []
    with one_thread():
        for i, path in enumerate(paths):
            try:
                wave, rate = read_audio(path)
                if wave.shape[1] < rate // 100:
                    raise AudioReadError(f"{path}: shorter than 10 ms ({wave.shape[1]} samples)")
                spec, length = clip_features(wave, rate, frames, num_mel_bins)
            except AudioReadError as err:
                skipped.append((str(path), str(err)))
                continue
            specs.append(spec)
            lengths.append(length)
            kept.append(i)
    if skipped:
        listed = "; ".join(reason for _, reason in skipped[:5])
        warnings.warn(f"{name}: skipped {len(skipped)} unusable file(s): {listed}"
                      f"{' ...' if len(skipped) > 5 else ''}", stacklevel=2)
    if not kept:
        raise AudioReadError(f"{name}: none of the {len(paths)} files could be read")
    return AudioClips(torch.stack(specs), torch.tensor(lengths), torch.tensor([labels[i] for i in kept]),
                      classes, [groups[i] for i in kept], [str(paths[i]) for i in kept], name, skipped)


def missing(path: Path, what: str, how: str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} not found at {path}. {how}")
