"""Audio-MAE (Huang et al. 2022): the encoder sees 20% of the spectrogram patches, a light decoder
reconstructs the others (per-patch normalised log-mel values)."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.audio.encoders import spectrograms
from selfsup.audio.methods._masked import make_mask, patchify, require_transformer
from selfsup.core.objectives import masked_reconstruction
from selfsup.core.trunk import MAEDecoder, mae_predict, sincos_grid


class AudioMAE(nn.Module):
    """Args:
        encoder: :class:`SpectrogramTransformer`.
        mask_ratio: share of patches hidden from the encoder (Audio-MAE: 0.8).
        norm_pix: reconstruct per-patch standardised values (MAE's ``norm_pix_loss``).
    """

    def __init__(self, encoder: nn.Module, *, mask_ratio: float = 0.8, mask: str = "random",
                 decoder_dim: int = 128, decoder_depth: int = 2, decoder_heads: int = 4,
                 norm_pix: bool = True) -> None:
        super().__init__()
        self.encoder = require_transformer(encoder, "Audio-MAE")
        tok = self.encoder.tokenizer
        self.decoder = MAEDecoder(self.encoder.out_dim, tok.patch_dim, decoder_dim, decoder_depth, decoder_heads)
        self.register_buffer("decoder_pos", sincos_grid(tok.grid, decoder_dim)[None], persistent=False)
        self.mask_ratio, self.mask_kind, self.norm_pix = mask_ratio, mask, norm_pix

    def forward(self, batch) -> dict[str, torch.Tensor]:
        spec = spectrograms(batch)
        tok = self.encoder.tokenizer
        if tok.grid_of(spec) != tok.grid:
            raise ValueError(f"Audio-MAE trains on {tok.frames}-frame clips, got {spec.shape[-1]} frames")
        tokens = tok(spec)
        b = tokens.tokens.shape[0]
        mask = make_mask(self.mask_kind, b, tok.grid, self.mask_ratio).to(spec.device)
        pred = mae_predict(tokens, mask, self.encoder.trunk, self.decoder, self.decoder_pos)
        loss = masked_reconstruction(pred.float(), patchify(spec, tok.patch).float(), mask,
                                     normalize_target=self.norm_pix)
        return {"loss": loss}
