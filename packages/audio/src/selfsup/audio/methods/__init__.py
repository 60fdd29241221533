"""Audio SSL methods, one per file; each takes ``{"spec": (B, F, T)}`` normalised log-mel batches."""

from selfsup.audio.methods.audio_mae import AudioMAE
from selfsup.audio.methods.byol_a import BYOLA
from selfsup.audio.methods.eat import EAT
from selfsup.audio.methods.hubert import HuBERT
from selfsup.audio.methods.ssast import SSAST

__all__ = ["BYOLA", "EAT", "SSAST", "AudioMAE", "HuBERT"]
