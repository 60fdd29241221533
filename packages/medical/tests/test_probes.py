from __future__ import annotations

import torch

from selfsup.medical import build_encoder, embed_volumes, intensity_histogram, ridge_probe_cv
from selfsup.medical.probes import tile_corners


def test_tiles_cover_the_volume():
    corners = tile_corners((64, 48, 32), 32)
    assert {c[0] for c in corners} == {0, 32} and {c[1] for c in corners} == {0, 16} and {c[2] for c in corners} == {0}


def test_embeddings_and_histograms():
    images = torch.rand(3, 1, 64, 32, 32)
    features = embed_volumes(build_encoder("unet3d_tiny"), images, crop=32, batch_size=2)
    assert features.shape == (3, 64) and torch.isfinite(features).all()
    hist = intensity_histogram(images)
    torch.testing.assert_close(hist.sum(1), torch.ones(3))


def test_ridge_probe_recovers_a_linear_target_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g)
    y = x @ torch.randn(6, 2, generator=g)
    assert ridge_probe_cv(x, y) > 0.99
    assert ridge_probe_cv(torch.randn(40, 6, generator=g), y) < 0.2
