"""Fused kernels for the heavy objectives, with the objectives' signatures and values.

Dispatch (``backend="auto"``): Triton on CUDA tensors with at least ``TRITON_MIN_LOGITS`` logits, a
memory-lean chunked PyTorch path otherwise (what CPU users get); the plain objectives in
:mod:`selfsup.core.objectives` are the reference. Kernels are checked on CPU under ``TRITON_INTERPRET=1``
with fp32 operands.
"""

from selfsup.core.kernels.contrastive_lse import TRITON_MIN_LOGITS, contrastive_lse, resolve_backend, triton_available
from selfsup.core.kernels.info_nce import info_nce, nt_xent, unit_pair
from selfsup.core.kernels.prototype_cross_entropy import linear_cross_entropy, prototype_cross_entropy
from selfsup.core.kernels.self_lse import self_contrastive_lse

__all__ = [
    "TRITON_MIN_LOGITS", "contrastive_lse", "info_nce", "linear_cross_entropy", "nt_xent", "prototype_cross_entropy",
    "resolve_backend", "self_contrastive_lse", "triton_available", "unit_pair",
]
