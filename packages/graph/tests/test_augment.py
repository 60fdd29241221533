import pytest
import torch

from selfsup.graph.augment import drop_edges, drop_nodes, mask_features, ppr_diffusion, sample_subgraph


def test_drop_edges_keeps_a_subset(sbm):
    kept = drop_edges(sbm.edge_index, 0.3)
    assert 0.6 < kept.shape[1] / sbm.edge_index.shape[1] < 0.8
    original = set(map(tuple, sbm.edge_index.T.tolist()))
    assert set(map(tuple, kept.T.tolist())) <= original
    assert torch.equal(drop_edges(sbm.edge_index, 0.0), sbm.edge_index)
    with pytest.raises(ValueError, match="edge drop probability"):
        drop_edges(sbm.edge_index, 1.0)


def test_mask_features_zeroes_whole_columns(sbm):
    masked = mask_features(sbm.x, 0.5)
    zero_columns = (masked == 0).all(0)
    assert 0 < zero_columns.sum() < sbm.num_features
    torch.testing.assert_close(masked[:, ~zero_columns], sbm.x[:, ~zero_columns])


def test_drop_nodes_isolates_dropped_nodes(sbm):
    edges = drop_nodes(sbm.edge_index, sbm.num_nodes, 0.5)
    present = torch.unique(edges)
    assert 0.2 * sbm.num_nodes < present.numel() < 0.8 * sbm.num_nodes
    assert edges.shape[1] < sbm.edge_index.shape[1]


def test_sample_subgraph_keeps_the_requested_share(sbm):
    edges, mask = sample_subgraph(sbm.edge_index, sbm.num_nodes, keep=0.5)
    assert mask.sum() == round(0.5 * sbm.num_nodes)
    assert mask[edges].all()  # induced: both ends kept


def test_ppr_diffusion_matches_dense_formula():
    from torch_geometric.utils import to_dense_adj

    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 0, 0, 2], [1, 0, 2, 1, 3, 2, 0, 3, 2, 0]])
    n, alpha = 4, 0.2
    diffusion_edges, weight = ppr_diffusion(edge_index, n, alpha=alpha, top_k=n)
    a = to_dense_adj(edge_index, max_num_nodes=n)[0] + torch.eye(n)
    d = a.sum(1).pow(-0.5)
    t = d[:, None] * a * d[None, :]
    s = alpha * torch.linalg.inv(torch.eye(n) - (1 - alpha) * t)
    s = s / s.sum(0, keepdim=True)  # GDC's column normalisation after sparsification
    dense = to_dense_adj(diffusion_edges, edge_attr=weight, max_num_nodes=n)[0]
    torch.testing.assert_close(dense, s, rtol=1e-4, atol=1e-5)
