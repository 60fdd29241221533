"""A user's graph as the dataset the trainer and ``embed`` read: one item per step (the whole graph), or one item per
node with sampled neighbourhoods around each batch of seed nodes, never a ``Data`` indexed like a list.

- ``full`` (training a small graph): ``len`` 1; a batch is the whole graph (``Data``).
- ``neighbours`` (training a large graph): ``len`` = nodes; a batch is the ``Data`` of its seed nodes' sampled
  ``fanout`` neighbourhoods, seeds first (``batch_size`` of them).
- ``embed``: ``len`` = nodes; a batch is ``{"graph": Data, "index", "label"}`` holding every neighbour for
  ``len(fanout) + 1`` hops (the last hop completes the degrees GCN normalises by), so each embedding equals the
  full-graph one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import Data

from selfsup.core.data import FileSource, ItemIndex
from selfsup.graph.sampler import neighbor_loader

MODES = ("full", "neighbours", "embed")


class _PreparedBatches(FileSource):
    """What both graph sources share: :meth:`__getitems__` builds the whole batch (a graph, a neighbourhood, a batch
    of graphs), so a sample is a batch and :meth:`collate` only unwraps it."""

    domain = "graph"

    def __getitem__(self, i: int) -> Any:
        return self.__getitems__([i])[0]

    @staticmethod
    def collate(samples: list[Any]) -> Any:
        return samples[0]

    def embed_batch(self, graph: Data, indices: list[int]) -> dict[str, Any]:
        """``{"graph", "index" (B,), "label" (B,) (-1 = none), "skipped"}``: what ``embed`` reads."""
        nodes = torch.as_tensor(indices, dtype=torch.long)
        labels = torch.as_tensor(self.labels[nodes.numpy()]) if self.labels is not None else torch.full_like(nodes, -1)
        return {"graph": graph, "index": nodes, "label": labels, "skipped": []}


class GraphSource(_PreparedBatches):
    """``index``: the node ids (``"label"`` column when nodes.csv has labels); ``data``: the graph."""

    def __init__(self, root: Path, index: ItemIndex, data: Data, mode: str, fanout: Sequence[int] = (10, 10),
                 **kwargs) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        super().__init__(root, index, **kwargs)
        self.data, self.mode, self.fanout = data, mode, list(fanout)
        self.max_workers = 0 if mode == "full" else None  # one whole graph a step: nothing to read ahead
        self._sampler = None

    def __len__(self) -> int:
        return 1 if self.mode == "full" else self.data.num_nodes

    def _loader(self):
        if self._sampler is None:  # built lazily: in each DataLoader worker, after the fork
            # embed: every in-edge of every node within len(fanout) hops, so GCN's degree normalisation is exact too
            hops = self.fanout if self.mode == "neighbours" else [-1] * (len(self.fanout) + 1)
            self._sampler = neighbor_loader(self.data, hops, batch_size=1, shuffle=False)
        return self._sampler

    def __getitems__(self, indices: list[int]) -> list[Any]:
        if self.mode == "full":
            return [self.data for _ in indices]
        graph = self._loader().collate_fn(torch.as_tensor(indices, dtype=torch.long))
        return [graph if self.mode == "neighbours" else self.embed_batch(graph, indices)]


class GraphListSource(_PreparedBatches):
    """Many small graphs, one item each. Training batches are a PyG ``Batch`` of the graphs; embedding batches
    ``{"graph": Batch, "index", "label"}``."""

    def __init__(self, root: Path, index: ItemIndex, graphs: list[Data], embed: bool = False, **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        self.graphs, self.embed = graphs, embed

    def __getitems__(self, indices: list[int]) -> list[Any]:
        from torch_geometric.data import Batch

        batch = Batch.from_data_list([self.graphs[i] for i in indices])
        return [self.embed_batch(batch, indices) if self.embed else batch]
