"""selfsup-audio: speech and sound SSL on torchaudio features and the selfsup core.

Features (Kaldi fbank, normalisation, SpecAugment), encoders (spectrogram Transformer with patch or
frame tokens, BYOL-A CNN), methods (SSAST, Audio-MAE, BYOL-A, EAT/data2vec 2.0, HuBERT-style),
datasets (FSDD, Speech Commands, ESC-50, audio folders, synthesised spoken words), ASTModel export and
the suite ``selfsup bench audio``.
"""

from selfsup.audio.augment import BYOLAAugment, linear_fader, log_mixup_exp, random_resize_crop
from selfsup.audio.build import ENCODERS, METHODS, build_encoder, build_method
from selfsup.audio.datasets import (
    AudioClips,
    SpectrogramDataset,
    load_audio_folder,
    load_esc50,
    load_fsdd,
    load_speech_commands,
    synthesize_words,
)
from selfsup.audio.encoders import AudioCNN, SpectrogramTokenizer, SpectrogramTransformer
from selfsup.audio.export_ast import save_ast, to_ast_model
from selfsup.audio.features import SpecAugment, SpectrogramStats, kaldi_fbank, log_mel_spectrogram
from selfsup.audio.io import AudioReadError, read_audio
from selfsup.audio.methods import BYOLA, EAT, SSAST, AudioMAE, HuBERT

__all__ = [
    "BYOLA", "EAT", "ENCODERS", "METHODS", "SSAST", "AudioCNN", "AudioClips", "AudioMAE", "AudioReadError",
    "BYOLAAugment", "HuBERT", "SpecAugment", "SpectrogramDataset", "SpectrogramStats", "SpectrogramTokenizer",
    "SpectrogramTransformer", "build_encoder", "build_method", "kaldi_fbank", "linear_fader", "load_audio_folder",
    "load_esc50", "load_fsdd", "load_speech_commands", "log_mel_spectrogram", "log_mixup_exp", "random_resize_crop",
    "read_audio", "save_ast", "synthesize_words", "to_ast_model",
]
