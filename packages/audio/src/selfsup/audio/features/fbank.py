"""Log-mel features with torchaudio: Kaldi-compatible filterbanks (AST/SSAST) and ``MelSpectrogram``."""

from __future__ import annotations

import math

import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

FEATURE_RATE = 16000  # AST's features are computed at 16 kHz
SILENCE = math.log(torch.finfo(torch.float32).eps)  # Kaldi's log-energy floor: what digital silence gives


def resample(waveform: torch.Tensor, rate: int, target: int = FEATURE_RATE) -> torch.Tensor:
    """``(C, T) -> (C, T')`` at ``target`` Hz (torchaudio's band-limited sinc resampler)."""
    return waveform if rate == target else torchaudio.functional.resample(waveform, rate, target)


def kaldi_fbank(waveform: torch.Tensor, rate: int, *, num_mel_bins: int = 128, frame_shift_ms: float = 10.0,
                frame_length_ms: float = 25.0) -> torch.Tensor:
    """``(F, T)`` log-mel filterbank of a mono ``(1, samples)`` waveform, AST's convention: resampled to
    16 kHz, mean removed, Hanning window, 25 ms window / 10 ms shift, 128 bins, no dither.
    Clips shorter than one window are zero-padded to one frame."""
    if waveform.dim() != 2 or waveform.shape[0] != 1:
        raise ValueError(f"kaldi_fbank needs a mono (1, samples) waveform, got {tuple(waveform.shape)}")
    wave = resample(waveform, rate)
    window = int(FEATURE_RATE * frame_length_ms / 1000)
    if wave.shape[1] < window:
        wave = torch.nn.functional.pad(wave, (0, window - wave.shape[1]))
    wave = wave - wave.mean()
    feats = kaldi.fbank(wave, htk_compat=True, sample_frequency=FEATURE_RATE, use_energy=False,
                        window_type="hanning", num_mel_bins=num_mel_bins, dither=0.0,
                        frame_shift=frame_shift_ms, frame_length=frame_length_ms)
    return feats.T.contiguous()


def log_mel_spectrogram(waveform: torch.Tensor, rate: int, *, n_mels: int = 64, n_fft: int = 1024,
                        hop_length: int = 160) -> torch.Tensor:
    """``(F, T)`` log-mel power spectrogram (``torchaudio.transforms.MelSpectrogram`` at 16 kHz, then
    ``log(x + 1e-6)``): BYOL-A's features."""
    wave = resample(waveform.mean(dim=0, keepdim=True), rate)
    mel = torchaudio.transforms.MelSpectrogram(FEATURE_RATE, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return (mel(wave)[0] + 1e-6).log()


def fit_frames(spec: torch.Tensor, frames: int, *, offset: int = 0, pad_value: float = 0.0) -> torch.Tensor:
    """``(F, T) -> (F, frames)``: pad at the end with ``pad_value`` or keep ``frames`` from ``offset``.
    The defaults are ``ASTFeatureExtractor``'s (pad 0, crop from the start); the datasets pad with
    :data:`SILENCE`, since a 0 log-energy is a loud sound and short clips (FSDD) would be mostly that."""
    t = spec.shape[-1]
    if t < frames:
        return torch.nn.functional.pad(spec, (0, frames - t), value=pad_value)
    start = offset or 0
    return spec[..., start : start + frames]
