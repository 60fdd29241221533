"""Node splits in the Planetoid style: a few labelled nodes per class, fixed-size validation and test sets."""

from __future__ import annotations

import torch


def random_node_split(y: torch.Tensor, *, train_per_class: int = 20, num_val: int = 500, num_test: int = 1000,
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boolean masks ``(train, val, test)`` over ``y (N,)``: ``train_per_class`` random nodes of each class,
    then ``num_val`` and ``num_test`` random nodes among the rest (fewer when the graph is small:
    the remainder is split 1:2 between validation and test)."""
    y = torch.as_tensor(y).long()
    n = y.numel()
    generator = torch.Generator().manual_seed(seed)
    train = torch.zeros(n, dtype=torch.bool)
    for c in torch.unique(y):
        idx = (y == c).nonzero().flatten()
        if idx.numel() <= train_per_class:
            raise ValueError(f"class {int(c)} has {idx.numel()} nodes: fewer than train_per_class + 1 "
                             f"({train_per_class + 1})")
        train[idx[torch.randperm(idx.numel(), generator=generator)[:train_per_class]]] = True
    rest = (~train).nonzero().flatten()
    rest = rest[torch.randperm(rest.numel(), generator=generator)]
    if num_val + num_test > rest.numel():
        num_val = rest.numel() // 3
        num_test = rest.numel() - num_val
    val = torch.zeros(n, dtype=torch.bool)
    test = torch.zeros(n, dtype=torch.bool)
    val[rest[:num_val]] = True
    test[rest[num_val : num_val + num_test]] = True
    return train, val, test
