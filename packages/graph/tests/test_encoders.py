import pytest
import torch

from selfsup.graph.encoders import GraphEncoder, NodeEncoder


@pytest.mark.parametrize("kind", ["gcn", "gat", "gin"])
def test_node_encoder_shapes(kind, sbm):
    encoder = NodeEncoder(kind, sbm.num_features, hidden=32, num_layers=2, heads=4)
    out = encoder(sbm.x, sbm.edge_index)
    assert out.shape == (sbm.num_nodes, 32) and encoder.out_dim == 32
    assert torch.isfinite(out).all()


def test_concat_layers_and_last_activation(sbm):
    encoder = NodeEncoder("gcn", sbm.num_features, hidden=16, num_layers=3, act="relu", concat_layers=True)
    out = encoder(sbm.x, sbm.edge_index)
    assert out.shape == (sbm.num_nodes, 48) and encoder.out_dim == 48
    assert (out >= 0).all()  # ReLU after every layer
    linear_last = NodeEncoder("gcn", sbm.num_features, hidden=16, num_layers=2, act="relu", act_last=False)
    assert (linear_last(sbm.x, sbm.edge_index) < 0).any()


def test_graph_encoder_pools_each_graph(sbm):
    from torch_geometric.data import Batch

    node = NodeEncoder("gin", sbm.num_features, hidden=8, num_layers=2)
    encoder = GraphEncoder(node, "sum").eval()
    batch = Batch.from_data_list([sbm, sbm])
    pooled = encoder(batch.x, batch.edge_index, batch.batch)
    assert pooled.shape == (2, 8)
    torch.testing.assert_close(pooled[0], node(sbm.x, sbm.edge_index).sum(0), rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(pooled[0], pooled[1])


def test_bad_inputs_are_named(sbm):
    encoder = NodeEncoder("gcn", sbm.num_features, hidden=8)
    with pytest.raises(ValueError, match="node features must be"):
        encoder(sbm.x[:, :3], sbm.edge_index)
    with pytest.raises(ValueError, match="edge_index must be"):
        encoder(sbm.x, sbm.edge_index.T)
    with pytest.raises(ValueError, match="unknown GNN kind"):
        NodeEncoder("sage", 4)
    with pytest.raises(ValueError, match="divisible by heads"):
        NodeEncoder("gat", 4, hidden=10, heads=4)


def test_sparse_features_and_csr_adjacency_match_the_dense_edge_list_path():
    from torch_geometric.nn import GCNConv
    from torch_geometric.utils import coalesce, remove_self_loops

    from selfsup.graph.encoders.gnn import gcn_graph
    from selfsup.graph.encoders.sparse_linear import SparseInputLinear

    torch.manual_seed(0)
    n, f = 300, 400
    x = (torch.rand(n, f) < 0.02).float() * torch.rand(n, f)  # bag-of-words-like: 2% non-zero
    edge_index = torch.randint(n, (2, 1500))  # directed: the aggregation direction matters
    edge_index = coalesce(remove_self_loops(edge_index)[0])  # a simple graph takes the CSR path
    assert gcn_graph(edge_index, n).layout == torch.sparse_csr
    repeated = torch.cat([edge_index, edge_index[:, :5]], 1)
    assert torch.equal(gcn_graph(repeated, n), repeated)  # merging repeats would change the degrees
    looped = torch.cat([edge_index, torch.tensor([[3], [3]])], 1)
    assert torch.equal(gcn_graph(looped, n), looped)
    encoder = NodeEncoder("gcn", f, hidden=24, num_layers=2, act="prelu")
    lin = encoder.convs[0].lin
    assert isinstance(lin, SparseInputLinear) and lin.uses_sparse(x) and not lin.uses_sparse(x.clone() + 1)
    reference = []
    for i, conv in enumerate(encoder.convs):  # plain GCNConv layers with the same weights, edge-list input
        plain = GCNConv(f if i == 0 else 24, 24)
        plain.load_state_dict(conv.state_dict())
        reference.append(plain)
    out = encoder(x, edge_index)
    h = x
    for plain, act in zip(reference, encoder.acts, strict=True):
        h = act(plain(h, edge_index))
    torch.testing.assert_close(out, h, atol=1e-5, rtol=1e-4)
    out.square().sum().backward()
    h.square().sum().backward()
    torch.testing.assert_close(encoder.convs[0].lin.weight.grad, reference[0].lin.weight.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(encoder.convs[1].bias.grad, reference[1].bias.grad, atol=1e-4, rtol=1e-4)
