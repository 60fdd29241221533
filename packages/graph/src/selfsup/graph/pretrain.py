"""Pretrain a graph method with the core Trainer (full graph or sampled neighbourhoods) and embed nodes/graphs."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.data import Batch, Data

from selfsup.core.train import TrainConfig, Trainer
from selfsup.graph.sampler import neighbor_loader


def _first(items: list) -> Data:
    return items[0]


def pretrain_nodes(method: nn.Module, data: Data, *, epochs: int, lr: float = 1e-3, weight_decay: float = 0.0,
                   batch_size: int | None = None, num_neighbors: Sequence[int] | None = None,
                   output_dir: str | None = None, seed: int = 0, progress: bool = True, device: str | None = None,
                   **config) -> dict:
    """Train ``method`` on ``data``: one step per epoch on the whole graph, or with ``batch_size`` seed
    nodes per step over sampled ``num_neighbors`` neighbourhoods (``neighbor_loader``). Returns the
    Trainer's summary (wall time, peak memory, final loss ...)."""
    with tempfile.TemporaryDirectory() as tmp:
        common = dict(output_dir=output_dir or tmp, epochs=epochs, lr=lr, weight_decay=weight_decay, seed=seed,
                      progress=progress, device=device, amp="off", **config)
        if batch_size is None:
            common.setdefault("checkpoint_every", max(1, epochs // 2))  # one step per epoch: no checkpoint each
            cfg = TrainConfig(batch_size=1, **common)
            return Trainer(method, [data], cfg, collate_fn=_first).fit()
        if not num_neighbors:
            raise ValueError("mini-batch pretraining needs num_neighbors (one count per GNN layer)")
        loader = neighbor_loader(data, num_neighbors, batch_size=batch_size)
        cfg = TrainConfig(batch_size=batch_size, **common)
        return Trainer(method, loader.dataset, cfg, collate_fn=loader.collate_fn).fit()


def pretrain_graphs(method: nn.Module, graphs: list[Data], *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
                    weight_decay: float = 0.0, output_dir: str | None = None, seed: int = 0, progress: bool = True,
                    device: str | None = None, **config) -> dict:
    """Train a graph-level ``method`` on mini-batches of whole graphs (``Batch.from_data_list``)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(output_dir=output_dir or tmp, epochs=epochs, batch_size=min(batch_size, len(graphs)), lr=lr,
                          weight_decay=weight_decay, seed=seed, progress=progress, device=device, amp="off", **config)
        return Trainer(method, graphs, cfg, collate_fn=Batch.from_data_list).fit()


@torch.no_grad()
def embed_nodes(encoder: nn.Module, data: Data, *, batch_size: int | None = None) -> torch.Tensor:
    """``(N, D)`` embeddings of every node from the frozen encoder in eval mode: on the whole graph, or,
    with ``batch_size``, from each node's full receptive field (all neighbours, one hop per layer)."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    try:
        if batch_size is None:
            return encoder(data.x.to(device), data.edge_index.to(device)).cpu()
        hops = [-1] * getattr(encoder, "num_layers", 2)
        out = []
        for batch in neighbor_loader(data, hops, batch_size=batch_size, shuffle=False):
            out.append(encoder(batch.x.to(device), batch.edge_index.to(device))[: batch.batch_size].cpu())
        return torch.cat(out)
    finally:
        encoder.train(was_training)


@torch.no_grad()
def embed_graphs(encoder: nn.Module, graphs: list[Data], *, batch_size: int = 256) -> torch.Tensor:
    """``(G, D)`` pooled embeddings of ``graphs`` from a frozen graph encoder in eval mode."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    try:
        out = []
        for start in range(0, len(graphs), batch_size):
            batch = Batch.from_data_list(graphs[start : start + batch_size]).to(device)
            out.append(encoder(batch.x, batch.edge_index, batch.batch).cpu())
        return torch.cat(out)
    finally:
        encoder.train(was_training)
