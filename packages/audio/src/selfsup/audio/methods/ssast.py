"""SSAST (Gong et al. 2022): joint discriminative and generative masked spectrogram patch modelling.
Masked patches are replaced by a mask token; for each one the encoder's output must (a) pick the true
patch among the sample's masked patches (InfoNCE, the core's masked-token cross-entropy over the
``(M, M)`` similarity) and (b) reconstruct it (MSE); loss = NCE + ``gen_weight`` * MSE."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.audio.encoders import spectrograms
from selfsup.audio.methods._masked import make_mask, patchify, require_transformer, with_mask_tokens
from selfsup.core.objectives import masked_token_cross_entropy


def _head(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, out))


class SSAST(nn.Module):
    """Args:
        encoder: :class:`SpectrogramTransformer` (patch or frame tokens).
        mask_ratio: share of tokens masked; ``mask``: ``"block"`` (SSAST's clustered masking) or ``"random"``.
        gen_weight: weight of the generative (MSE) term (SSAST: 10).
    """

    def __init__(self, encoder: nn.Module, *, mask_ratio: float = 0.5, mask: str = "block",
                 gen_weight: float = 10.0) -> None:
        super().__init__()
        self.encoder = require_transformer(encoder, "SSAST")
        dim, patch_dim = self.encoder.out_dim, self.encoder.tokenizer.patch_dim
        self.mask_token = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.discriminative, self.generative = _head(dim, patch_dim), _head(dim, patch_dim)
        self.mask_ratio, self.mask_kind, self.gen_weight = mask_ratio, mask, gen_weight

    def forward(self, batch) -> dict[str, torch.Tensor]:
        spec = spectrograms(batch)
        tok = self.encoder.tokenizer
        tokens = tok(spec)
        grid = tok.grid_of(spec)
        b, n = tokens.tokens.shape[:2]
        mask = make_mask(self.mask_kind, b, grid, self.mask_ratio).to(spec.device)
        if int(mask[0].sum()) < 2:
            raise ValueError(f"SSAST needs at least 2 masked tokens per clip, got {int(mask[0].sum())} of {n}")
        x = with_mask_tokens(tokens.tokens, mask, self.mask_token, tok.positions(grid))
        out = self.encoder.trunk(tokens.with_tokens(x)).content
        m = int(mask[0].sum())
        hidden = out[mask].view(b, m, -1)
        target = patchify(spec, tok.patch)[mask].view(b, m, -1).float()
        logits = self.discriminative(hidden).float() @ target.transpose(1, 2)  # (B, M, M)
        nce = masked_token_cross_entropy(logits, torch.arange(m, device=spec.device).expand(b, m))
        mse = F.mse_loss(self.generative(hidden).float(), target)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=-1) == torch.arange(m, device=spec.device)).float().mean()
        return {"loss": nce + self.gen_weight * mse, "nce": nce.detach(), "mse": mse.detach(),
                "nce_accuracy": accuracy}
