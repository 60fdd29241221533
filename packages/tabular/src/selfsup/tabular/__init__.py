"""selfsup.tabular: self-supervised learning for tables, with a scikit-learn interface."""

from selfsup.tabular.build import build_encoder, build_method
from selfsup.tabular.corruptions import feature_subsets, marginal_resample, mask_values
from selfsup.tabular.datasets import TableRowsSource, load_adult, load_embedded, load_table, open_table
from selfsup.tabular.encoders import FeatureTokenizer, FTTransformer, TabularMLP
from selfsup.tabular.methods import SCARF, TJEPA, DenoisingAutoencoder, SubTab, VIMESelf
from selfsup.tabular.preprocessing import TableBatch, TablePreprocessor
from selfsup.tabular.schema import TableSchema
from selfsup.tabular.sklearn_api import SelfSupervisedEncoder, TableRows

__all__ = [
    "SCARF", "TJEPA", "DenoisingAutoencoder", "FTTransformer", "FeatureTokenizer", "SelfSupervisedEncoder",
    "SubTab", "TableBatch", "TablePreprocessor", "TableRows", "TableRowsSource", "TableSchema", "TabularMLP",
    "VIMESelf", "build_encoder",
    "build_method", "feature_subsets", "load_adult", "load_embedded", "load_table", "marginal_resample",
    "mask_values", "open_table",
]
