"""Heads that work on any tokenizer's tokens: the MAE decoder, the JEPA/data2vec predictor, and an
EMA teacher wrapper."""

from __future__ import annotations

import copy

import torch
from torch import nn

from selfsup.core.trunk.masking import drop_masked, restore_masked
from selfsup.core.trunk.tokens import TokenBatch
from selfsup.core.trunk.trunk import Block, Trunk


class MAEDecoder(nn.Module):
    """Lightweight decoder of MAE: visible latents + mask tokens -> per-token predictions.

    ``forward(latent, ids_restore, positions, num_prefix)``: ``latent (B, P + N_keep, in_dim)`` is the
    trunk output on the visible tokens (with ``P`` prefix tokens), ``ids_restore (B, N)`` comes from
    :func:`drop_masked`, ``positions (1|B, N, dim)`` is the tokenizer's positional table in the
    decoder's width. Returns ``(B, N, out_dim)``.
    """

    def __init__(self, in_dim: int, out_dim: int, dim: int = 128, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pred = nn.Linear(dim, out_dim)
        self.dim = dim

    def forward(self, latent: torch.Tensor, ids_restore: torch.Tensor, positions: torch.Tensor | None = None,
                num_prefix: int = 0) -> torch.Tensor:
        x = self.embed(latent)
        prefix, content = x[:, :num_prefix], x[:, num_prefix:]
        full = restore_masked(content, ids_restore, self.mask_token)
        if positions is not None:
            if positions.shape[-2:] != full.shape[-2:]:
                raise ValueError(f"positions must be (1|B, {full.shape[1]}, {self.dim}), got {tuple(positions.shape)}")
            full = full + positions
        x = torch.cat([prefix, full], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.pred(self.norm(x))[:, num_prefix:]


def mae_predict(tokens: TokenBatch, mask: torch.Tensor, trunk: Trunk, decoder: MAEDecoder,
                positions: torch.Tensor | None) -> torch.Tensor:
    """MAE's forward on any tokenizer's output: ``trunk`` encodes the tokens that ``mask (B, N)`` (True =
    masked) leaves visible, ``decoder`` predicts every token from them and its ``positions (1|B, N, dim)``.
    Returns ``(B, N, decoder out_dim)``, for :func:`~selfsup.core.objectives.masked_reconstruction`."""
    kept, ids_restore = drop_masked(tokens.tokens, mask)
    latent = trunk(tokens.with_tokens(kept))
    pos = None if positions is None else positions.to(latent.tokens.dtype)
    return decoder(latent.tokens, ids_restore, pos, latent.num_prefix)


class LatentPredictor(nn.Module):
    """I-JEPA / data2vec predictor: from context tokens, predict the latents at target positions.

    ``forward(context, target_positions, context_padding=None)``: ``context (B, Nc, in_dim)`` (trunk
    output on the visible tokens), ``target_positions (B, Nt, dim)`` positional embeddings of the
    targets in the predictor's width. Returns ``(B, Nt, in_dim)``.
    """

    def __init__(self, in_dim: int, dim: int = 128, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.proj = nn.Linear(dim, in_dim)

    def forward(self, context: torch.Tensor, target_positions: torch.Tensor,
                context_padding: torch.Tensor | None = None) -> torch.Tensor:
        targets = self.mask_token + target_positions
        x = torch.cat([self.embed(context), targets.expand(context.shape[0], -1, -1)], dim=1)
        attend = None
        if context_padding is not None:
            padding = torch.cat([context_padding, context_padding.new_zeros(x.shape[0], targets.shape[1])], dim=1)
            attend = ~padding[:, None, None, :]
        for block in self.blocks:
            x = block(x, attend)
        return self.proj(self.norm(x[:, context.shape[1]:]))


class EMATeacher(nn.Module):
    """A frozen copy of ``student`` updated by ``update(student, momentum)``:
    ``teacher = momentum * teacher + (1 - momentum) * student`` (buffers copied)."""

    def __init__(self, student: nn.Module) -> None:
        super().__init__()
        self.module = copy.deepcopy(student)
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, student: nn.Module, momentum: float) -> None:
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
        for t, s in zip(self.module.parameters(), student.parameters(), strict=True):
            t.lerp_(s.detach(), 1.0 - momentum)
        for t, s in zip(self.module.buffers(), student.buffers(), strict=True):
            t.copy_(s)

    @torch.no_grad()
    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
