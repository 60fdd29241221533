"""Mask generators (ratios, shapes, structure), keep/restore, and positional encodings."""

import pytest
import torch

from selfsup.core.trunk import (
    LearnedPositionalEmbedding,
    block_mask,
    drop_masked,
    feature_subset_mask,
    interpolate_grid,
    inverse_block_mask,
    random_mask,
    restore_masked,
    sincos_1d,
    sincos_grid,
    tube_mask,
)

GEN = torch.Generator


@pytest.mark.parametrize("ratio", [0.0, 0.25, 0.6, 0.9])
def test_every_generator_masks_exactly_the_ratio(ratio):
    gen = GEN().manual_seed(0)
    cases = {
        "random": random_mask(5, 50, ratio, generator=gen),
        "feature": feature_subset_mask(5, 50, ratio, generator=gen),
        "block": block_mask(5, (8, 10), ratio, generator=gen),
        "inverse block": inverse_block_mask(5, (8, 10), ratio, generator=gen),
        "tube video": tube_mask(5, (4, 5, 6), ratio, generator=gen),
        "tube time": tube_mask(5, (20, 8), ratio, shared_axes=(1,), generator=gen),
    }
    for name, mask in cases.items():
        n = mask.shape[1]
        assert mask.dtype == torch.bool and mask.shape[0] == 5, name
        expected = {"tube video": round(ratio * 30) * 4, "tube time": round(ratio * 20) * 8}.get(name, round(ratio * n))
        assert mask.sum(dim=1).tolist() == [expected] * 5, name


def test_masks_have_their_structure():
    gen = GEN().manual_seed(1)
    video = tube_mask(2, (4, 5, 6), 0.5, generator=gen).reshape(2, 4, 5, 6)
    assert (video == video[:, :1]).all()  # same spatial mask in every frame
    time = tube_mask(2, (20, 8), 0.5, shared_axes=(1,), generator=gen).reshape(2, 20, 8)
    assert (time == time[:, :, :1]).all()  # whole time steps
    blocks = block_mask(200, (14, 14), 0.4, generator=gen).reshape(200, 14, 14).float()
    # blockwise masks are spatially clustered: a masked token's right neighbour is more often masked
    neighbour = (blocks[:, :, 1:] * blocks[:, :, :-1]).sum() / blocks[:, :, :-1].sum()
    assert neighbour > 0.6
    randoms = random_mask(200, 196, 0.4, generator=gen).reshape(200, 14, 14).float()
    assert (randoms[:, :, 1:] * randoms[:, :, :-1]).sum() / randoms[:, :, :-1].sum() < 0.45
    shared = feature_subset_mask(4, 10, 0.3, per_sample=False, generator=gen)
    assert (shared == shared[:1]).all()


def test_drop_and_restore_round_trip():
    gen = GEN().manual_seed(2)
    tokens = torch.randn(4, 12, 6, generator=gen)
    mask = random_mask(4, 12, 0.75, generator=gen)
    kept, ids_restore = drop_masked(tokens, mask)
    assert kept.shape == (4, 3, 6)
    torch.testing.assert_close(kept, tokens[~mask].reshape(4, 3, 6))  # visible tokens, original order
    restored = restore_masked(kept, ids_restore, torch.full((6,), 7.0))
    torch.testing.assert_close(restored[~mask], tokens[~mask])
    assert (restored[mask] == 7.0).all()
    uneven = mask.clone()
    uneven[0] = False
    with pytest.raises(ValueError, match="same number of tokens"):
        drop_masked(tokens, uneven)
    with pytest.raises(ValueError, match=r"mask ratio must lie in \[0, 1\)"):
        random_mask(2, 4, 1.0)


def test_sincos_values_and_grids():
    pos = sincos_1d(torch.arange(5), 8)
    assert pos.shape == (5, 8)
    torch.testing.assert_close(pos[:, 0], torch.sin(torch.arange(5.0)))
    torch.testing.assert_close(pos[:, 4], torch.cos(torch.arange(5.0)))
    torch.testing.assert_close(pos[3, 1], torch.sin(torch.tensor(3.0 / 10000 ** 0.25)))
    grid2 = sincos_grid((3, 4), 16)
    assert grid2.shape == (12, 16)
    torch.testing.assert_close(grid2[5, :8], sincos_1d(torch.tensor([1]), 8)[0])  # row 1
    torch.testing.assert_close(grid2[5, 8:], sincos_1d(torch.tensor([1]), 8)[0])  # column 1
    assert sincos_grid((2, 3, 4), 24).shape == (24, 24)
    with pytest.raises(ValueError, match="divisible by 6"):
        sincos_grid((2, 3, 4), 16)


def test_interpolation_keeps_identity_and_resamples_smoothly():
    table = sincos_grid((8, 8), 32)
    assert interpolate_grid(table, (8, 8), (8, 8)) is table
    bigger = interpolate_grid(table, (8, 8), (16, 16))
    assert bigger.shape == (256, 32)
    # a bilinear/bicubic resample of a smooth table stays close to the table of the finer grid scaled
    coarse_again = interpolate_grid(bigger, (16, 16), (8, 8))
    assert float((coarse_again - table).abs().mean()) < 0.05
    learned = LearnedPositionalEmbedding((4, 6), 12)
    assert learned().shape == (1, 24, 12) and learned((8, 12)).shape == (1, 96, 12)
    assert learned((8, 12)).requires_grad
    with pytest.raises(ValueError, match="needs 20"):
        interpolate_grid(table, (4, 5), (8, 8))
    assert 0.015 < float(LearnedPositionalEmbedding((40, 25), 16, init="normal").weight.detach().std()) < 0.025


def test_gather_tokens_picks_the_indexed_tokens_per_sample():
    from selfsup.core.trunk import gather_tokens

    tokens = torch.randn(2, 5, 3)
    index = torch.tensor([[4, 0], [1, 1]])
    out = gather_tokens(tokens, index)
    assert out.shape == (2, 2, 3)
    assert torch.equal(out[0, 0], tokens[0, 4]) and torch.equal(out[0, 1], tokens[0, 0])
    assert torch.equal(out[1, 0], tokens[1, 1]) and torch.equal(out[1, 1], tokens[1, 1])
