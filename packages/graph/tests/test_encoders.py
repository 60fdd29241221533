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
