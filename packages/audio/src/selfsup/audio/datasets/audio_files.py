"""A user's own recordings as they are on disk: a folder (flat or nested) or a list file of wav/flac/ogg/mp3/aiff,
any sample rate, channel count and length. Files are never read whole: each item is a crop (training) or a few
windows (embedding) read from disk with a seek, so a 3-hour recording costs what a 1-second one does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from selfsup.audio.features import SILENCE, SpectrogramStats, fit_frames, kaldi_fbank
from selfsup.audio.io import sample_problem
from selfsup.core.data import FileSource, ItemIndex

AUDIO_FILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif")


def audio_header(path: Path) -> dict[str, int]:
    """``{"samples", "rate", "channels"}`` from the file's header (libsndfile); raises for what it cannot read."""
    info = sf.info(str(path))
    if info.frames <= 0:
        raise ValueError("the file holds no samples")
    if info.samplerate <= 0 or info.channels <= 0:
        raise ValueError(f"bad header: {info.samplerate} Hz, {info.channels} channels")
    return {"samples": int(info.frames), "rate": int(info.samplerate), "channels": int(info.channels)}


def read_span(path: str | Path, start: int, count: int) -> torch.Tensor:
    """``(1, count')`` mono float32 samples ``[start, start + count)`` read with a seek (channels averaged)."""
    with sf.SoundFile(str(path)) as handle:
        handle.seek(start)
        data = handle.read(count, dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise ValueError(f"no samples at {start} (the header promised more)")
    problem = sample_problem(data)
    if problem:
        raise ValueError(problem)
    return torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))[None]


class AudioFiles(FileSource):
    """Training items are the ``clip_seconds`` segments of every file (a 3-hour recording is 10,800 items of 1 s, a
    0.2 s word one), so an epoch samples crops across all the audio in proportion to its duration; the index stays
    one row per file. Item ``{"spec": (num_mel_bins, frames)}`` normalised with ``stats`` (AST's convention): the
    Kaldi fbank of a ``clip_seconds`` crop that starts at random (:meth:`rng`) inside its segment (the whole file,
    padded with silence, when it is shorter). With ``windows=W`` (embedding) items are files,
    ``{"spec": (W, num_mel_bins, frames)}``: W crops at evenly spaced starts covering the file, pooled by the
    caller (a file shorter than W crops repeats its crops)."""

    domain = "audio"

    def __init__(self, root: str | Path, index: ItemIndex, *, clip_seconds: float, frames: int,
                 num_mel_bins: int = 128, stats: SpectrogramStats | None = None, windows: int = 0, **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        self.clip_seconds, self.frames, self.num_mel_bins = clip_seconds, frames, num_mel_bins
        self.stats, self.windows = stats, windows
        self.samples, self.rates = index.column("samples"), index.column("rate")
        crops = np.maximum(1, np.round(clip_seconds * self.rates)).astype(np.int64)
        segments = np.ones(len(index), np.int64) if windows else np.maximum(1, -(-self.samples // crops))
        self.first = np.concatenate([[0], np.cumsum(segments)])  # item numbers where each file's segments start

    def __len__(self) -> int:
        return int(self.first[-1])

    def file_of(self, item: int) -> int:
        return int(np.searchsorted(self.first, item, side="right") - 1)

    def spectrogram(self, i: int, start: int) -> torch.Tensor:
        rate = int(self.rates[i])
        wave = read_span(self.path(i), start, max(1, round(self.clip_seconds * rate)))
        spec = fit_frames(kaldi_fbank(wave, rate, num_mel_bins=self.num_mel_bins), self.frames, pad_value=SILENCE)
        return self.stats(spec) if self.stats is not None else spec

    def starts(self, item: int) -> list[int]:
        """Crop starts (samples) of an item in its file."""
        i = self.file_of(item)
        crop = round(self.clip_seconds * int(self.rates[i]))
        last = max(0, int(self.samples[i]) - crop)
        if self.windows:
            return np.linspace(0, last, self.windows).round().astype(int).tolist()
        low = min((item - int(self.first[i])) * crop, last)
        return [int(self.rng(item).integers(low, min(low + crop, last + 1)))]

    def read(self, item: int) -> dict[str, torch.Tensor]:
        i = self.file_of(item)
        specs = [self.spectrogram(i, start) for start in self.starts(item)]
        return {"spec": torch.stack(specs) if self.windows else specs[0]}

    def config(self) -> dict:
        return {"clip_seconds": self.clip_seconds, "frames": self.frames, "num_mel_bins": self.num_mel_bins}
