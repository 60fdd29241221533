import pytest
import torch
from torch_geometric.data import Batch, Data

from selfsup.graph.build import NODE_METHODS, build_encoder, build_method
from selfsup.graph.datasets import sbm_graph_classification
from selfsup.graph.methods import cca_ssg_loss, scaled_cosine_error
from selfsup.graph.pretrain import pretrain_graphs, pretrain_nodes
from selfsup.graph.sampler import neighbor_loader


def small(name, in_dim):
    overrides = {"hidden": 32} if name != "graphcl" else {"hidden": 16}
    if name == "graphmae":
        overrides["heads"] = 2
    return build_encoder(name, in_dim, **overrides)


@pytest.mark.parametrize("name", NODE_METHODS)
def test_node_methods_learn_on_full_graph(name, sbm):
    method = build_method(name, small(name, sbm.num_features), **({"predictor_hidden": 32} if name == "bgrl" else {}))
    optimizer = torch.optim.Adam(method.parameters(), lr=1e-3)
    losses = []
    for _ in range(25):
        torch.manual_seed(1)  # the same augmentations each step: the loss must fall
        loss = method(sbm)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if hasattr(method, "update_teacher"):
            method.update_teacher(0.9)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", ["grace", "bgrl", "graphmae"])
def test_node_methods_train_on_sampled_neighbourhoods(name, sbm):
    method = build_method(name, small(name, sbm.num_features), **({"predictor_hidden": 32} if name == "bgrl" else {}))
    batch = next(iter(neighbor_loader(sbm, [5, 5], batch_size=24, force_torch=True)))
    out = method(batch)
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    summary = pretrain_nodes(method, sbm, epochs=1, batch_size=50, num_neighbors=[5, 5], progress=False)
    assert summary["steps"] == sbm.num_nodes // 50 and summary["final_loss"] is not None


def test_grace_loss_is_nt_xent_on_projected_views(sbm):
    from selfsup.core.objectives import nt_xent

    method = build_method("grace", small("grace", sbm.num_features))
    torch.manual_seed(3)
    loss = method(sbm)["loss"]
    torch.manual_seed(3)
    from selfsup.graph.methods._graph_batch import augmented_view

    z = [method.projector(method.encoder(*augmented_view(sbm.x, sbm.edge_index, de, mf)))
         for de, mf in zip(method.drop_edge, method.mask_feature, strict=True)]
    torch.testing.assert_close(loss, nt_xent(z[0], z[1], method.temperature), rtol=1e-4, atol=1e-5)


def test_scaled_cosine_error_reference():
    a, b = torch.randn(20, 7), torch.randn(20, 7)
    expected = ((1 - (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))) ** 3).mean()
    torch.testing.assert_close(scaled_cosine_error(a, b, 3.0), expected)
    assert scaled_cosine_error(a, 2 * a).abs() < 1e-6
    with pytest.raises(ValueError, match="alpha"):
        scaled_cosine_error(a, b, 0.5)


def test_cca_ssg_loss_reference():
    h1, h2 = torch.randn(50, 6, dtype=torch.float64), torch.randn(50, 6, dtype=torch.float64)
    z1 = (h1 - h1.mean(0)) / h1.std(0) / 50**0.5
    z2 = (h2 - h2.mean(0)) / h2.std(0) / 50**0.5
    eye = torch.eye(6, dtype=torch.float64)
    expected = -torch.trace(z1.T @ z2) + 0.01 * (((eye - z1.T @ z1) ** 2).sum() + ((eye - z2.T @ z2) ** 2).sum())
    torch.testing.assert_close(cca_ssg_loss(h1, h2, 0.01), expected)
    # identical views: the invariance term is -D (N - 1) / N (unbiased std, as CCA-SSG)
    assert cca_ssg_loss(h1, h1, 0.0) == pytest.approx(-6 * 49 / 50, abs=1e-9)


def test_graphcl_trains_on_graph_batches():
    graphs = sbm_graph_classification(24, seed=1)
    encoder = small("graphcl", graphs[0].num_features)
    method = build_method("graphcl", encoder)
    out = method(Batch.from_data_list(graphs[:8]))
    assert torch.isfinite(out["loss"])
    summary = pretrain_graphs(method, graphs, epochs=2, batch_size=8, progress=False)
    assert summary["steps"] == 6
    with pytest.raises(ValueError, match="at least 2 graphs"):
        method(Batch.from_data_list(graphs[:1]))


def test_bad_graphs_are_named(sbm):
    method = build_method("cca_ssg", small("cca_ssg", sbm.num_features))
    with pytest.raises(ValueError, match="empty"):
        method(Data(x=torch.zeros(0, sbm.num_features), edge_index=torch.zeros(2, 0, dtype=torch.long)))
    bad = sbm.clone()
    bad.x = bad.x.clone()
    bad.x[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        method(bad)
    out_of_range = sbm.clone()
    out_of_range.edge_index = out_of_range.edge_index.clone()
    out_of_range.edge_index[0, 0] = sbm.num_nodes + 5
    with pytest.raises(ValueError, match="refers to node"):
        method(out_of_range)


def test_projected_gat_decoder_equals_gatconv_with_mapped_attention():
    """Aggregating in the hidden width then projecting is GATConv(hidden, out) with u = W^T u'."""
    from torch_geometric.nn import GATConv

    from selfsup.graph.methods.graphmae import ProjectedGATDecoder

    torch.manual_seed(0)
    n, hidden, out = 50, 16, 40
    x, edge_index = torch.randn(n, hidden), torch.randint(0, n, (2, 200))
    reference, decoder = GATConv(hidden, out, heads=1), ProjectedGATDecoder(hidden, out)
    torch.nn.init.normal_(reference.bias)
    weight = reference.lin.weight  # (out, hidden)
    with torch.no_grad():
        decoder.attention.att_src.copy_((reference.att_src.view(1, out) @ weight).view(1, 1, hidden))
        decoder.attention.att_dst.copy_((reference.att_dst.view(1, out) @ weight).view(1, 1, hidden))
        decoder.project.weight.copy_(weight)
        decoder.project.bias.copy_(reference.bias)
    torch.testing.assert_close(decoder(x, edge_index), reference(x, edge_index), atol=1e-5, rtol=1e-5)
    decoder.attention.reset_parameters()  # GATConv's reset must not trip over the removed input transform


def test_bgrl_target_starts_as_a_copy_or_from_its_own_init(sbm):
    torch.manual_seed(0)
    copied = build_method("bgrl", small("bgrl", sbm.num_features), predictor_hidden=32)
    own = build_method("bgrl", small("bgrl", sbm.num_features), predictor_hidden=32, reinit_target=True)
    for method, same in ((copied, True), (own, False)):
        online, target = method.encoder.convs[0].lin.weight, method.teacher.module.convs[0].lin.weight
        assert torch.equal(online, target) == same
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in copied.predictor)  # the paper code's predictor
