"""Audio encoders: spectrogram Transformer (patch/frame tokens, core trunk) and BYOL-A's CNN."""

from selfsup.audio.encoders.audio_cnn import AudioCNN
from selfsup.audio.encoders.spectrogram_vit import (
    AUDIO_VIT_SIZES,
    SpectrogramTokenizer,
    SpectrogramTransformer,
    spectrograms,
)

__all__ = ["AUDIO_VIT_SIZES", "AudioCNN", "SpectrogramTokenizer", "SpectrogramTransformer",
           "spectrograms"]
