"""Spectrogram Transformer on the core trunk (AST/SSAST): patch (16x16) or frame (all bins x 2 frames)
tokens with fixed 2D sin-cos positions; a CLS token and one more prefix token (AST's distillation slot),
so that the model maps one-to-one onto ``transformers``' ``ASTModel``."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.trunk import TokenBatch, Trunk, TrunkOutput, gather_tokens, interpolate_grid, sincos_grid

AUDIO_VIT_SIZES = {"mini": (128, 4, 4), "tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12)}


def spectrograms(batch) -> torch.Tensor:
    """The ``(B, F, T)`` float spectrograms of a batch (a tensor or ``{"spec": ...}``)."""
    spec = batch["spec"] if isinstance(batch, dict) else batch
    if not isinstance(spec, torch.Tensor) or spec.dim() != 3 or not spec.is_floating_point():
        got = tuple(spec.shape) if isinstance(spec, torch.Tensor) else type(spec).__name__
        raise ValueError(f"expected float spectrograms (B, F, T), got {got}")
    return spec


class SpectrogramTokenizer(nn.Module):
    """``(B, F, T) -> TokenBatch`` of ``(F/pf) * (T/pt)`` tokens in frequency-major order (AST's), with
    positions added; other lengths than ``frames`` get the position table interpolated.

    Args:
        patch: ``(pf, pt)``: ``(16, 16)`` patches or ``(num_mel_bins, 2)`` frames (SSAST's two kinds).
    """

    modality = "audio"

    def __init__(self, num_mel_bins: int = 128, frames: int = 96, patch: tuple[int, int] = (16, 16),
                 dim: int = 192) -> None:
        super().__init__()
        pf, pt = patch
        if num_mel_bins % pf or frames % pt:
            raise ValueError(f"spectrogram {num_mel_bins}x{frames} is not a multiple of the patch {pf}x{pt}")
        self.num_mel_bins, self.frames, self.patch, self.dim = num_mel_bins, frames, (pf, pt), dim
        self.grid = (num_mel_bins // pf, frames // pt)
        self.proj = nn.Conv2d(1, dim, self.patch, self.patch)
        nn.init.xavier_uniform_(self.proj.weight.view(dim, -1))
        self.register_buffer("pos_embed", sincos_grid(self.grid, dim)[None], persistent=False)

    @property
    def patch_dim(self) -> int:
        return self.patch[0] * self.patch[1]

    def grid_of(self, spec: torch.Tensor) -> tuple[int, int]:
        f, t = spec.shape[-2:]
        if f != self.num_mel_bins or t % self.patch[1]:
            raise ValueError(f"spectrogram {f}x{t}: needs {self.num_mel_bins} bins and a multiple of "
                             f"{self.patch[1]} frames")
        return f // self.patch[0], t // self.patch[1]

    def positions(self, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """``(1, N, dim)`` positional table (default: the training grid)."""
        grid = tuple(grid or self.grid)
        return self.pos_embed if grid == self.grid else interpolate_grid(self.pos_embed[0], self.grid, grid)[None]

    def forward(self, spec: torch.Tensor) -> TokenBatch:
        grid = self.grid_of(spectrograms(spec))
        tokens = self.proj(spec[:, None]).flatten(2).transpose(1, 2)
        return TokenBatch(tokens + self.positions(grid).to(tokens.dtype), modality=self.modality)


class SpectrogramTransformer(nn.Module):
    """Tokenizer + core :class:`Trunk`; ``forward((B, F, T)) -> (B, dim)`` pooled features.

    Args:
        size: ``mini`` (128 wide, 4 blocks, for CPU), ``tiny``, ``small`` or ``base``.
        tokens: ``"patch"`` (16x16) or ``"frame"`` (``num_mel_bins`` x 2).
        pool: ``"mean"`` of the content tokens or ``"cls"``.
    """

    def __init__(self, size: str = "tiny", *, num_mel_bins: int = 128, frames: int = 96, tokens: str = "patch",
                 pool: str = "mean") -> None:
        super().__init__()
        if size not in AUDIO_VIT_SIZES:
            raise ValueError(f"size must be one of {sorted(AUDIO_VIT_SIZES)}, got {size!r}")
        if tokens not in ("patch", "frame"):
            raise ValueError(f"tokens must be 'patch' or 'frame', got {tokens!r}")
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
        dim, depth, heads = AUDIO_VIT_SIZES[size]
        patch = (16, 16) if tokens == "patch" else (num_mel_bins, 2)
        self.tokenizer = SpectrogramTokenizer(num_mel_bins, frames, patch, dim)
        self.trunk = Trunk(dim=dim, depth=depth, heads=heads, cls_token=True, num_registers=1)
        self.size, self.tokens, self.pool, self.out_dim = size, tokens, pool, dim

    def forward_tokens(self, spec: torch.Tensor, keep: torch.Tensor | None = None, *,
                       return_layers: bool = False) -> TrunkOutput:
        """Trunk output on all tokens, or only on those at ``keep (B, N_keep)`` indices."""
        batch = self.tokenizer(spec)
        if keep is not None:
            batch = batch.with_tokens(gather_tokens(batch.tokens, keep))
        return self.trunk(batch, return_layers=return_layers)

    def forward(self, spec) -> torch.Tensor:
        out = self.forward_tokens(spectrograms(spec))
        return out.cls if self.pool == "cls" else out.mean_pool()
