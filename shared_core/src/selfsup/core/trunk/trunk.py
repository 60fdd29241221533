"""The modality-agnostic Transformer trunk: pre-norm blocks on ``scaled_dot_product_attention``.

Parameter names follow timm's ViT (``cls_token``, ``reg_token``, ``blocks.{i}.norm1``,
``blocks.{i}.attn.qkv``, ``blocks.{i}.attn.proj``, ``blocks.{i}.norm2``, ``blocks.{i}.mlp.fc1``,
``blocks.{i}.mlp.fc2``, ``norm``), so timm or torchvision ViT weights load into it
(:meth:`Trunk.load_timm_state_dict`, :func:`torchvision_vit_to_timm`). Positions are the
tokenizer's business: the trunk never adds any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core.trunk.tokens import TokenBatch

SIZES = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12)}


class Attention(nn.Module):
    """Multi-head self-attention with timm's parameter names on ``(B, N, D)`` tokens; ``attend``: SDPA's boolean mask
    (True = attend), or None."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """The block's two-layer GELU MLP (timm's names ``fc1``, ``fc2``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=eps), Attention(dim, heads, qkv_bias)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=eps), Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), attend)
        return x + self.mlp(self.norm2(x))


@dataclass
class TrunkConfig:
    """Width, depth, heads and MLP ratio of a :class:`Trunk` (``mini``, ``tiny``, ``small`` or ``base``)."""
    dim: int = 192
    depth: int = 12
    heads: int = 3
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    cls_token: bool = True
    num_registers: int = 0
    modalities: list[str] = field(default_factory=list)

    def shape(self) -> dict:
        """What must agree for weights to move between two trunks."""
        return {k: getattr(self, k) for k in ("dim", "depth", "heads", "mlp_ratio", "qkv_bias")}


@dataclass
class TrunkOutput:
    """``tokens (B, P + N, D)`` after the final norm (``P = num_prefix``), the padding mask over them,
    and, on request, the per-layer outputs (before the final norm)."""

    tokens: torch.Tensor
    padding_mask: torch.Tensor | None
    num_prefix: int
    layers: list[torch.Tensor] = field(default_factory=list)

    @property
    def cls(self) -> torch.Tensor:
        """``(B, D)``: the first prefix token (raises without one)."""
        if self.num_prefix == 0:
            raise ValueError("this trunk has no CLS token; pool the content tokens instead")
        return self.tokens[:, 0]

    @property
    def content(self) -> torch.Tensor:
        return self.tokens[:, self.num_prefix:]

    def mean_pool(self) -> torch.Tensor:
        """``(B, D)``: mean of the content tokens that are not padding."""
        content = self.content
        if self.padding_mask is None:
            return content.mean(dim=1)
        keep = (~self.padding_mask[:, self.num_prefix:]).unsqueeze(-1).to(content.dtype)
        return (content * keep).sum(dim=1) / keep.sum(dim=1).clamp_min(1.0)


