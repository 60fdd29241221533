"""DGI (Velickovic et al. 2019): maximise mutual information between node embeddings and a graph summary."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import DeepGraphInfomax

from selfsup.graph.methods._graph_batch import unpack


def _summary(z: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return torch.sigmoid(z.mean(dim=0))


def _corruption(x: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[torch.randperm(x.shape[0], device=x.device)], edge_index


class DGI(nn.Module):
    """torch-geometric's ``DeepGraphInfomax``: a bilinear discriminator tells real node embeddings from
    those of the graph with shuffled features, against the sigmoid of the mean embedding (the summary)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.infomax = DeepGraphInfomax(encoder.out_dim, encoder=encoder, summary=_summary, corruption=_corruption)

    def forward(self, batch: Data) -> dict[str, torch.Tensor]:
        x, edge_index, seeds = unpack(batch)
        positive, negative, summary = self.infomax(x, edge_index)
        return {"loss": self.infomax.loss(positive[:seeds], negative[:seeds], summary)}
