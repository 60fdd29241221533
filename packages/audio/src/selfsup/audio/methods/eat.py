"""data2vec 2.0 / EAT (Baevski et al. 2023; Chen et al. 2024): the student encodes only the visible
inverse blocks of several masked copies of each clip, a light decoder predicts the EMA teacher's
averaged, instance-normalised layer outputs at the masked tokens, and the student's CLS token predicts
the clip's mean target (EAT's utterance loss)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.audio.encoders import spectrograms
from selfsup.audio.methods._masked import make_mask, require_transformer
from selfsup.core.objectives import latent_prediction, normalized_teacher_target
from selfsup.core.trunk import EMATeacher, MAEDecoder, drop_masked, sincos_grid


class EAT(nn.Module):
    """Args:
        encoder: :class:`SpectrogramTransformer` (the teacher is its EMA copy).
        mask_ratio: share of tokens masked in each copy; ``num_clones`` copies share one teacher pass.
        top_k: teacher layers averaged into the target (default: all).
        utterance_weight: weight of the CLS-to-mean-target loss (0 = data2vec 2.0 without it).
    """

    def __init__(self, encoder: nn.Module, *, mask_ratio: float = 0.75, num_clones: int = 4, top_k: int | None = None,
                 mask: str = "inverse_block", decoder_dim: int = 128, decoder_depth: int = 2, decoder_heads: int = 4,
                 utterance_weight: float = 1.0) -> None:
        super().__init__()
        self.encoder = require_transformer(encoder, "EAT")
        tok = self.encoder.tokenizer
        depth = len(self.encoder.trunk.blocks)
        self.top_k = depth if top_k is None else top_k
        if not 1 <= self.top_k <= depth:
            raise ValueError(f"top_k must lie in [1, {depth}], got {top_k}")
        self.teacher = EMATeacher(self.encoder)
        self.decoder = MAEDecoder(self.encoder.out_dim, self.encoder.out_dim, decoder_dim, decoder_depth,
                                  decoder_heads)
        self.register_buffer("decoder_pos", sincos_grid(tok.grid, decoder_dim)[None], persistent=False)
        self.mask_ratio, self.num_clones, self.mask_kind = mask_ratio, num_clones, mask
        self.utterance_weight = utterance_weight

    def forward(self, batch) -> dict[str, torch.Tensor]:
        spec = spectrograms(batch)
        tok, trunk = self.encoder.tokenizer, self.encoder.trunk
        if tok.grid_of(spec) != tok.grid:
            raise ValueError(f"EAT trains on {tok.frames}-frame clips, got {spec.shape[-1]} frames")
        with torch.no_grad():
            out = self.teacher.module.forward_tokens(spec, return_layers=range(len(trunk.blocks)))
            layers = [layer[:, out.num_prefix:] for layer in out.layers[-self.top_k:]]
            target = normalized_teacher_target(layers, norm="instance")  # (B, N, D)
        tokens = tok(spec)
        c, b = self.num_clones, spec.shape[0]
        mask = make_mask(self.mask_kind, c * b, tok.grid, self.mask_ratio).to(spec.device)
        kept, ids_restore = drop_masked(tokens.tokens.repeat(c, 1, 1), mask)
        latent = trunk(tokens.with_tokens(kept))
        pred = self.decoder(latent.tokens, ids_restore, self.decoder_pos.to(latent.tokens.dtype), latent.num_prefix)
        frame_loss = latent_prediction(pred.float(), target.repeat(c, 1, 1), mask, loss="mse")
        logs = {"frame_loss": frame_loss.detach()}
        loss = frame_loss
        if self.utterance_weight:
            utterance = F.mse_loss(latent.cls.float(), target.mean(dim=1).repeat(c, 1))
            loss = loss + self.utterance_weight * utterance
            logs["utterance_loss"] = utterance.detach()
        return {"loss": loss, **logs}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        self.teacher.update(self.encoder, momentum)
