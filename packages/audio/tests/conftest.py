"""Tiny audio files written by the tests (no data is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def _tone(freq: float, seconds: float = 0.4, rate: int = 8000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size) * 0.01
    return (0.5 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def _write_wav(path: Path, data: np.ndarray, rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype="PCM_16")
    return path


@pytest.fixture
def tone():
    """``tone(freq, seconds=0.4, rate=8000, seed=0)``: a float32 sine with a little noise."""
    return _tone


@pytest.fixture
def write_wav():
    """``write_wav(path, data, rate=8000)``: a 16-bit PCM WAV file (folders created)."""
    return _write_wav


@pytest.fixture
def fsdd_root(tmp_path: Path) -> Path:
    """``recordings/{digit}_{speaker}_{take}.wav``: 2 digits x 3 speakers x takes 0-6."""
    for digit in (0, 1):
        for s, speaker in enumerate(("ann", "bob", "cid")):
            for take in range(7):
                _write_wav(tmp_path / "recordings" / f"{digit}_{speaker}_{take}.wav",
                           _tone(300 + 900 * digit + 40 * s, 0.3 + 0.02 * take, seed=take))
    return tmp_path
