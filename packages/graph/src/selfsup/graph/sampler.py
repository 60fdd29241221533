"""Mini-batch neighbour sampling: PyG's ``NeighborLoader`` where pyg-lib or torch-sparse is installed,
otherwise a pure-torch sampler plugged into PyG's ``NodeLoader`` (same ``Data`` batches)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch_geometric.typing as pyg_typing
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader, NodeLoader
from torch_geometric.sampler import BaseSampler, NodeSamplerInput, SamplerOutput
from torch_geometric.utils import index_sort


class TorchNeighborSampler(BaseSampler):
    """GraphSAGE-style sampling in plain torch: for each hop, up to ``num_neighbors[hop]`` incoming
    neighbours of every frontier node, drawn without replacement (all of them when fewer).

    The sampled subgraph keeps the seed nodes first (``batch.n_id[:batch.batch_size]``); its edges point
    from neighbour to target, as message passing expects. Vectorised per hop: the incident edges of the
    whole frontier are gathered through the CSC pointer and ranked by a random key inside each node's segment.
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int]) -> None:
        if data.edge_index is None or data.num_nodes is None:
            raise ValueError("neighbour sampling needs a graph with edge_index and num_nodes")
        if not num_neighbors or any(k == 0 or k < -1 for k in num_neighbors):
            raise ValueError(f"num_neighbors must be positive counts (or -1 for all), got {list(num_neighbors)}")
        self.num_neighbors = list(num_neighbors)
        self.num_nodes = int(data.num_nodes)
        target, perm = index_sort(data.edge_index[1], max_value=self.num_nodes)
        self.source = data.edge_index[0][perm]  # incoming neighbours, grouped by target node
        self.edge_id = perm
        self.colptr = torch.zeros(self.num_nodes + 1, dtype=torch.long)
        self.colptr[1:] = torch.cumsum(torch.bincount(target, minlength=self.num_nodes), 0)
        self._local = torch.full((self.num_nodes,), -1, dtype=torch.long)

    def _sample_hop(self, frontier: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Incoming edges of the ``frontier`` nodes, at most ``k`` per node (all with ``k = -1``); returns
        (source node ids, position of the target in ``frontier``, edge ids)."""
        start, degree = self.colptr[frontier], self.colptr[frontier + 1] - self.colptr[frontier]
        segment = torch.repeat_interleave(torch.arange(frontier.numel()), degree)
        offset = torch.arange(segment.numel()) - torch.repeat_interleave(torch.cumsum(degree, 0) - degree, degree)
        position = start[segment] + offset
        if k > 0:
            order = torch.argsort(segment.double() + torch.rand(segment.numel(), dtype=torch.double))
            keep = order[offset < k]
            position, segment = position[keep], segment[keep]
        return self.source[position], segment, self.edge_id[position]

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SamplerOutput:
        seeds = index.node.long()
        nodes = torch.unique(seeds, sorted=False) if seeds.numel() != torch.unique(seeds).numel() else seeds
        self._local[nodes] = torch.arange(nodes.numel())
        all_nodes, rows, cols, edges = [nodes], [], [], []
        num_sampled_nodes, num_sampled_edges = [nodes.numel()], []
        frontier, count = nodes, nodes.numel()
        try:
            for k in self.num_neighbors:
                source, target_pos, edge = self._sample_hop(frontier, k)
                new = torch.unique(source[self._local[source] < 0])
                self._local[new] = torch.arange(count, count + new.numel())
                count += new.numel()
                rows.append(self._local[source])
                cols.append(self._local[frontier[target_pos]])
                edges.append(edge)
                all_nodes.append(new)
                num_sampled_nodes.append(new.numel())
                num_sampled_edges.append(edge.numel())
                frontier = new
        finally:
            node = torch.cat(all_nodes)
            self._local[node] = -1
        return SamplerOutput(node=node, row=torch.cat(rows), col=torch.cat(cols), edge=torch.cat(edges),
                             num_sampled_nodes=num_sampled_nodes, num_sampled_edges=num_sampled_edges,
                             metadata=(index.input_id, index.time))

    def sample_from_edges(self, index, neg_sampling=None):
        raise NotImplementedError("TorchNeighborSampler samples around seed nodes only (NodeLoader); "
                                  "link-level loaders need pyg-lib or torch-sparse")

    @property
    def edge_permutation(self):
        return None


def neighbor_loader(data: Data, num_neighbors: Sequence[int], *, batch_size: int, input_nodes=None,
                    shuffle: bool = True, force_torch: bool = False, **kwargs) -> NodeLoader:
    """Mini-batches of seed nodes with their sampled ``len(num_neighbors)``-hop neighbourhoods.

    PyG's ``NeighborLoader`` (fast C++ sampling) when pyg-lib or torch-sparse is installed, otherwise
    (or with ``force_torch``) a ``NodeLoader`` over :class:`TorchNeighborSampler`. Each batch is a ``Data``
    with ``n_id`` (global ids, seeds first), ``batch_size`` (number of seeds) and ``input_id``.
    """
    if (pyg_typing.WITH_PYG_LIB or pyg_typing.WITH_TORCH_SPARSE) and not force_torch:
        return NeighborLoader(data, list(num_neighbors), batch_size=batch_size, input_nodes=input_nodes,
                              shuffle=shuffle, **kwargs)
    return NodeLoader(data, node_sampler=TorchNeighborSampler(data, num_neighbors), input_nodes=input_nodes,
                      batch_size=batch_size, shuffle=shuffle, filter_per_worker=True, **kwargs)