class Trunk(nn.Module):
    """Pre-norm Transformer over a :class:`TokenBatch`, with optional CLS/register tokens and a learned
    per-modality embedding. ``Trunk.from_size("tiny"|"small"|"base", **kwargs)`` gives ViT sizes."""

    def __init__(self, dim: int = 192, depth: int = 12, heads: int = 3, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, cls_token: bool = True, num_registers: int = 0,
                 modalities: Sequence[str] = ()) -> None:
        super().__init__()
        self.config = TrunkConfig(dim, depth, heads, mlp_ratio, qkv_bias, cls_token, num_registers, list(modalities))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if cls_token else None
        self.reg_token = nn.Parameter(torch.zeros(1, num_registers, dim)) if num_registers else None
        self.modality_embed = nn.ParameterDict({m: nn.Parameter(torch.zeros(1, 1, dim)) for m in modalities})
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, qkv_bias) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.num_prefix = int(cls_token) + num_registers
        for p in (self.cls_token, self.reg_token):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
        self.apply(self._init_linear)

    @staticmethod
    def _init_linear(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    @classmethod
    def from_size(cls, size: str, **kwargs) -> Trunk:
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
        return cls(**{**dict(zip(("dim", "depth", "heads"), SIZES[size], strict=True)), **kwargs})

    @property
    def dim(self) -> int:
        return self.config.dim

    def add_modality(self, name: str) -> None:
        """A new learned modality embedding (zeros: the trunk's function is unchanged at first)."""
        if name not in self.modality_embed:
            ref = next(self.parameters())
            self.modality_embed[name] = nn.Parameter(torch.zeros(1, 1, self.dim, device=ref.device, dtype=ref.dtype))
            self.config.modalities.append(name)

    def forward(self, batch: TokenBatch, *, return_layers: bool | Sequence[int] = False) -> TrunkOutput:
        x = batch.tokens
        if x.shape[-1] != self.dim:
            raise ValueError(f"tokens have width {x.shape[-1]}, the trunk expects {self.dim}")
        if batch.num_prefix:
            raise ValueError("the trunk adds its own prefix tokens: pass content tokens (num_prefix=0)")
        if batch.modality in self.modality_embed:
            x = x + self.modality_embed[batch.modality]
        padding = batch.padding_mask
        if padding is not None and self.num_prefix == 0 and bool(padding.all(dim=1).any()):
            raise ValueError("a sample has only padding tokens and the trunk has no prefix token to attend to")
        prefix = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.reg_token) if t is not None]
        if prefix:
            x = torch.cat([*[p.to(x.dtype) for p in prefix], x], dim=1)
            if padding is not None:
                padding = torch.cat([padding.new_zeros(x.shape[0], self.num_prefix), padding], dim=1)
        attend = None if padding is None else ~padding[:, None, None, :]
        wanted = set(range(len(self.blocks))) if return_layers is True else set(return_layers or ())
        layers = []
        for i, block in enumerate(self.blocks):
            x = block(x, attend)
            if i in wanted:
                layers.append(x)
        return TrunkOutput(self.norm(x), padding, self.num_prefix, layers)

    # ------------------------------------------------------------------ timm / torchvision weights
    def load_timm_state_dict(self, state: dict[str, torch.Tensor],
                             pos_embed_has_cls: bool = True) -> dict[str, torch.Tensor]:
        """Load a timm ViT state dict; returns what belongs to the tokenizer and heads
        (``patch_embed.*``, the patch rows of ``pos_embed`` as ``pos_embed``, ``head.*``, ...).

        timm (like torchvision) adds ``pos_embed[:, 0]`` to the CLS token; with
        ``pos_embed_has_cls`` that row is folded into ``cls_token`` here, since the trunk itself
        adds no positions, and the remaining rows are returned for the tokenizer.
        """
        ours = set(self.state_dict())
        mine = {k: v for k, v in state.items() if k in ours}
        rest = {k: v for k, v in state.items() if k not in ours}
        pos = rest.pop("pos_embed", None)
        if pos is not None:
            if pos_embed_has_cls and "cls_token" in mine:
                mine["cls_token"] = mine["cls_token"] + pos[:, :1]
                pos = pos[:, 1:]
            rest["pos_embed"] = pos
        missing = sorted(k for k in ours - set(mine) if not k.startswith("modality_embed."))
        if missing:
            raise ValueError(f"the state dict lacks trunk weights {missing[:5]}{' ...' if len(missing) > 5 else ''}; "
                             "is it a ViT of the same depth?")
        for key, value in mine.items():
            expected = self.state_dict()[key].shape
            if value.shape != expected:
                raise ValueError(f"{key}: checkpoint has shape {tuple(value.shape)}, this trunk {tuple(expected)} "
                                 f"(trunk size {self.config.shape()})")
        self.load_state_dict(mine, strict=False)
        return rest


def torchvision_vit_to_timm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a ``torchvision.models.VisionTransformer`` state dict to timm's ViT names."""
    out: dict[str, torch.Tensor] = {}
    layer_names = {"ln_1": "norm1", "ln_2": "norm2", "self_attention.in_proj_weight": "attn.qkv.weight",
                   "self_attention.in_proj_bias": "attn.qkv.bias", "self_attention.out_proj": "attn.proj",
                   "mlp.0": "mlp.fc1", "mlp.3": "mlp.fc2", "mlp.linear_1": "mlp.fc1", "mlp.linear_2": "mlp.fc2"}
    for key, value in state.items():
        if key.startswith("encoder.layers.encoder_layer_"):
            index, rest = key[len("encoder.layers.encoder_layer_"):].split(".", 1)
            for old, new in layer_names.items():
                if rest.startswith(old):
                    rest = new + rest[len(old):]
                    break
            out[f"blocks.{index}.{rest}"] = value
        elif key.startswith("encoder.ln."):
            out["norm." + key[len("encoder.ln."):]] = value
        elif key == "class_token":
            out["cls_token"] = value
        elif key == "encoder.pos_embedding":
            out["pos_embed"] = value
        elif key.startswith("conv_proj."):
            out["patch_embed.proj." + key[len("conv_proj."):]] = value
        elif key.startswith("heads.head."):
            out["head." + key[len("heads.head."):]] = value
        else:
            out[key] = value
    return out


