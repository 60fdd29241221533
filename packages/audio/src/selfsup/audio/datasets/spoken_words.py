"""Embedded default data: spoken words synthesised with eSpeak NG (the ``espeakng-loader`` wheel ships
the shared library and its voices; install ``selfsup-audio[bench]``). Several voices, speaking rates
and pitches: the voices play the role of speakers (leave-one-voice-out)."""

from __future__ import annotations

import ctypes
import functools
import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from selfsup.audio.datasets.clips import AudioClips, clip_features, one_thread
from selfsup.core.extras import require

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICES = ("en-us+m1", "en-us+f2", "en-gb-x-rp+m3", "en+f4", "en-gb-scotland+m2", "en-029+f1", "en-us-nyc+m5",
          "en-gb-x-gbclan+f3")
RATES = (120, 150, 185, 220)  # words per minute
PITCHES = (25, 40, 55, 70)  # 0-100
_RATE, _PITCH = 1, 3  # espeak_PARAMETER
_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _ESpeak:
    """The eSpeak NG library through ctypes, in synchronous mode (one process-wide instance)."""

    def __init__(self) -> None:
        espeakng_loader = require("espeakng_loader", extra="bench", package="selfsup-audio",
                                  purpose="the embedded spoken-word data (eSpeak NG; or --data-root with FSDD files)")
        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        self.rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise (data at {espeakng_loader.get_data_path()})")
        self.chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: the library calls it later
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n: int, events) -> int:
        if n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, text: str, voice: str, rate: int, pitch: int) -> torch.Tensor:
        """``(1, samples)`` float32 waveform at ``self.rate`` Hz."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PITCH, pitch, 0)
        self.chunks.clear()
        data = text.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        if not self.chunks:
            raise RuntimeError(f"eSpeak NG produced no audio for {text!r} ({voice})")
        return torch.from_numpy(np.concatenate(self.chunks).astype(np.float32) / 32768.0)[None]


@functools.cache
def _espeak() -> _ESpeak:
    return _ESpeak()


def speak_words(words: Sequence[str] = DIGIT_WORDS, voices: Sequence[str] = VOICES, rates: Sequence[int] = RATES,
                pitches: Sequence[int] = PITCHES) -> Iterator[tuple[torch.Tensor, int, str, str, int, int]]:
    """``(waveform (1, samples) float32, sample_rate, word, voice, rate, pitch)`` for each (word, voice, rate, pitch),
    words outermost: eSpeak NG's recordings, e.g. to write as files for ``selfsup pretrain audio``."""
    engine = _espeak()
    for word, voice, rate, pitch in itertools.product(words, voices, rates, pitches):
        yield engine.say(word, voice, rate, pitch), engine.rate, word, voice, rate, pitch


def synthesize_words(words: Sequence[str] = DIGIT_WORDS, voices: Sequence[str] = VOICES,
                     rates: Sequence[int] = RATES, pitches: Sequence[int] = PITCHES, *, frames: int = 96,
                     num_mel_bins: int = 128) -> AudioClips:
    """One clip per (word, voice, rate, pitch): ``len(words) * len(voices) * len(rates) * len(pitches)``
    clips (1,280 by default, about 2 s to make on one core). Labels index ``words``; groups are voices."""
    specs, lengths, labels, groups, ids = [], [], [], [], []
    for waveform, sample_rate, word, voice, rate, pitch in speak_words(words, voices, rates, pitches):
        with one_thread():
            spec, length = clip_features(waveform, sample_rate, frames, num_mel_bins)
        specs.append(spec)
        lengths.append(length)
        labels.append(list(words).index(word))
        groups.append(voice)
        ids.append(f"espeak:{word}/{voice}/rate{rate}/pitch{pitch}")
    return AudioClips(torch.stack(specs), torch.tensor(lengths), torch.tensor(labels), list(words), groups, ids,
                      "spoken words (eSpeak NG)")
