"""Modality-free encoders of the core (domain packages register their own)."""

from selfsup.core.encoders.mlp import MLPEncoder

__all__ = ["MLPEncoder"]
