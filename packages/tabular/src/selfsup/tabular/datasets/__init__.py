"""Table loaders: UCI Adult (official files), generic CSV/Parquet, and an embedded default."""

from selfsup.tabular.datasets.adult import load_adult
from selfsup.tabular.datasets.embedded import load_embedded
from selfsup.tabular.datasets.table import load_table

__all__ = ["load_adult", "load_embedded", "load_table"]
