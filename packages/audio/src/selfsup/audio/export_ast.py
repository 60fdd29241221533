"""Export a patch-token :class:`SpectrogramTransformer` to ``transformers``' ``ASTModel`` (and its
``ASTFeatureExtractor`` with our normalisation statistics), so that the Hugging Face ecosystem can load it.

Our model is AST's architecture without dropout: CLS + one more prefix token (AST's distillation token),
16x16 patches in frequency-major order, pre-norm blocks, final LayerNorm. Our positions are added to the
patch tokens only, so AST's ``position_embeddings`` get zeros in the two prefix rows; a modality
embedding, if the trunk has one, is folded into the patch rows.
"""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.audio.encoders import SpectrogramTransformer
from selfsup.audio.features import SpectrogramStats


def _require_transformers():
    try:
        import transformers
    except ImportError as err:
        raise ImportError("exporting to ASTModel needs transformers: pip install 'selfsup-audio[hf]'") from err
    return transformers


def ast_config(encoder: SpectrogramTransformer):
    """The ``ASTConfig`` that has ``encoder``'s shape (strides = patch size: no overlap)."""
    transformers = _require_transformers()
    tok, trunk = encoder.tokenizer, encoder.trunk
    if tok.patch[0] != tok.patch[1]:
        raise ValueError(f"ASTModel has square patches; this encoder uses {tok.patch[0]}x{tok.patch[1]} "
                         "(frame tokens): export a patch-token model")
    if trunk.num_prefix != 2:
        raise ValueError(f"ASTModel has 2 prefix tokens (CLS, distillation); this trunk has {trunk.num_prefix}")
    cfg = trunk.config
    return transformers.ASTConfig(
        hidden_size=cfg.dim, num_hidden_layers=cfg.depth, num_attention_heads=cfg.heads,
        intermediate_size=int(cfg.dim * cfg.mlp_ratio), hidden_act="gelu", hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, layer_norm_eps=trunk.norm.eps, patch_size=tok.patch[0],
        qkv_bias=cfg.qkv_bias, frequency_stride=tok.patch[0], time_stride=tok.patch[1],
        num_mel_bins=tok.num_mel_bins, max_length=tok.frames)


def _layer_names(keys: set[str], i: int) -> dict[str, str]:
    """transformers 5 (``layers.i.attention.q_proj``) or 4 (``encoder.layer.i.attention.attention.query``)."""
    if f"layers.{i}.attention.q_proj.weight" in keys:
        p = f"layers.{i}."
        return {"q": p + "attention.q_proj", "k": p + "attention.k_proj", "v": p + "attention.v_proj",
                "o": p + "attention.o_proj", "fc1": p + "mlp.fc1", "fc2": p + "mlp.fc2",
                "norm1": p + "layernorm_before", "norm2": p + "layernorm_after"}
    p = f"encoder.layer.{i}."
    return {"q": p + "attention.attention.query", "k": p + "attention.attention.key",
            "v": p + "attention.attention.value", "o": p + "attention.output.dense", "fc1": p + "intermediate.dense",
            "fc2": p + "output.dense", "norm1": p + "layernorm_before", "norm2": p + "layernorm_after"}


@torch.no_grad()
def to_ast_model(encoder: SpectrogramTransformer):
    """A ``transformers.ASTModel`` computing the same tokens as ``encoder``: its ``last_hidden_state`` on
    ``spec.transpose(1, 2)`` equals ``encoder.forward_tokens(spec).tokens``."""
    transformers = _require_transformers()
    model = transformers.ASTModel(ast_config(encoder)).eval()
    keys = set(model.state_dict())
    tok, trunk = encoder.tokenizer, encoder.trunk
    positions = tok.positions().detach().clone()
    if "audio" in trunk.modality_embed:
        positions = positions + trunk.modality_embed["audio"].detach()
    state = {
        "embeddings.cls_token": trunk.cls_token, "embeddings.distillation_token": trunk.reg_token,
        "embeddings.position_embeddings": torch.cat([torch.zeros_like(positions[:, :2]), positions], dim=1),
        "embeddings.patch_embeddings.projection.weight": tok.proj.weight,
        "embeddings.patch_embeddings.projection.bias": tok.proj.bias,
        "layernorm.weight": trunk.norm.weight, "layernorm.bias": trunk.norm.bias,
    }
    dim = trunk.dim
    for i, block in enumerate(trunk.blocks):
        names = _layer_names(keys, i)
        qkv_w, qkv_b = block.attn.qkv.weight, block.attn.qkv.bias
        for j, part in enumerate("qkv"):
            state[names[part] + ".weight"] = qkv_w[j * dim : (j + 1) * dim]
            state[names[part] + ".bias"] = qkv_b[j * dim : (j + 1) * dim]
        for ours, theirs in ((block.attn.proj, "o"), (block.mlp.fc1, "fc1"), (block.mlp.fc2, "fc2"),
                             (block.norm1, "norm1"), (block.norm2, "norm2")):
            state[names[theirs] + ".weight"], state[names[theirs] + ".bias"] = ours.weight, ours.bias
    missing = keys - set(state)
    if missing:
        raise RuntimeError(f"ASTModel weights without a source: {sorted(missing)[:5]}")
    model.load_state_dict({k: v.detach().float().cpu().clone() for k, v in state.items()})
    return model


def save_ast(encoder: SpectrogramTransformer, directory: str | Path, stats: SpectrogramStats | None = None) -> Path:
    """``save_pretrained`` of the ``ASTModel`` (safetensors) and, with ``stats``, of an
    ``ASTFeatureExtractor`` that reproduces our features (128-bin Kaldi fbank, our mean and std)."""
    transformers = _require_transformers()
    directory = Path(directory)
    to_ast_model(encoder).save_pretrained(directory)
    if stats is not None:
        tok = encoder.tokenizer
        transformers.ASTFeatureExtractor(num_mel_bins=tok.num_mel_bins, max_length=tok.frames, mean=stats.mean,
                                         std=stats.std, do_normalize=True).save_pretrained(directory)
    return directory
