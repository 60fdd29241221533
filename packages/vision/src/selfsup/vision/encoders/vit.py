"""Vision Transformer on the core trunk: a patch tokenizer (Conv2d + fixed 2D sin-cos positions)."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.trunk import TokenBatch, Trunk, TrunkOutput, gather_tokens, interpolate_grid, sincos_grid

VIT_SIZES = {"mini": (128, 4, 4), "tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12)}


class PatchTokenizer(nn.Module):
    """``images (B, C, H, W) -> TokenBatch`` of ``(H/p)*(W/p)`` patch tokens with positions added.

    Images of another size than ``image_size`` (DINO's local crops) get the position table
    interpolated to their grid. ``positions(grid)`` gives the table, e.g. for an MAE decoder.
    """

    modality = "image"

    def __init__(self, image_size: int = 32, patch_size: int = 4, in_chans: int = 3, dim: int = 192) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} must be a multiple of patch_size {patch_size}")
        self.image_size, self.patch_size, self.in_chans, self.dim = image_size, patch_size, in_chans, dim
        self.grid = (image_size // patch_size, image_size // patch_size)
        self.proj = nn.Conv2d(in_chans, dim, patch_size, patch_size)
        nn.init.xavier_uniform_(self.proj.weight.view(dim, -1))
        self.register_buffer("pos_embed", sincos_grid(self.grid, dim)[None], persistent=False)

    def grid_of(self, images: torch.Tensor) -> tuple[int, int]:
        h, w = images.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {self.patch_size}")
        return h // self.patch_size, w // self.patch_size

    def positions(self, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """``(1, N, dim)`` positional table for ``grid`` (default: the training grid)."""
        grid = tuple(grid or self.grid)
        if grid == self.grid:
            return self.pos_embed
        return interpolate_grid(self.pos_embed[0], self.grid, grid)[None]

    def forward(self, images: torch.Tensor) -> TokenBatch:
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(f"expected (B, {self.in_chans}, H, W) images, got {tuple(images.shape)}")
        grid = self.grid_of(images)
        tokens = self.proj(images).flatten(2).transpose(1, 2)
        return TokenBatch(tokens + self.positions(grid).to(tokens.dtype), modality=self.modality)


class VisionTransformer(nn.Module):
    """ViT encoder: :class:`PatchTokenizer` + core :class:`Trunk`. ``forward`` gives pooled ``(B, dim)``.

    Args:
        size: ``mini`` (128 wide, 4 blocks, for CPU), ``tiny``, ``small`` or ``base``.
        pool: ``"cls"`` (the CLS token) or ``"mean"`` (mean of the patch tokens, MAE's choice for probes).
    """

    def __init__(self, size: str = "tiny", *, image_size: int = 32, patch_size: int = 4, in_chans: int = 3,
                 pool: str = "cls", **trunk_kwargs) -> None:
        super().__init__()
        if size not in VIT_SIZES:
            raise ValueError(f"size must be one of {sorted(VIT_SIZES)}, got {size!r}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {pool!r}")
        dim, depth, heads = VIT_SIZES[size]
        self.tokenizer = PatchTokenizer(image_size, patch_size, in_chans, dim)
        self.trunk = Trunk(dim=dim, depth=depth, heads=heads, **trunk_kwargs)
        self.pool, self.out_dim = pool, dim

    def forward_tokens(self, images: torch.Tensor, keep: torch.Tensor | None = None) -> TrunkOutput:
        """Trunk output on all patches, or only on those at ``keep (B, N_keep)`` indices (masked modelling)."""
        tokens = self.tokenizer(images)
        if keep is not None:
            tokens = tokens.with_tokens(gather_tokens(tokens.tokens, keep))
        return self.trunk(tokens)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        out = self.forward_tokens(images)
        return out.cls if self.pool == "cls" else out.mean_pool()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images)
