from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.medical import build_encoder, embed_volumes, intensity_histogram, ridge_probe_cv
from selfsup.medical.probes import ClipToTrainingRange, _ridge, tile_corners


def test_tiles_cover_the_volume():
    corners = tile_corners((64, 48, 32), 32)
    assert {c[0] for c in corners} == {0, 32} and {c[1] for c in corners} == {0, 16} and {c[2] for c in corners} == {0}


def test_embeddings_and_histograms():
    images = torch.rand(3, 1, 64, 32, 32)
    features = embed_volumes(build_encoder("unet3d_tiny"), images, crop=32, batch_size=2)
    assert features.shape == (3, 64) and torch.isfinite(features).all()
    hist = intensity_histogram(images)
    torch.testing.assert_close(hist.sum(1), torch.ones(3))


def test_embeddings_send_at_most_batch_size_tiles_through_the_encoder():
    """Batches count tiles, not volumes (8 volumes of 128^3 at once put 64 SwinUNETR tiles in one forward: out of
    memory); each volume's features are still the mean over all its tiles."""
    torch.manual_seed(0)
    encoder = build_encoder("unet3d_tiny").eval()
    seen = []
    encoder.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    images = torch.rand(2, 1, 96, 64, 32)  # 3 x 2 x 1 = 6 tiles of 32^3 per volume
    features = embed_volumes(encoder, images, crop=32, batch_size=4)
    assert max(seen) <= 4 and sum(seen) == 12
    tiles = torch.stack([images[1, :, x:x + 32, y:y + 32, z:z + 32] for x, y, z in tile_corners((96, 64, 32), 32)])
    with torch.no_grad():
        torch.testing.assert_close(features[1], encoder(tiles).mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        embed_volumes(encoder, images, crop=32, batch_size=0)


def test_ridge_probe_recovers_a_linear_target_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g)
    y = x @ torch.randn(6, 2, generator=g)
    assert ridge_probe_cv(x, y) > 0.99
    assert ridge_probe_cv(torch.randn(40, 6, generator=g), y) < 0.2


def test_ridge_probe_does_not_extrapolate_a_feature_rare_in_training():
    """A feature that is 0 on every training volume but one, and large on a held-out volume, must not turn into a
    prediction far outside the targets' range (standardisation alone scales it by 1 / its tiny std)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(30, 4, generator=g)
    y = x[:, :1] * 2 + 0.1 * torch.randn(30, 1, generator=g)
    rare = torch.zeros(30, 1)
    rare[0], rare[-1] = 1e-3, 5.0  # tiny on one training volume, large on the held-out one
    train, test = np.arange(29), np.array([29])
    model = _ridge().fit(torch.cat([x, rare], 1).numpy()[train], y.numpy()[train])
    pred = np.ravel(model.predict(torch.cat([x, rare], 1).numpy()[test]))
    assert abs(float(pred[0]) - float(y[-1, 0])) < 1.0
    clipped = ClipToTrainingRange(margin=0.5).fit(rare.numpy()[train]).transform(rare.numpy()[test])
    assert float(clipped[0, 0]) == pytest.approx(1.5e-3)
