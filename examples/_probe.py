"""What every example measures: how well a linear probe separates the classes, by 5-fold cross-validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def probe_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean 5-fold accuracy of a logistic regression on standardised ``features (N, D)``."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(cross_val_score(model, features, labels, cv=5).mean())


def read_embeddings(path: Path) -> tuple[pd.Series, np.ndarray]:
    """``(ids, (N, D) embeddings)`` of a ``selfsup embed`` Parquet file."""
    frame = pd.read_parquet(path)
    return frame["id"], np.stack(frame["embedding"].to_numpy())
