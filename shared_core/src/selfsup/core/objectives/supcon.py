"""Supervised contrastive loss (Khosla et al. 2020), the L_out form, over all views as anchors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check


def supcon(features: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1, *,
           gather: bool = False) -> torch.Tensor:
    """SupCon: every view is an anchor; positives are the other views with the same label.

    Args:
        features: ``(B, V, D)`` embeddings of V views per sample, or ``(B, D)`` for one view.
        labels: ``(B,)`` integer class labels.
        temperature: logits are ``cos / temperature``.
        gather: under DDP, anchors are contrasted with the views of all ranks (exact).

    Returns:
        Scalar: mean over anchors that have at least one positive of
        ``-mean_{p in P(i)} log(exp(s_ip / t) / sum_{a != i} exp(s_ia / t))``.
    """
    check.require_float("features", features, (2, 3))
    if features.dim() == 2:
        features = features.unsqueeze(1)
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels must have shape ({features.shape[0]},), got {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    check.require_positive("temperature", temperature)
    check.require_batch("supcon", features.shape[0] * features.shape[1], 2, gather,
                        "an anchor needs other views")
    check.require_finite(features=features)

    b, v, _ = features.shape
    gathering = gather and distributed.is_distributed()
    z = F.normalize(check.upcast(features), dim=2)
    anchors = z.transpose(0, 1).reshape(v * b, -1)          # view-major: (V*B, D)
    anchor_labels = labels.repeat(v)
    z_all = distributed.gather(z) if gathering else z       # (N, V, D)
    labels_all = distributed.gather(labels) if gathering else labels
    n = z_all.shape[0]
    contrast = z_all.transpose(0, 1).reshape(v * n, -1)     # (V*N, D)
    contrast_labels = labels_all.repeat(v)
    start = distributed.rank() * b if gathering else 0
    own = (torch.arange(v, device=z.device)[:, None] * n
           + torch.arange(b, device=z.device)[None, :] + start).reshape(-1)

    logits = anchors @ contrast.T / temperature             # (V*B, V*N)
    rows = torch.arange(v * b, device=z.device)
    logits[rows, own] = float("-inf")
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = anchor_labels[:, None] == contrast_labels[None, :]
    positive[rows, own] = False
    n_pos = positive.sum(dim=1)
    has_pos = n_pos > 0
    per_anchor = -(log_prob.masked_fill(~positive, 0.0).sum(dim=1)[has_pos] / n_pos[has_pos])
    # Normalise by the global number of anchors with positives so that the mean over ranks
    # (what DDP's gradient averaging computes) equals the full-batch mean.
    count = has_pos.sum().to(per_anchor.dtype)
    global_count = distributed.all_reduce_sum(count) if gathering else count
    if global_count.item() == 0:
        raise ValueError("supcon: no anchor has a positive (every label occurs once and V == 1)")
    scale = distributed.world_size() if gathering else 1
    return per_anchor.sum() * scale / global_count


class SupConLoss(nn.Module):
    """Module form of :func:`supcon`."""

    def __init__(self, temperature: float = 0.1, gather: bool = False) -> None:
        super().__init__()
        self.temperature, self.gather = temperature, gather

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return supcon(features, labels, self.temperature, gather=self.gather)
