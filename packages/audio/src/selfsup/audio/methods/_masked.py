"""Token bookkeeping shared by the masked spectrogram methods."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.audio.encoders import SpectrogramTransformer
from selfsup.core.trunk import block_mask, inverse_block_mask, random_mask


def require_transformer(encoder: nn.Module, method: str) -> SpectrogramTransformer:
    if not isinstance(encoder, SpectrogramTransformer):
        raise TypeError(f"{method} needs a SpectrogramTransformer encoder (tokens), got {type(encoder).__name__}")
    return encoder


def patchify(spec: torch.Tensor, patch: tuple[int, int]) -> torch.Tensor:
    """``(B, F, T) -> (B, (F/pf)*(T/pt), pf*pt)`` in the tokenizer's frequency-major order."""
    b, f, t = spec.shape
    pf, pt = patch
    x = spec.reshape(b, f // pf, pf, t // pt, pt).permute(0, 1, 3, 2, 4)
    return x.reshape(b, (f // pf) * (t // pt), pf * pt)


def make_mask(kind: str, batch: int, grid: tuple[int, int], ratio: float) -> torch.Tensor:
    """``(B, N)`` True = masked: ``random`` (MAE), ``block`` (SSAST's clustered patches, BEiT blocks) or
    ``inverse_block`` (data2vec 2.0 / EAT: visible blocks)."""
    if kind == "random":
        return random_mask(batch, grid[0] * grid[1], ratio)
    if kind == "block":
        return block_mask(batch, grid, ratio, min_block=min(4, grid[0] * grid[1]))
    if kind == "inverse_block":
        return inverse_block_mask(batch, grid, ratio, min_block=min(4, grid[0] * grid[1]))
    raise ValueError(f"mask kind must be 'random', 'block' or 'inverse_block', got {kind!r}")


def with_mask_tokens(tokens: torch.Tensor, mask: torch.Tensor, mask_token: torch.Tensor,
                     positions: torch.Tensor) -> torch.Tensor:
    """``tokens (B, N, D)`` with the masked ones replaced by ``mask_token (D,)`` + their ``positions
    (1, N, D)`` (SSAST, HuBERT: the encoder sees every position)."""
    filler = (mask_token.to(tokens.dtype) + positions.to(tokens.dtype)).expand_as(tokens)
    return torch.where(mask[..., None], filler, tokens)
