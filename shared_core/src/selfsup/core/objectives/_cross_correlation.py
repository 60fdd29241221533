"""``||A^T B||_F^2`` through whichever product is cheaper: the D x D correlation or the N x N Grams.

For ``A, B (N, D)``: ``||A^T B||_F^2 = <A A^T, B B^T>_F``. The correlation costs ``N * D^2``
multiply-adds, the two Grams ``2 * N^2 * D``: when the batch is small next to the dimension
(Barlow Twins' 8192-d projector with a batch of 256), the Grams win.
"""

from __future__ import annotations

import torch


def uses_gram(n: int, d: int) -> bool:
    """True when the N x N Gram route is cheaper than the D x D correlation."""
    return 2 * n < d


def frobenius_sq_of_cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a.T @ b||_F^2`` for ``a, b (N, D)``, without forming ``D x D`` when ``2N < D``."""
    if uses_gram(a.shape[0], a.shape[1]):
        gram_b = gram_a = a @ a.T
        if b is not a:
            gram_b = b @ b.T
        return (gram_a * gram_b).sum()
    return (a.T @ b).pow(2).sum()
