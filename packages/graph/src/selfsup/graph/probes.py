"""Frozen-embedding evaluation: node classification with the probe's regularisation chosen on the
validation split, and graph classification by cross-validation."""

from __future__ import annotations

import numpy as np
import torch

C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 13))


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def node_probe(embeddings, y, train_mask, val_mask, test_mask, *, c_grid=C_GRID) -> dict[str, float]:
    """Logistic regression on standardised ``embeddings (N, D)`` fitted on ``train_mask``; the inverse
    regularisation ``C`` is the one with the best validation accuracy (never chosen on test).
    Returns ``{"test": acc, "val": acc, "c": C}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y = _as_numpy(embeddings).astype(np.float64), _as_numpy(y)
    masks = [_as_numpy(m).astype(bool) for m in (train_mask, val_mask, test_mask)]
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"embeddings must be (N, D) with N = len(y) = {len(y)}, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or inf")
    if not all(m.any() for m in masks):
        raise ValueError("train, validation and test masks must each select at least one node")
    scaler = StandardScaler().fit(x[masks[0]])
    x = scaler.transform(x)
    best = None
    for c in c_grid:
        model = LogisticRegression(C=c, max_iter=2000).fit(x[masks[0]], y[masks[0]])
        val = model.score(x[masks[1]], y[masks[1]])
        if best is None or val > best[0]:
            best = (val, c, model)
    val, c, model = best
    return {"test": float(model.score(x[masks[2]], y[masks[2]])), "val": float(val), "c": float(c)}


def graph_probe(embeddings, y, *, folds: int = 10, seed: int = 0, c_grid=C_GRID) -> dict[str, float]:
    """Graph classification on frozen ``embeddings (G, D)``: stratified ``folds``-fold cross-validation of a
    logistic regression whose ``C`` is picked by an inner 5-fold search on each training fold (the
    InfoGraph/GraphCL protocol, with the choice kept off the test fold). Returns mean and std accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _as_numpy(embeddings).astype(np.float64), _as_numpy(y)
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or inf")
    inner = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                         {"logisticregression__C": list(c_grid)}, cv=5)
    scores = cross_val_score(inner, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    return {"accuracy": float(scores.mean()), "std": float(scores.std())}
