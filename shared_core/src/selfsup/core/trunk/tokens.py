"""Token batches: what every tokenizer produces and the trunk consumes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import torch


@dataclass
class TokenBatch:
    """``tokens (B, N, D)``; ``padding_mask (B, N)`` bool with **True = padding** (None: no padding);
    ``num_prefix``: leading tokens that are not content (CLS, registers); ``modality``: a name such as
    ``"image"``, ``"audio"``, ``"table"``, ``"graph"``, ``"volume"``."""

    tokens: torch.Tensor
    padding_mask: torch.Tensor | None = None
    num_prefix: int = 0
    modality: str = "generic"

    def __post_init__(self) -> None:
        if self.tokens.dim() != 3:
            raise ValueError(f"tokens must be (B, N, D), got shape {tuple(self.tokens.shape)}")
        if self.padding_mask is not None:
            if self.padding_mask.dtype != torch.bool:
                raise TypeError(f"padding_mask must be bool (True = padding), got {self.padding_mask.dtype}")
            if self.padding_mask.shape != self.tokens.shape[:2]:
                raise ValueError(f"padding_mask must be {tuple(self.tokens.shape[:2])}, "
                                 f"got {tuple(self.padding_mask.shape)}")

    @property
    def content(self) -> torch.Tensor:
        """``(B, N - num_prefix, D)``: the tokens after the prefix."""
        return self.tokens[:, self.num_prefix:]

    def with_tokens(self, tokens: torch.Tensor, **changes) -> TokenBatch:
        return replace(self, tokens=tokens, **changes)

    def attend_mask(self) -> torch.Tensor | None:
        """SDPA's boolean mask ``(B, 1, 1, N)``, **True = attend** (the inverse of ``padding_mask``)."""
        return None if self.padding_mask is None else ~self.padding_mask[:, None, None, :]


@runtime_checkable
class Tokenizer(Protocol):
    """Turns a domain batch into a :class:`TokenBatch` of width ``dim``; owns the positional encoding.

    Domain packages implement it: image and spectrogram patches, 3D volume patches, feature tokens
    of table rows, node tokens of graphs. The trunk after it is position-agnostic.
    """

    dim: int
    modality: str

    def __call__(self, batch) -> TokenBatch: ...
