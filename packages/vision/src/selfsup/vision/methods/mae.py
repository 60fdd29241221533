"""MAE (He et al. 2022) on images: a ViT encodes the visible 25% of patches, a light decoder
reconstructs the masked ones (per-patch normalised pixels)."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.objectives import masked_reconstruction
from selfsup.core.trunk import MAEDecoder, mae_predict, random_mask, sincos_grid
from selfsup.vision.augment import ImageAugment
from selfsup.vision.encoders import VisionTransformer
from selfsup.vision.methods._patches import patchify
from selfsup.vision.methods._views import batch_images


def _check_vit(encoder: nn.Module, method: str) -> None:
    if not isinstance(encoder, VisionTransformer):
        raise TypeError(f"{method} needs a VisionTransformer encoder (patch tokens), got {type(encoder).__name__}")


class MAE(nn.Module):
    """Args:
        encoder: :class:`VisionTransformer`.
        mask_ratio: share of patches hidden from the encoder.
        augment: default crop (scale 0.2-1) + flip only, as MAE.
        norm_pix: reconstruct per-patch standardised pixels (MAE's ``norm_pix_loss``).
    """

    def __init__(self, encoder: VisionTransformer, *, mask_ratio: float = 0.75, decoder_dim: int = 128,
                 decoder_depth: int = 2, decoder_heads: int = 4, norm_pix: bool = True,
                 augment: nn.Module | None = None, image_size: int | None = None) -> None:
        super().__init__()
        _check_vit(encoder, "MAE")
        tok = encoder.tokenizer
        self.encoder, self.mask_ratio, self.norm_pix = encoder, mask_ratio, norm_pix
        self.decoder = MAEDecoder(encoder.out_dim, tok.patch_size ** 2 * tok.in_chans, decoder_dim, decoder_depth,
                                  decoder_heads)
        self.register_buffer("decoder_pos", sincos_grid(tok.grid, decoder_dim)[None], persistent=False)
        self.augment = augment if augment is not None else ImageAugment(
            size=image_size or tok.image_size, scale=(0.2, 1.0), jitter_p=0.0, grayscale_p=0.0)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        images = self.augment(batch_images(batch))
        tokens = self.encoder.tokenizer(images)
        b, n = tokens.tokens.shape[:2]
        mask = random_mask(b, n, self.mask_ratio).to(images.device)
        pred = mae_predict(tokens, mask, self.encoder.trunk, self.decoder, self.decoder_pos)
        target = patchify(images, self.encoder.tokenizer.patch_size)
        return {"loss": masked_reconstruction(pred.float(), target, mask, normalize_target=self.norm_pix)}
