"""Features: soundfile + torchaudio log-mel filterbanks, dataset normalisation, SpecAugment."""

from selfsup.audio.features.fbank import FEATURE_RATE, SILENCE, fit_frames, kaldi_fbank, log_mel_spectrogram, resample
from selfsup.audio.features.normalize import SpectrogramStats
from selfsup.audio.features.specaugment import SpecAugment

__all__ = ["FEATURE_RATE", "SILENCE", "SpecAugment", "SpectrogramStats", "fit_frames", "kaldi_fbank",
           "log_mel_spectrogram", "resample"]
