"""I-JEPA (Assran et al. 2023) on images: from the visible context, predict the EMA teacher's latents of
masked blocks of patches — no pixel targets, no hand-made views."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core.objectives import latent_prediction
from selfsup.core.trunk import EMATeacher, LatentPredictor, block_mask, gather_tokens, sincos_grid
from selfsup.vision.augment import ImageAugment
from selfsup.vision.encoders import VisionTransformer
from selfsup.vision.methods._patches import masked_indices
from selfsup.vision.methods._views import batch_images
from selfsup.vision.methods.mae import _check_vit


class IJEPA(nn.Module):
    """Args:
        encoder: :class:`VisionTransformer` (student/context encoder; the teacher is its EMA copy).
        target_ratio: share of patches in the target blocks (BEiT-style rectangles from the core's
            :func:`block_mask`); the context is every other patch.
        loss: ``"smooth_l1"`` (I-JEPA) or ``"mse"``, on layer-normalised teacher outputs.
    """

    def __init__(self, encoder: VisionTransformer, *, target_ratio: float = 0.5, predictor_dim: int = 128,
                 predictor_depth: int = 3, predictor_heads: int = 4, loss: str = "smooth_l1",
                 augment: nn.Module | None = None, image_size: int | None = None) -> None:
        super().__init__()
        _check_vit(encoder, "I-JEPA")
        tok = encoder.tokenizer
        self.encoder, self.target_ratio, self.loss = encoder, target_ratio, loss
        self.teacher = EMATeacher(encoder)
        self.predictor = LatentPredictor(encoder.out_dim, predictor_dim, predictor_depth, predictor_heads)
        self.register_buffer("predictor_pos", sincos_grid(tok.grid, predictor_dim)[None], persistent=False)
        self.augment = augment if augment is not None else ImageAugment(
            size=image_size or tok.image_size, scale=(0.3, 1.0), jitter_p=0.0, grayscale_p=0.0)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        images = self.augment(batch_images(batch))
        tok = self.encoder.tokenizer
        b = images.shape[0]
        mask = block_mask(b, tok.grid, self.target_ratio).to(images.device)
        visible, targets = masked_indices(mask)
        context = self.encoder.forward_tokens(images, keep=visible)
        with torch.no_grad():
            teacher = self.teacher.module.forward_tokens(images).content
            target = gather_tokens(F.layer_norm(teacher.float(), teacher.shape[-1:]), targets)
        positions = gather_tokens(self.predictor_pos.expand(b, -1, -1), targets)
        pred = self.predictor(context.tokens, positions.to(context.tokens.dtype))
        return {"loss": latent_prediction(pred.float(), target, loss=self.loss)}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        self.teacher.update(self.encoder, momentum)
