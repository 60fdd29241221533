"""Vectorised corruptions of table batches: marginal resampling, masking, feature-subset views.

Masks are ``(B, Fn + Fc)`` booleans over all columns of a :class:`TableBatch` (numeric first).
"""

from __future__ import annotations

import torch

from selfsup.tabular.preprocessing import MISSING, TableBatch


def _split(batch: TableBatch, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    expected = (len(batch), batch.numeric.shape[1] + batch.categorical.shape[1])
    if mask.shape != expected or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor of shape {expected}, got {mask.dtype} {tuple(mask.shape)}")
    fn = batch.numeric.shape[1]
    return mask[:, :fn], mask[:, fn:]


def marginal_resample(batch: TableBatch, mask: torch.Tensor, generator: torch.Generator | None = None) -> TableBatch:
    """Replace each masked entry by the same column's value in a uniformly drawn row: a draw from the
    column's empirical marginal (SCARF, VIME)."""
    mask_num, mask_cat = _split(batch, mask)
    b = len(batch)
    rows_num = torch.randint(0, b, batch.numeric.shape, generator=generator, device=batch.numeric.device)
    rows_cat = torch.randint(0, b, batch.categorical.shape, generator=generator, device=batch.numeric.device)
    donors_num = torch.gather(batch.numeric, 0, rows_num)
    donors_cat = torch.gather(batch.categorical, 0, rows_cat)
    return TableBatch(torch.where(mask_num, donors_num, batch.numeric),
                      torch.where(mask_cat, donors_cat, batch.categorical))


def mask_values(batch: TableBatch, mask: torch.Tensor) -> TableBatch:
    """Masked numeric entries become 0 (the scaled median), masked categorical ones the missing code."""
    mask_num, mask_cat = _split(batch, mask)
    return TableBatch(batch.numeric.masked_fill(mask_num, 0.0), batch.categorical.masked_fill(mask_cat, MISSING))


def feature_subsets(num_features: int, num_subsets: int, overlap: float = 0.25) -> list[torch.Tensor]:
    """SubTab's column subsets: ``num_subsets`` contiguous blocks of the columns, each extended by
    ``overlap`` of a block into its neighbours. Returns boolean column masks (True = kept)."""
    if not 1 <= num_subsets <= num_features:
        raise ValueError(f"num_subsets must lie in [1, {num_features}], got {num_subsets}")
    size = num_features / num_subsets
    extra = round(overlap * size)
    subsets = []
    for k in range(num_subsets):
        start, stop = max(0, round(k * size) - extra), min(num_features, round((k + 1) * size) + extra)
        keep = torch.zeros(num_features, dtype=torch.bool)
        keep[start:stop] = True
        subsets.append(keep)
    return subsets
