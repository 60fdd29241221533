"""selfsup-audio: speech and sound SSL on torchaudio features and the selfsup core.

Features (Kaldi fbank, normalisation, SpecAugment), encoders (spectrogram Transformer with patch or
frame tokens, BYOL-A CNN), methods (SSAST, Audio-MAE, BYOL-A, EAT/data2vec 2.0, HuBERT-style),
datasets (FSDD, Speech Commands, ESC-50, audio folders, synthesised spoken words), ASTModel export and
the suite ``selfsup bench audio``.

Every public name is imported on first use (:mod:`selfsup.core.lazy_exports`).
"""

from selfsup.core.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "augment": ["BYOLAAugment", "linear_fader", "log_mixup_exp", "random_resize_crop"],
    "build": ["ENCODERS", "METHODS", "build_encoder", "build_method"],
    "datasets": [
        "AudioClips", "SpectrogramDataset", "load_audio_folder", "load_esc50", "load_fsdd",
        "load_speech_commands", "speak_words", "synthesize_words",
    ],
    "encoders": ["AudioCNN", "SpectrogramTokenizer", "SpectrogramTransformer"],
    "export_ast": ["save_ast", "to_ast_model"],
    "features": ["SpecAugment", "SpectrogramStats", "kaldi_fbank", "log_mel_spectrogram"],
    "io": ["AudioReadError", "read_audio"],
    "methods": ["BYOLA", "EAT", "SSAST", "AudioMAE", "HuBERT"],
})
