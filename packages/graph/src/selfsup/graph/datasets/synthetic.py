"""Generated graphs with known structure: a stochastic-block-model node graph and a graph-classification set."""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import degree, stochastic_blockmodel_graph, to_undirected

from selfsup.graph.datasets.splits import random_node_split


def _bag_of_words(y: torch.Tensor, num_blocks: int, vocabulary: int, words: int, topic_share: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Binary bag-of-words rows: ``words`` distinct words per node, drawn from a background uniform over the
    vocabulary mixed (``topic_share``) with its community's topic of ``vocabulary // 8`` words."""
    topics = torch.full((num_blocks, vocabulary), (1 - topic_share) / vocabulary)
    for block in range(num_blocks):
        topic_words = torch.randperm(vocabulary, generator=generator)[: vocabulary // 8]
        topics[block, topic_words] += topic_share / len(topic_words)
    drawn = torch.multinomial(topics[y], words, replacement=False, generator=generator)
    return torch.zeros(y.numel(), vocabulary).scatter_(1, drawn, 1.0)


def sbm_graph(num_blocks: int = 5, block_size: int = 120, *, p_in: float = 0.03, p_out: float = 0.006,
              features: str = "bag_of_words", feature_dim: int = 400, words: int = 12, topic_share: float = 0.3,
              feature_signal: float = 0.5, seed: int = 0) -> Data:
    """A stochastic-block-model graph whose communities are the labels.

    ``features="bag_of_words"`` (the default) gives Cora-like sparse binary rows: ``words`` of ``feature_dim``
    words per node, a ``topic_share`` of them from the community's topic, so single nodes are ambiguous and
    word co-occurrence over the graph carries the signal (where SSL helps over a random-init GNN).
    ``features="gaussian"``: the community's random centroid times ``feature_signal`` plus unit Gaussian noise.
    Edges from ``torch_geometric.utils.stochastic_blockmodel_graph`` (undirected); masks from
    :func:`random_node_split` (20 per class, at most ``block_size // 4``; the rest split 1:2 between
    validation and test).
    """
    if num_blocks < 2 or block_size < 2:
        raise ValueError(f"need at least 2 blocks of 2 nodes, got {num_blocks} x {block_size}")
    if features not in ("bag_of_words", "gaussian"):
        raise ValueError(f"features must be 'bag_of_words' or 'gaussian', got {features!r}")
    generator = torch.Generator().manual_seed(seed)
    probs = torch.full((num_blocks, num_blocks), p_out)
    probs.fill_diagonal_(p_in)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        edge_index = stochastic_blockmodel_graph([block_size] * num_blocks, probs, directed=False)
    y = torch.arange(num_blocks).repeat_interleave(block_size)
    if features == "bag_of_words":
        x = _bag_of_words(y, num_blocks, feature_dim, words, topic_share, generator)
    else:
        centroids = torch.randn(num_blocks, feature_dim, generator=generator)
        x = feature_signal * centroids[y] + torch.randn(y.numel(), feature_dim, generator=generator)
    per_class = min(20, block_size // 4)
    rest = y.numel() - per_class * num_blocks
    train, val, test = random_node_split(y, train_per_class=per_class, num_val=rest // 3,
                                         num_test=rest - rest // 3, seed=seed)
    return Data(x=x, edge_index=edge_index, y=y, train_mask=train, val_mask=val, test_mask=test,
                num_nodes=y.numel())


def sbm_graph_classification(num_graphs: int = 300, *, min_nodes: int = 24, max_nodes: int = 48,
                             p_in: float = 0.35, p_out: float = 0.03, max_degree: int = 16,
                             seed: int = 0) -> list[Data]:
    """Graphs labelled by their number of communities (class ``c`` has ``c + 2`` blocks), with one-hot
    degree features (capped at ``max_degree``) as TU benchmarks use for unlabelled nodes: only the
    structure tells the classes apart."""
    generator = torch.Generator().manual_seed(seed)
    graphs = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(num_graphs):
            label = i % 3
            blocks = label + 2
            n = int(torch.randint(min_nodes, max_nodes + 1, (1,), generator=generator))
            sizes = [n // blocks + (1 if b < n % blocks else 0) for b in range(blocks)]
            probs = torch.full((blocks, blocks), p_out)
            probs.fill_diagonal_(p_in)
            edge_index = to_undirected(stochastic_blockmodel_graph(sizes, probs), num_nodes=n)
            deg = degree(edge_index[0], n).long().clamp_max(max_degree)
            x = torch.nn.functional.one_hot(deg, max_degree + 1).float()
            graphs.append(Data(x=x, edge_index=edge_index, y=torch.tensor([label]), num_nodes=n))
    return graphs
