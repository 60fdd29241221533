"""3D MAE on the core trunk: a 3D ViT encodes the visible cube patches, the core MAE decoder reconstructs the
masked ones (per-patch normalised voxels)."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.objectives import masked_reconstruction
from selfsup.core.trunk import MAEDecoder, mae_predict, random_mask, sincos_grid
from selfsup.medical.augment import random_crop
from selfsup.medical.encoders.vit3d import VisionTransformer3D, patchify3d
from selfsup.medical.methods._batch import batch_volumes


class MAE3D(nn.Module):
    """Args:
        encoder: :class:`VisionTransformer3D`; crops of its ``volume_size`` are taken from each volume.
        mask_ratio: share of cube patches hidden from the encoder (higher than images suits volumes).
        norm_pix: reconstruct per-patch standardised voxels (MAE's ``norm_pix_loss``). Off by default: in MR and CT
            the absolute intensity tells tissues apart, and per-patch standardisation removes it from the target
            (on the MNI152 pseudo-subjects it halved the frozen encoder's WM Dice).
    """

    def __init__(self, encoder: VisionTransformer3D, *, mask_ratio: float = 0.75, decoder_dim: int = 96,
                 decoder_depth: int = 2, decoder_heads: int = 4, norm_pix: bool = False) -> None:
        super().__init__()
        if not isinstance(encoder, VisionTransformer3D):
            raise TypeError(f"MAE3D needs a VisionTransformer3D encoder (patch tokens), got {type(encoder).__name__}")
        tok = encoder.tokenizer
        self.encoder, self.mask_ratio, self.norm_pix = encoder, mask_ratio, norm_pix
        self.decoder = MAEDecoder(encoder.out_dim, tok.patch_size ** 3 * tok.in_chans, decoder_dim, decoder_depth,
                                  decoder_heads)
        self.register_buffer("decoder_pos", sincos_grid(tok.grid, decoder_dim)[None], persistent=False)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        volumes = batch_volumes(batch)
        crops = random_crop(volumes, self.encoder.tokenizer.volume_size)
        tokens = self.encoder.tokenizer(crops)
        b, n = tokens.tokens.shape[:2]
        mask = random_mask(b, n, self.mask_ratio).to(crops.device)
        pred = mae_predict(tokens, mask, self.encoder.trunk, self.decoder, self.decoder_pos)
        target = patchify3d(crops, self.encoder.tokenizer.patch_size)
        return {"loss": masked_reconstruction(pred.float(), target, mask, normalize_target=self.norm_pix)}
