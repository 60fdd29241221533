"""T-JEPA (Thimonier et al. 2024): predict, in latent space, the feature tokens hidden from the context
encoder, with an EMA target encoder; register tokens regularise the trunk."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.objectives import latent_prediction, normalized_teacher_target
from selfsup.core.trunk import EMATeacher, LatentPredictor, TokenBatch, drop_masked, feature_subset_mask
from selfsup.tabular.encoders.ft_transformer import FTTransformer
from selfsup.tabular.preprocessing import TableBatch


class TJEPA(nn.Module):
    """Needs an :class:`FTTransformer` encoder. A random ``mask_ratio`` of the feature tokens is hidden
    from the context encoder; the predictor regresses the EMA target encoder's layer-normalised
    latents of those tokens at their feature positions."""

    def __init__(self, encoder: FTTransformer, mask_ratio: float = 0.5, predictor_dim: int = 64,
                 predictor_depth: int = 2) -> None:
        super().__init__()
        if not isinstance(encoder, FTTransformer):
            raise TypeError("T-JEPA predicts feature tokens: use the ft_transformer encoder")
        self.encoder, self.mask_ratio = encoder, mask_ratio
        self.teacher = EMATeacher(encoder)
        self.predictor = LatentPredictor(encoder.out_dim, dim=predictor_dim, depth=predictor_depth, heads=4)
        self.feature_positions = nn.Parameter(torch.randn(encoder.tokenizer.num_features, predictor_dim) * 0.02)

    def forward(self, batch: TableBatch) -> dict[str, torch.Tensor]:
        batch = TableBatch.of(batch)
        tokens = self.encoder.tokenizer(batch)
        b, n = tokens.tokens.shape[:2]
        if round(self.mask_ratio * n) < 1:
            raise ValueError(f"mask_ratio={self.mask_ratio} hides no feature of a {n}-feature table")
        mask = feature_subset_mask(b, n, self.mask_ratio).to(tokens.tokens.device)
        kept, _ = drop_masked(tokens.tokens, mask)
        context = self.encoder.trunk(TokenBatch(kept, modality=tokens.modality))
        hidden_ids = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, : int(mask[0].sum())]
        pred = self.predictor(context.tokens, self.feature_positions[hidden_ids])
        with torch.no_grad():
            teacher = self.teacher.module
            full = teacher.trunk(teacher.tokenizer(batch)).content
            hidden = torch.gather(full, 1, hidden_ids[..., None].expand(-1, -1, full.shape[2]))
            target = normalized_teacher_target(hidden)
        return {"loss": latent_prediction(pred, target)}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        self.teacher.update(self.encoder, momentum)
