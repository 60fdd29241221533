"""Dataset normalisation of spectrograms, AST's convention: ``(x - mean) / (2 * std)`` with one mean and
one std computed on the training set (``ASTFeatureExtractor`` applies the same formula)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpectrogramStats:
    """Mean and standard deviation of a training set's spectrograms: AST's ``(x - mean) / (2 std)``."""
    mean: float
    std: float

    @classmethod
    def fit(cls, specs: torch.Tensor, lengths: torch.Tensor | None = None) -> SpectrogramStats:
        """From training spectrograms ``(N, F, T)``; ``lengths (N,)`` frames of real signal (padding skipped)."""
        if specs.dim() != 3 or specs.shape[0] == 0:
            raise ValueError(f"need (N, F, T) training spectrograms, got {tuple(specs.shape)}")
        x = specs.float()
        if lengths is not None:
            keep = torch.arange(x.shape[-1])[None, :] < lengths[:, None]
            x = x.transpose(1, 2)[keep]
        std = float(x.std())
        if not std > 0:
            raise ValueError("training spectrograms are constant: cannot normalise")
        return cls(float(x.mean()), std)

    def __call__(self, spec: torch.Tensor) -> torch.Tensor:
        return (spec - self.mean) / (2 * self.std)
