"""Weighted kNN classifier on frozen features (cosine similarity, temperature-weighted votes).

The protocol of InstDisc/DINO/solo-learn: each of the k nearest training samples votes for
its class with weight ``exp(cos / temperature)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core.eval._features import as_tensor, check_split


@torch.no_grad()
def knn_predict(train_features, train_labels, test_features, *, k: int = 20,
                temperature: float = 0.07, num_classes: int | None = None,
                chunk_size: int = 1024) -> torch.Tensor:
    """Predicted labels ``(M,)`` for ``test_features (M, D)`` from ``train_features (N, D)``.

    Similarities are computed ``chunk_size`` test rows at a time (memory O(chunk_size * N)).
    """
    train_x = F.normalize(as_tensor("train features", train_features, torch.float32), dim=1)
    train_y = as_tensor("train labels", train_labels, torch.long)
    test_x = F.normalize(as_tensor("test features", test_features, torch.float32), dim=1)
    check_split(train_x, train_y, "train")
    if test_x.dim() != 2 or test_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"test features must be (M, {train_x.shape[1]}), got {tuple(test_x.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, train_x.shape[0])
    num_classes = num_classes or int(train_y.max()) + 1
    predictions = []
    for start in range(0, test_x.shape[0], chunk_size):
        sim = test_x[start : start + chunk_size] @ train_x.T
        top_sim, top_idx = sim.topk(k, dim=1)
        votes = torch.zeros(sim.shape[0], num_classes)
        votes.scatter_add_(1, train_y[top_idx], (top_sim / temperature).exp())
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions) if predictions else torch.empty(0, dtype=torch.long)


def knn_accuracy(train_features, train_labels, test_features, test_labels, *, k: int = 20,
                 temperature: float = 0.07) -> float:
    """Top-1 accuracy in [0, 1] of :func:`knn_predict` on the test split."""
    test_y = as_tensor("test labels", test_labels, torch.long)
    pred = knn_predict(train_features, train_labels, test_features, k=k, temperature=temperature,
                       num_classes=int(max(int(torch.as_tensor(train_labels).max()), int(test_y.max()))) + 1)
    if pred.shape != test_y.shape:
        raise ValueError(f"test labels must have shape {tuple(pred.shape)}, got {tuple(test_y.shape)}")
    return float((pred == test_y).float().mean())
