"""FT-Transformer (Gorishniy et al. 2021) on the core trunk: one token per feature."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from selfsup.core.trunk import TokenBatch, Trunk
from selfsup.tabular.preprocessing import TableBatch


class FeatureTokenizer(nn.Module):
    """``TableBatch -> TokenBatch (B, Fn + Fc, dim)``: numeric ``x_j * w_j + b_j``, categorical
    ``E_j[code] + b_j``. The per-feature bias is the feature's identity (its "position")."""

    modality = "table"

    def __init__(self, num_numeric: int, cardinalities: Sequence[int], dim: int) -> None:
        super().__init__()
        self.dim, self.num_numeric, self.cardinalities = dim, num_numeric, list(cardinalities)
        self.weight = nn.Parameter(torch.randn(num_numeric, dim) * 0.02)
        self.bias = nn.Parameter(torch.randn(num_numeric + len(self.cardinalities), dim) * 0.02)
        self.embeddings = nn.ModuleList(nn.Embedding(c, dim) for c in self.cardinalities)
        for emb in self.embeddings:
            nn.init.normal_(emb.weight, std=0.02)

    @property
    def num_features(self) -> int:
        return self.num_numeric + len(self.cardinalities)

    def forward(self, batch: TableBatch) -> TokenBatch:
        numeric = batch.numeric[:, :, None] * self.weight[None]
        categorical = [emb(batch.categorical[:, j]) for j, emb in enumerate(self.embeddings)]
        tokens = torch.cat([numeric, *[c[:, None] for c in categorical]], dim=1) + self.bias[None]
        return TokenBatch(tokens, modality=self.modality)


class FTTransformer(nn.Module):
    """Feature tokenizer + core :class:`Trunk` (CLS token, optional register tokens); output ``(B, dim)``:
    the CLS feature (``pool="cls"``) or the mean of the feature tokens (``pool="mean"``). ``mlp_ratio`` 2
    is FT-Transformer's narrow feed-forward; 4 matches the image and audio trunks (cross-modal transfer)."""

    def __init__(self, num_numeric: int, cardinalities: Sequence[int], dim: int = 64, depth: int = 3,
                 heads: int = 4, num_registers: int = 0, pool: str = "cls", mlp_ratio: float = 2.0) -> None:
        super().__init__()
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {pool!r}")
        self.pool = pool
        self.tokenizer = FeatureTokenizer(num_numeric, cardinalities, dim)
        self.trunk = Trunk(dim=dim, depth=depth, heads=heads, mlp_ratio=mlp_ratio, num_registers=num_registers,
                           modalities=["table"])
        self.out_dim = dim

    def forward(self, numeric: TableBatch | torch.Tensor, categorical: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, dim)`` of a :class:`TableBatch`, or of its two tensors ``numeric (B, Fn)`` and
        ``categorical (B, Fc)`` (the inputs of an ONNX export)."""
        batch = TableBatch.of(numeric) if categorical is None else TableBatch(numeric, categorical)
        out = self.trunk(self.tokenizer(batch))
        return out.cls if self.pool == "cls" else out.mean_pool()
