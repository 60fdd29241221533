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


class GraphSource(FileSource):
    """``index``: the node ids (``"label"`` column when nodes.csv has labels); ``data``: the graph."""

    domain = "graph"

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

    def readable_units(self) -> int:
        return self.data.num_nodes

    def _loader(self):
        if self._sampler is None:  # built lazily: in each DataLoader worker, after the fork
            # embed: every in-edge of every node within len(fanout) hops, so GCN's degree normalisation is exact too
            hops = self.fanout if self.mode == "neighbours" else [-1] * (len(self.fanout) + 1)
            self._sampler = neighbor_loader(self.data, hops, batch_size=1, shuffle=False)
        return self._sampler

    def __getitems__(self, indices: list[int]) -> list[Any]:
        if self.mode == "full":
            return [self.data for _ in indices]
        nodes = torch.as_tensor(indices, dtype=torch.long)
        graph = self._loader().collate_fn(nodes)
        if self.mode == "neighbours":
            return [graph]
        labels = self.data.y[nodes] if getattr(self.data, "y", None) is not None else torch.full_like(nodes, -1)
        return [{"graph": graph, "index": nodes, "label": labels, "skipped": []}]

    def __getitem__(self, i: int) -> Any:
        return self.__getitems__([i])[0]

    @staticmethod
    def collate(samples: list[Any]) -> Any:
        """The one graph or sampled neighbourhood :meth:`__getitems__` made for the batch."""
        return samples[0]

    def item_id(self, item: int) -> str:
        return self.index.id(item)

    def file_of(self, item: int) -> int:
        return item


class GraphListSource(FileSource):
    """Many small graphs, one item each. Training batches are a PyG ``Batch`` of the graphs; embedding batches
    ``{"graph": Batch, "index", "label"}``."""

    domain = "graph"

    def __init__(self, root: Path, index: ItemIndex, graphs: list[Data], embed: bool = False, **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        self.graphs, self.embed = graphs, embed

    def __getitems__(self, indices: list[int]) -> list[Any]:
        from torch_geometric.data import Batch

        batch = Batch.from_data_list([self.graphs[i] for i in indices])
        if not self.embed:
            return [batch]
        nodes = torch.as_tensor(indices, dtype=torch.long)
        return [{"graph": batch, "index": nodes, "label": torch.as_tensor(
            [int(self.labels[i]) if self.labels is not None else -1 for i in indices]), "skipped": []}]

    def __getitem__(self, i: int) -> Any:
        return self.__getitems__([i])[0]

    @staticmethod
    def collate(samples: list[Any]) -> Any:
        return samples[0]
