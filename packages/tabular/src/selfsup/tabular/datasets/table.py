"""A generic table loader: CSV or Parquet, with declared column types and a target column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def load_table(path: str | Path, target: str, numeric: Sequence[str] = (), categorical: Sequence[str] = (),
               **read_kwargs) -> tuple[pd.DataFrame, pd.Series]:
    """``(features, target)`` from ``path`` (``.csv``, ``.csv.gz``, ``.parquet``): the declared numeric
    columns are parsed as numbers (unparseable -> missing), categorical ones kept as strings."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path}")
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith(".parquet"):
        frame = pd.read_parquet(path, **read_kwargs)
    elif ".csv" in suffixes:
        frame = pd.read_csv(path, **read_kwargs)
    else:
        raise ValueError(f"{path}: expected a .csv, .csv.gz or .parquet file")
    wanted = [target, *numeric, *categorical]
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise ValueError(f"{path} has no columns {absent} (it has {list(frame.columns)})")
    features = pd.DataFrame({c: pd.to_numeric(frame[c], errors="coerce") for c in numeric})
    for c in categorical:
        features[c] = frame[c].astype("string")
    return features[[*numeric, *categorical]], frame[target].rename(target)
