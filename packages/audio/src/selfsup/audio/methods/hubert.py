"""HuBERT-style masked prediction (Hsu et al. 2021), first iteration: k-means clusters of the input's
token features (log-mel patches or frames, like HuBERT's MFCC clusters) are the targets; masked tokens
are replaced by a mask embedding and the encoder predicts their clusters (the core's masked-token
cross-entropy)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from selfsup.audio.encoders import spectrograms
from selfsup.audio.methods._masked import make_mask, patchify, require_transformer, with_mask_tokens
from selfsup.core.objectives import masked_token_cross_entropy


class HuBERT(nn.Module):
    """Call :meth:`fit_targets` on (normalised) training spectrograms before training.

    Args:
        encoder: :class:`SpectrogramTransformer`.
        num_clusters: size of the k-means codebook (HuBERT's first iteration: 100).
        mask_ratio: share of the masked tokens.
        mask: kind of the masked tokens, ``"block"`` spans or ``"random"``.
    """

    def __init__(self, encoder: nn.Module, *, num_clusters: int = 100, mask_ratio: float = 0.5,
                 mask: str = "block") -> None:
        super().__init__()
        self.encoder = require_transformer(encoder, "HuBERT")
        dim = self.encoder.out_dim
        self.mask_token = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.head = nn.Linear(dim, num_clusters)
        self.register_buffer("codebook", torch.zeros(0, self.encoder.tokenizer.patch_dim))
        self.num_clusters, self.mask_ratio, self.mask_kind = num_clusters, mask_ratio, mask

    @torch.no_grad()
    def fit_targets(self, specs: torch.Tensor, *, max_tokens: int = 20000, seed: int = 0) -> HuBERT:
        """k-means (scikit-learn) on up to ``max_tokens`` token feature vectors of ``specs (N, F, T)``."""
        from sklearn.cluster import KMeans

        patches = patchify(spectrograms(specs).float().cpu(), self.encoder.tokenizer.patch).flatten(0, 1)
        if patches.shape[0] < self.num_clusters:
            raise ValueError(f"{patches.shape[0]} tokens cannot make {self.num_clusters} clusters")
        rng = np.random.default_rng(seed)
        pick = rng.choice(patches.shape[0], size=min(max_tokens, patches.shape[0]), replace=False)
        kmeans = KMeans(self.num_clusters, n_init=1, random_state=seed).fit(patches[pick].numpy())
        self.codebook = torch.as_tensor(kmeans.cluster_centers_, dtype=torch.float32,
                                        device=self.head.weight.device)
        return self

    def targets(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, N)`` cluster index of every token of ``spec (B, F, T)``."""
        if self.codebook.numel() == 0:
            raise RuntimeError("HuBERT has no cluster targets yet: call fit_targets(training spectrograms) first")
        patches = patchify(spec.float(), self.encoder.tokenizer.patch)
        return torch.cdist(patches, self.codebook.expand(spec.shape[0], -1, -1)).argmin(dim=-1)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        spec = spectrograms(batch)
        tok = self.encoder.tokenizer
        grid = tok.grid_of(spec)
        tokens = tok(spec)
        targets = self.targets(spec)
        mask = make_mask(self.mask_kind, spec.shape[0], grid, self.mask_ratio).to(spec.device)
        x = with_mask_tokens(tokens.tokens, mask, self.mask_token, tok.positions(grid))
        out = self.encoder.trunk(tokens.with_tokens(x)).content
        logits = self.head(out).float()
        loss = masked_token_cross_entropy(logits, targets, mask)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=-1) == targets)[mask].float().mean()
        return {"loss": loss, "masked_accuracy": accuracy}
