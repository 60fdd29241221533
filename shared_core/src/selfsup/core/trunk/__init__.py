"""One Transformer trunk for every modality: token batches, tokenizers, positional encodings, masking,
MAE decoder, latent predictor, EMA teacher, and trunk transfer across modalities."""

from selfsup.core.trunk.heads import EMATeacher, LatentPredictor, MAEDecoder, mae_predict
from selfsup.core.trunk.masking import (
    block_mask,
    drop_masked,
    feature_subset_mask,
    gather_tokens,
    inverse_block_mask,
    random_mask,
    restore_masked,
    tube_mask,
)
from selfsup.core.trunk.positional import LearnedPositionalEmbedding, interpolate_grid, sincos_1d, sincos_grid
from selfsup.core.trunk.tokens import TokenBatch, Tokenizer
from selfsup.core.trunk.transfer import export_trunk, import_trunk
from selfsup.core.trunk.trunk import SIZES, Block, Trunk, TrunkConfig, TrunkOutput, torchvision_vit_to_timm

__all__ = [
    "SIZES", "Block", "EMATeacher", "LatentPredictor", "LearnedPositionalEmbedding", "MAEDecoder", "TokenBatch",
    "Tokenizer", "Trunk", "TrunkConfig", "TrunkOutput", "block_mask", "drop_masked", "export_trunk",
    "feature_subset_mask", "gather_tokens", "import_trunk", "interpolate_grid", "inverse_block_mask", "mae_predict",
    "random_mask",
    "restore_masked", "sincos_1d", "sincos_grid", "torchvision_vit_to_timm", "tube_mask",
]
