"""The embedded default table: scikit-learn's breast cancer data (569 rows, 30 numeric features)."""

from __future__ import annotations

import pandas as pd


def load_embedded() -> tuple[pd.DataFrame, pd.Series]:
    """``(features, label)`` of the Wisconsin diagnostic breast cancer table shipped with scikit-learn."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data, data.target.rename("label")
