"""Mask generators over token grids (True = masked) and MAE-style dropping/restoring of masked tokens.

Every generator masks exactly ``round(ratio * N)`` tokens per sample, so the visible tokens of a
batch can be packed densely (:func:`drop_masked`) and put back (:func:`restore_masked`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def _check_ratio(ratio: float) -> None:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must lie in [0, 1), got {ratio}")


def _exactly(mask: torch.Tensor, target: int, generator: torch.Generator | None) -> torch.Tensor:
    """Flip random tokens so that every row of ``mask (B, N)`` has exactly ``target`` True entries."""
    noise = torch.rand(mask.shape, generator=generator)
    # rank tokens: masked ones first (in random order), then the others (in random order)
    order = torch.argsort(noise - 2.0 * mask.float(), dim=1)
    out = torch.zeros_like(mask)
    out.scatter_(1, order[:, :target], True)
    return out


def random_mask(batch: int, num_tokens: int, ratio: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, N)``: a uniformly random subset of ``round(ratio * N)`` tokens per sample (MAE)."""
    _check_ratio(ratio)
    noise = torch.rand(batch, num_tokens, generator=generator)
    target = round(ratio * num_tokens)
    return noise.argsort(dim=1).argsort(dim=1) < target


def feature_subset_mask(batch: int, num_features: int, ratio: float, *, per_sample: bool = True,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, F)``: a random subset of a table row's features (SCARF/VIME corruption); the same subset
    for the whole batch when ``per_sample=False``."""
    if per_sample:
        return random_mask(batch, num_features, ratio, generator=generator)
    return random_mask(1, num_features, ratio, generator=generator).expand(batch, -1).clone()


def block_mask(batch: int, grid: Sequence[int], ratio: float, *, min_block: int = 4, max_aspect: float = 3.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, H*W)``: BEiT's blockwise masking on an ``(H, W)`` grid: rectangles of random area and
    aspect ratio until the target count, then trimmed/filled to exactly ``round(ratio * H * W)``."""
    _check_ratio(ratio)
    if len(grid) != 2:
        raise ValueError(f"block_mask needs a 2D grid (H, W), got {tuple(grid)}")
    h, w = grid
    target = round(ratio * h * w)
    masks = torch.zeros(batch, h, w, dtype=torch.bool)
    log_aspect = (math.log(1 / max_aspect), math.log(max_aspect))
    for b in range(batch):
        tries = 0
        while int(masks[b].sum()) < target and tries < 100:
            tries += 1
            remaining = target - int(masks[b].sum())
            area = float(torch.empty(1).uniform_(min(min_block, remaining), max(min_block, remaining),
                                                 generator=generator))
            aspect = math.exp(float(torch.empty(1).uniform_(*log_aspect, generator=generator)))
            bh = max(1, min(h, round(math.sqrt(area * aspect))))
            bw = max(1, min(w, round(math.sqrt(area / aspect))))
            top = int(torch.randint(0, h - bh + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - bw + 1, (1,), generator=generator))
            masks[b, top : top + bh, left : left + bw] = True
    return _exactly(masks.reshape(batch, -1), target, generator)


def inverse_block_mask(batch: int, grid: Sequence[int], ratio: float, *, min_block: int = 4,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, H*W)``: data2vec 2.0 / EAT inverse blocks: the *visible* tokens form blocks covering
    ``1 - ratio`` of the grid; everything else is masked."""
    _check_ratio(ratio)
    if ratio == 0:
        return torch.zeros(batch, int(math.prod(grid)), dtype=torch.bool)
    visible = block_mask(batch, grid, 1.0 - ratio, min_block=min_block, generator=generator)
    return _exactly(~visible, round(ratio * math.prod(grid)), generator)


def tube_mask(batch: int, grid: Sequence[int], ratio: float, *, shared_axes: Sequence[int] = (0,),
              generator: torch.Generator | None = None) -> torch.Tensor:
    """``(B, prod(grid))``: a random mask over the other axes, repeated along ``shared_axes``.

    Video ``(T, H, W)`` with ``shared_axes=(0,)``: the same spatial patches masked in every frame
    (VideoMAE tubes). Spectrogram ``(T, F)`` with ``shared_axes=(1,)``: whole time steps masked.
    """
    _check_ratio(ratio)
    free = [a for a in range(len(grid)) if a not in shared_axes]
    if not free or any(a >= len(grid) for a in shared_axes):
        raise ValueError(f"shared_axes {tuple(shared_axes)} must be a proper subset of the axes of {tuple(grid)}")
    free_shape = [grid[a] for a in free]
    base = random_mask(batch, int(math.prod(free_shape)), ratio, generator=generator).reshape(batch, *free_shape)
    view = [batch] + [grid[a] if a in free else 1 for a in range(len(grid))]
    return base.reshape(view).expand(batch, *grid).reshape(batch, -1).clone()


def drop_masked(tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the visible tokens of ``tokens (B, N, D)``: ``(kept (B, N_keep, D), ids_restore (B, N))``.

    Every row of ``mask`` must hide the same number of tokens (all generators here do).
    """
    if mask.shape != tokens.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor of shape {tuple(tokens.shape[:2])}, got "
                         f"{mask.dtype} {tuple(mask.shape)}")
    counts = mask.sum(dim=1)
    if bool((counts != counts[0]).any()):
        raise ValueError(f"every sample must mask the same number of tokens to drop them, got {counts.tolist()}")
    ids_shuffle = torch.argsort(mask.to(torch.int8), dim=1, stable=True)  # visible first, original order
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    n_keep = mask.shape[1] - int(counts[0])
    kept = torch.gather(tokens, 1, ids_shuffle[:, :n_keep, None].expand(-1, -1, tokens.shape[2]))
    return kept, ids_restore


def restore_masked(kept: torch.Tensor, ids_restore: torch.Tensor, mask_token: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`drop_masked`: ``(B, N, D)`` with ``mask_token (D,)`` at the masked places."""
    b, n = ids_restore.shape
    fill = mask_token.reshape(1, 1, -1).to(kept.dtype).expand(b, n - kept.shape[1], -1)
    full = torch.cat([kept, fill], dim=1)
    return torch.gather(full, 1, ids_restore[..., None].expand(-1, -1, kept.shape[2]))


def gather_tokens(tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``(B, K, D)``: the tokens of ``tokens (B, N, D)`` at ``index (B, K)`` (kept or target tokens)."""
    return torch.gather(tokens, 1, index[..., None].expand(-1, -1, tokens.shape[-1]))
