"""GraphMAE (Hou et al. 2022): masked node-feature reconstruction with the scaled cosine error."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv, GINConv

from selfsup.graph.methods._graph_batch import unpack


def scaled_cosine_error(prediction: torch.Tensor, target: torch.Tensor, alpha: float = 3.0) -> torch.Tensor:
    """GraphMAE's SCE: ``mean_i (1 - cos(prediction_i, target_i)) ** alpha`` over ``(M, F)`` rows;
    ``alpha > 1`` down-weights the easy (already well reconstructed) nodes."""
    if prediction.shape != target.shape or prediction.dim() != 2:
        raise ValueError(f"prediction and target must both be (M, F), got {tuple(prediction.shape)} and "
                         f"{tuple(target.shape)}")
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1, got {alpha}")
    cos = F.cosine_similarity(prediction.float(), target.float(), dim=1)
    return (1 - cos).pow(alpha).mean()


class _NoTransform(nn.Identity):
    def reset_parameters(self) -> None:  # GATConv.reset_parameters resets its input transform
        pass


class ProjectedGATDecoder(nn.Module):
    """A single-head GAT layer ``hidden -> out_dim`` computed as attention-weighted aggregation in the
    ``hidden`` width followed by the linear map: ``W (sum_j a_ij h_j) + b`` with
    ``a_ij = softmax_j(LeakyReLU(u . h_j + v . h_i))``. Since ``sum_j a_ij W h_j = W sum_j a_ij h_j`` and
    ``u = W^T u'``, it is the same function family as ``GATConv(hidden, out_dim)`` (GraphMAE's decoder),
    but messages on the edges are ``hidden`` wide instead of ``out_dim`` wide (1,433 for Cora's features).

    ``forward(h (N, hidden), edge_index (2, E)) -> (N, out_dim)``.
    """

    def __init__(self, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.attention = GATConv(hidden, hidden, heads=1, bias=False)
        self.attention.lin = _NoTransform()  # aggregate the inputs themselves; the projection follows
        self.project = nn.Linear(hidden, out_dim)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.project(self.attention(h, edge_index))


def _decoder(kind: str, hidden: int, out_dim: int) -> nn.Module:
    if kind == "gat":
        return ProjectedGATDecoder(hidden, out_dim)
    if kind == "gin":
        return GINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.PReLU(), nn.Linear(hidden, out_dim)))
    return GCNConv(hidden, out_dim)


class GraphMAE(nn.Module):
    """Mask ``mask_rate`` of the nodes (their features replaced by a learned token, or for
    ``replace_rate`` of them by another node's features), encode, re-mask the hidden states of the
    masked nodes, decode with one GNN layer of the encoder's kind back to the feature space, and score
    the masked nodes with :func:`scaled_cosine_error`.

    Batches: a full graph, or ``NodeLoader`` neighbourhoods (masks and loss on the seed nodes).
    """

    def __init__(self, encoder: nn.Module, *, mask_rate: float = 0.5, replace_rate: float = 0.05,
                 alpha: float = 3.0) -> None:
        super().__init__()
        if not 0.0 < mask_rate < 1.0 or not 0.0 <= replace_rate < 1.0:
            raise ValueError(f"mask_rate must lie in (0, 1) and replace_rate in [0, 1), got {mask_rate}, "
                             f"{replace_rate}")
        self.encoder, self.mask_rate, self.replace_rate, self.alpha = encoder, mask_rate, replace_rate, alpha
        self.mask_token = nn.Parameter(torch.zeros(1, encoder.in_dim))
        self.encoder_to_decoder = nn.Linear(encoder.out_dim, encoder.out_dim, bias=False)
        self.decoder = _decoder(encoder.kind, encoder.out_dim, encoder.in_dim)

    def mask(self, x: torch.Tensor, seeds: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(masked features (N, F), masked node ids (M,))`` with ``M = mask_rate * seeds``."""
        num_mask = max(1, int(self.mask_rate * seeds))
        masked = torch.randperm(seeds, device=x.device)[:num_mask]
        num_noise = int(self.replace_rate * num_mask)
        order = torch.randperm(num_mask, device=x.device)
        token_nodes, noise_nodes = masked[order[: num_mask - num_noise]], masked[order[num_mask - num_noise :]]
        out = x.clone()
        out[token_nodes] = 0.0
        out[noise_nodes] = x[torch.randperm(x.shape[0], device=x.device)[:num_noise]]
        out[token_nodes] += self.mask_token
        return out, masked

    def forward(self, batch: Data) -> dict[str, torch.Tensor]:
        x, edge_index, seeds = unpack(batch)
        masked_x, masked = self.mask(x, seeds)
        hidden = self.encoder_to_decoder(self.encoder(masked_x, edge_index))
        hidden = hidden.index_fill(0, masked, 0.0)
        reconstruction = self.decoder(hidden, edge_index)
        return {"loss": scaled_cosine_error(reconstruction[masked], x[masked], self.alpha)}
