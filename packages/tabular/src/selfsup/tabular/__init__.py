"""selfsup.tabular: self-supervised learning for tables, with a scikit-learn interface.

Every public name is imported on first use (:mod:`selfsup.core.lazy_exports`).
"""

from selfsup.core.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "build": ["build_encoder", "build_method"],
    "corruptions": ["feature_subsets", "marginal_resample", "mask_values"],
    "datasets": ["TableRowsSource", "load_adult", "load_embedded", "load_table", "open_table"],
    "encoders": ["FeatureTokenizer", "FTTransformer", "TabularMLP"],
    "methods": ["SCARF", "TJEPA", "DenoisingAutoencoder", "SubTab", "VIMESelf"],
    "preprocessing": ["TableBatch", "TablePreprocessor"],
    "schema": ["TableSchema"],
    "sklearn_api": ["SelfSupervisedEncoder", "TableRows"],
})
