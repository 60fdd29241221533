"""Reading audio files with soundfile (no TorchCodec/FFmpeg), with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch


class AudioReadError(RuntimeError):
    """An audio file that cannot be used: unreadable, corrupt, empty or silent-length; names its path."""


#: Samples beyond this magnitude are not sound: soundfile reads integer formats into [-1, 1], and float files hold
#: at most the int16 range; larger values overflow the spectrogram's power in float32.
MAX_AMPLITUDE = 1e6


def sample_problem(data: np.ndarray) -> str | None:
    """Why ``data`` (float samples) cannot be used, or None: non-finite or absurdly large values."""
    if not np.isfinite(data).all():
        return "the file holds non-finite samples"
    peak = float(np.abs(data).max()) if data.size else 0.0
    if peak > MAX_AMPLITUDE:
        return f"samples reach {peak:.3g}, beyond any audio scale (at most {MAX_AMPLITUDE:g})"
    return None


def read_audio(path: str | Path, *, mono: bool = True) -> tuple[torch.Tensor, int]:
    """``(waveform (C, T) float32 in [-1, 1], sample_rate)``; channels averaged when ``mono``.

    Raises :class:`AudioReadError` naming ``path`` for a missing, unreadable, corrupt or empty file,
    and for one whose samples are not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"{path}: no such file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioReadError(f"{path}: cannot decode audio ({err})") from err
    if data.shape[0] == 0:
        raise AudioReadError(f"{path}: the file holds no samples")
    problem = sample_problem(data)
    if problem:
        raise AudioReadError(f"{path}: {problem}")
    wave = torch.from_numpy(np.ascontiguousarray(data.T))
    return (wave.mean(dim=0, keepdim=True) if mono else wave), int(rate)
