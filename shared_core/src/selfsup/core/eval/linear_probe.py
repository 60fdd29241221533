"""Linear probe on frozen features: scikit-learn logistic regression, or a torch linear layer (large sets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from selfsup.core.eval._features import as_tensor, check_split


@dataclass(frozen=True)
class ProbeResult:
    """Accuracies in [0, 1] of a linear classifier fitted on the train split."""

    accuracy: float
    train_accuracy: float


def _sklearn_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                   test_y: np.ndarray, c: float, max_iter: int) -> ProbeResult:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    model.fit(train_x, train_y)
    return ProbeResult(float(model.score(test_x, test_y)), float(model.score(train_x, train_y)))


def _torch_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                 test_y: torch.Tensor, epochs: int, batch_size: int, lr: float,
                 weight_decay: float, seed: int) -> ProbeResult:
    mean, std = train_x.mean(dim=0), train_x.std(dim=0).clamp_min(1e-6)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the same seed gives the same probe, whatever ran before
        torch.manual_seed(seed)
        layer = torch.nn.Linear(train_x.shape[1], num_classes)
    optimizer = torch.optim.AdamW(layer.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, -(-train_x.shape[0] // batch_size))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(epochs):
        order = torch.randperm(train_x.shape[0], generator=generator)
        for start in range(0, train_x.shape[0], batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(layer(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    with torch.no_grad():
        test_acc = (layer(test_x).argmax(1) == test_y).float().mean()
        train_acc = (layer(train_x).argmax(1) == train_y).float().mean()
    return ProbeResult(float(test_acc), float(train_acc))


def linear_probe(train_features, train_labels, test_features, test_labels, *,
                 backend: Literal["sklearn", "torch"] = "sklearn", c: float = 1.0,
                 max_iter: int = 1000, epochs: int = 100, batch_size: int = 512,
                 lr: float = 0.05, weight_decay: float = 1e-4, seed: int = 0) -> ProbeResult:
    """Fit a linear classifier on standardised train features; report test and train accuracy.

    Args:
        train_features: ``(N, D)``; train_labels: ``(N,)`` ints; test_*: ``(M, D)``, ``(M,)``.
        backend: ``"sklearn"`` (L2 logistic regression, inverse strength ``c``) or ``"torch"``
            (a linear layer trained with AdamW and a cosine schedule; for large feature sets).
    """
    train_x = as_tensor("train features", train_features, torch.float32)
    train_y = as_tensor("train labels", train_labels, torch.long)
    test_x = as_tensor("test features", test_features, torch.float32)
    test_y = as_tensor("test labels", test_labels, torch.long)
    check_split(train_x, train_y, "train")
    check_split(test_x, test_y, "test")
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"train features have {train_x.shape[1]} dims, test {test_x.shape[1]}")
    if train_y.unique().numel() < 2:
        raise ValueError("linear_probe needs at least 2 classes in the train split")
    if backend == "sklearn":
        return _sklearn_probe(train_x.numpy(), train_y.numpy(), test_x.numpy(), test_y.numpy(),
                              c, max_iter)
    if backend == "torch":
        return _torch_probe(train_x, train_y, test_x, test_y, epochs, batch_size, lr,
                            weight_decay, seed)
    raise ValueError(f"backend must be 'sklearn' or 'torch', got {backend!r}")
