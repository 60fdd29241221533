"""Barlow Twins and VICReg give the same value and gradients through the Gram route as through D x D."""

import pytest
import torch

from selfsup.core.objectives import _cross_correlation, barlow_twins, vicreg


@pytest.mark.parametrize("n,d", [(8, 64), (64, 8)])
def test_frobenius_routes_agree(n, d):
    gen = torch.Generator().manual_seed(n)
    a, b = torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(n, d, generator=gen, dtype=torch.float64)
    assert _cross_correlation.uses_gram(n, d) == (n == 8)
    torch.testing.assert_close(_cross_correlation.frobenius_sq_of_cross(a, b), (a.T @ b).pow(2).sum())
    torch.testing.assert_close(_cross_correlation.frobenius_sq_of_cross(a, a), (a.T @ a).pow(2).sum())


@pytest.mark.parametrize("loss", [barlow_twins, vicreg])
def test_small_batch_large_dim_matches_the_correlation_route(monkeypatch, loss):
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(16, 256, generator=gen, dtype=torch.float64), torch.randn(16, 256, generator=gen,
                                                                                  dtype=torch.float64)
    values, grads = [], []
    for gram in (True, False):
        monkeypatch.setattr(_cross_correlation, "uses_gram", lambda n, d, g=gram: g)
        a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        value = loss(a, b)
        value.backward()
        values.append(value)
        grads.append((a.grad, b.grad))
    torch.testing.assert_close(values[0], values[1], rtol=1e-12, atol=1e-12)
    for g_gram, g_corr in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(g_gram, g_corr, rtol=1e-10, atol=1e-12)
