"""kNN, linear probe and RankMe on data whose answer is known."""

import numpy as np
import pytest
import torch

from selfsup.core.eval import knn_accuracy, knn_predict, linear_probe, rankme


def _clusters(n_per_class=60, classes=5, dim=32, spread=0.15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=gen)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    x = centers[labels] + spread * torch.randn(labels.shape[0], dim, generator=gen)
    perm = torch.randperm(labels.shape[0], generator=gen)
    return x[perm], labels[perm]


def test_knn_separates_clustered_gaussians():
    x, y = _clusters()
    assert knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=10) == 1.0


def test_knn_is_chance_on_random_labels():
    x, _ = _clusters(n_per_class=200, seed=1)
    y = torch.randint(0, 5, (x.shape[0],), generator=torch.Generator().manual_seed(2))
    acc = knn_accuracy(x[:800], y[:800], x[800:], y[800:], k=20)
    assert 0.1 < acc < 0.35


def test_knn_votes_are_temperature_weighted():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.05]])
    # Two far votes outnumber one near vote at a high temperature, not at a low one.
    assert knn_predict(train, labels, query, k=3, temperature=100.0).item() == 1
    assert knn_predict(train, labels, query, k=3, temperature=0.05).item() == 0


def test_knn_chunks_give_the_same_predictions():
    x, y = _clusters(seed=3, spread=1.0)
    a = knn_predict(x[:200], y[:200], x[200:], k=7, chunk_size=7)
    b = knn_predict(x[:200], y[:200], x[200:], k=7, chunk_size=4096)
    assert torch.equal(a, b)


@pytest.mark.parametrize("backend", ["sklearn", "torch"])
def test_linear_probe_solves_a_linearly_separable_task(backend):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(600, 20, generator=gen)
    w = torch.randn(20, 3, generator=gen)
    y = (x @ w).argmax(dim=1)
    result = linear_probe(x[:400], y[:400], x[400:], y[400:], backend=backend)
    assert result.accuracy > 0.9 and result.train_accuracy > 0.9


def test_linear_probe_accepts_numpy_and_rejects_bad_input():
    x, y = _clusters()
    result = linear_probe(x[:200].numpy(), y[:200].numpy(), x[200:].numpy(), y[200:].numpy())
    assert result.accuracy == 1.0
    with pytest.raises(ValueError, match=r"labels must have shape \(200,\)"):
        linear_probe(x[:200], y[:199], x[200:], y[200:])
    bad = x[:200].clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(bad, y[:200], x[200:], y[200:])
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe(x[:200], np.zeros(200), x[200:], y[200:])


def test_rankme_of_collapsed_and_isotropic_embeddings():
    gen = torch.Generator().manual_seed(5)
    collapsed = torch.randn(500, 1, generator=gen) * torch.randn(1, 64, generator=gen)
    assert rankme(collapsed) == pytest.approx(1.0, abs=0.01)
    isotropic = torch.randn(4000, 64, generator=gen)
    assert rankme(isotropic) > 60
    low_rank = torch.randn(1000, 8, generator=gen) @ torch.randn(8, 64, generator=gen)
    assert 5 < rankme(low_rank) <= 8.01
    tall = torch.randn(3000, 40, generator=gen) * torch.linspace(0.01, 3, 40)  # the Gram-matrix route
    sigma = torch.linalg.svdvals(tall.double())
    p = sigma / sigma.sum() + 1e-7
    assert rankme(tall) == pytest.approx(float(torch.exp(-(p * p.log()).sum())), rel=1e-9)


def test_rankme_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        rankme(torch.randn(0, 4))
    with pytest.raises(ValueError, match="NaN"):
        rankme(torch.tensor([[1.0, float("nan")]]))
