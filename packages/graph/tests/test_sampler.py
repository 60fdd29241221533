import pytest
import torch
from torch_geometric.utils import degree

from selfsup.graph.encoders import NodeEncoder
from selfsup.graph.pretrain import embed_nodes
from selfsup.graph.sampler import TorchNeighborSampler, neighbor_loader


def test_sampled_batches_are_subgraphs_with_seeds_first(sbm):
    loader = neighbor_loader(sbm, [4, 3], batch_size=32, force_torch=True)
    original = set(map(tuple, sbm.edge_index.T.tolist()))
    seen = 0
    for batch in loader:
        src, dst = batch.n_id[batch.edge_index[0]], batch.n_id[batch.edge_index[1]]
        assert set(zip(src.tolist(), dst.tolist(), strict=True)) <= original
        assert torch.equal(batch.x, sbm.x[batch.n_id]) and torch.equal(batch.y, sbm.y[batch.n_id])
        first_hop = batch.edge_index[:, : batch.num_sampled_edges[0]]
        fanout = degree(first_hop[1], batch.num_nodes)[: batch.batch_size]
        full = degree(sbm.edge_index[1], sbm.num_nodes)[batch.n_id[: batch.batch_size]]
        assert torch.equal(fanout, torch.minimum(full, torch.full_like(full, 4)))
        assert (first_hop[1] < batch.batch_size).all()
        seen += batch.batch_size
    assert seen == sbm.num_nodes


def test_full_neighbourhoods_give_full_graph_embeddings(sbm):
    encoder = NodeEncoder("gat", sbm.num_features, hidden=16, num_layers=2, heads=2)
    full = embed_nodes(encoder, sbm)
    sampled = torch.empty_like(full)
    for batch in neighbor_loader(sbm, [-1, -1], batch_size=40, shuffle=False, force_torch=True):
        with torch.no_grad():
            sampled[batch.n_id[: batch.batch_size]] = encoder.eval()(batch.x, batch.edge_index)[: batch.batch_size]
    torch.testing.assert_close(sampled, full, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(embed_nodes(encoder, sbm, batch_size=40), full, rtol=1e-4, atol=1e-5)


def test_sampler_rejects_bad_fanouts(sbm):
    with pytest.raises(ValueError, match="num_neighbors"):
        TorchNeighborSampler(sbm, [0])
    with pytest.raises(ValueError, match="num_neighbors"):
        TorchNeighborSampler(sbm, [])
