"""Encoders and methods by name (what the plugin registers and the suite uses)."""

from __future__ import annotations

from functools import partial

from torch import nn

from selfsup.audio.encoders import AUDIO_VIT_SIZES, AudioCNN, SpectrogramTransformer
from selfsup.audio.methods import BYOLA, EAT, SSAST, AudioMAE, HuBERT
from selfsup.core.registry import recorded

METHODS = {"ssast": SSAST, "audio_mae": AudioMAE, "byol_a": BYOLA, "eat": EAT, "hubert": HuBERT}
# the encoder each method uses in the suite: SSAST and HuBERT predict per-frame content (frame tokens),
# Audio-MAE and EAT reconstruct/predict 16x16 patches, BYOL-A is CNN-based
METHOD_TOKENS = {"ssast": "frame", "audio_mae": "patch", "eat": "patch", "hubert": "frame", "byol_a": "cnn"}


def _vit(size: str, tokens: str, **kwargs) -> SpectrogramTransformer:
    return SpectrogramTransformer(size, tokens=tokens, **kwargs)


ENCODERS = {
    **{f"audio_vit_{size}_{tokens}": partial(_vit, size, tokens) for size in AUDIO_VIT_SIZES
       for tokens in ("patch", "frame")},
    "audio_cnn": AudioCNN,  # BYOL-A's width (64 channels)
    # for CPUs: 64 bins (BYOL-A's input), 32 channels: about 1/8 of the convolution cost
    "audio_cnn_small": partial(AudioCNN, channels=32, out_dim=256, freq_pool=2),
}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """``build_encoder("audio_vit_mini_patch", num_mel_bins=128, frames=96)`` or ``"audio_cnn"``."""
    if name not in ENCODERS:
        raise ValueError(f"unknown audio encoder {name!r}; choose from {sorted(ENCODERS)}")
    if name.startswith("audio_cnn"):
        kwargs.pop("frames", None)
        kwargs.pop("pool", None)
    return recorded(ENCODERS[name](**kwargs), name, kwargs)


def build_method(name: str, encoder: nn.Module, **kwargs) -> nn.Module:
    """``build_method("ssast", encoder, mask_ratio=0.5)``; all but BYOL-A need a spectrogram Transformer."""
    if name not in METHODS:
        raise ValueError(f"unknown audio method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **kwargs)
