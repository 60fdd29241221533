"""Table loaders: UCI Adult (official files), generic CSV/Parquet, an embedded default, and a user's own table
(CSV/TSV/Parquet, streamed) as the rows ``selfsup pretrain tabular`` trains on."""

from selfsup.tabular.datasets.adult import load_adult
from selfsup.tabular.datasets.embedded import load_embedded
from selfsup.tabular.datasets.table import load_table
from selfsup.tabular.datasets.table_files import table_parts
from selfsup.tabular.datasets.table_rows import TableRowsSource, open_table

__all__ = ["TableRowsSource", "load_adult", "load_embedded", "load_table", "open_table", "table_parts"]
