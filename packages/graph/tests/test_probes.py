import torch

from selfsup.graph.datasets import sbm_graph_classification
from selfsup.graph.probes import graph_probe, node_probe
from selfsup.graph.supervised import supervised_gcn


def test_node_probe_picks_c_on_validation(sbm):
    result = node_probe(sbm.x, sbm.y, sbm.train_mask, sbm.val_mask, sbm.test_mask)
    assert 0.3 < result["test"] <= 1.0 and result["c"] > 0
    noise = torch.randn(sbm.num_nodes, 16)
    assert node_probe(noise, sbm.y, sbm.train_mask, sbm.val_mask, sbm.test_mask)["test"] < 0.45


def test_graph_probe_separates_informative_embeddings():
    y = torch.arange(3).repeat(30)
    informative = torch.nn.functional.one_hot(y, 3).float() + 0.1 * torch.randn(90, 3)
    assert graph_probe(informative, y)["accuracy"] > 0.95
    assert graph_probe(torch.randn(90, 3), y)["accuracy"] < 0.7


def test_supervised_gcn_uses_the_graph(sbm):
    gcn = supervised_gcn(sbm, sbm.train_mask, sbm.val_mask, sbm.test_mask, epochs=100)
    raw = node_probe(sbm.x, sbm.y, sbm.train_mask, sbm.val_mask, sbm.test_mask)
    assert gcn["test"] > raw["test"] + 0.15


def test_sbm_graph_classes_differ_in_structure():
    graphs = sbm_graph_classification(30, seed=0)
    assert sorted({int(g.y) for g in graphs}) == [0, 1, 2]


def test_the_gcn_baseline_row_normalises_dense_or_sparse_features():
    from selfsup.graph.supervised import row_normalized

    x = torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])
    expected = torch.tensor([[0.25, 0.0, 0.75], [0.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert torch.equal(row_normalized(x), expected) and torch.equal(row_normalized(x.to_sparse_csr()), expected)
