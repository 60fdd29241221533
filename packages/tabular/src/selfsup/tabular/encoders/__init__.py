"""Table encoders: an MLP with categorical embeddings and an FT-Transformer on the core trunk."""

from selfsup.tabular.encoders.ft_transformer import FeatureTokenizer, FTTransformer
from selfsup.tabular.encoders.mlp import TabularMLP

__all__ = ["FTTransformer", "FeatureTokenizer", "TabularMLP"]
