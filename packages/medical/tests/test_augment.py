from __future__ import annotations

import torch

from selfsup.medical.augment import (
    ClassBalancedCrops,
    bezier_intensity,
    crop_at,
    cutout,
    local_shuffle,
    paint,
    random_crop_corners,
    rotate90,
)
from selfsup.medical.methods import overlap_fractions


def test_crops_are_slices_inside_the_volume():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(3, 2, 10, 12, 14)
    corners = random_crop_corners(3, v.shape[2:], 6, g)
    assert (corners >= 0).all() and (corners + 6 <= torch.tensor([10, 12, 14])).all()
    crops = crop_at(v, corners, 6)
    x, y, z = corners[1].tolist()
    assert torch.equal(crops[1], v[1, :, x:x + 6, y:y + 6, z:z + 6])


def test_class_balanced_crops_see_a_rare_class_as_often_as_the_others():
    labels = torch.zeros(2, 24, 24, 24, dtype=torch.long)
    labels[:, 12:, :, :] = 1                     # half the voxels
    labels[0, 2:4, 2:4, 2:4] = 2                 # 8 voxels of a rare class, in volume 0 only
    crops = ClassBalancedCrops(labels, num_classes=3, size=8, seed=0)
    pick = torch.tensor([0] * 300 + [1] * 30)
    corners = crops(pick)
    assert corners.shape == (330, 3) and (corners >= 0).all() and (corners + 8 <= 24).all()
    windows = crop_at(labels[pick][:, None], corners, 8)
    has_rare = (windows[:300] == 2).flatten(1).any(1).float().mean()
    uniform = (4 / 17) ** 3  # a uniform crop holds the rare box when its corner is in 0..3 on each of 3 axes
    assert 0.25 < has_rare < 0.45 and has_rare > 10 * uniform  # ~1/3 of volume 0's crops (3 classes drawn evenly)
    assert not (windows[300:] == 2).any()        # volume 1 has no rare voxel: only its two classes are drawn


def test_rotate90_per_sample():
    v = torch.randn(2, 1, 4, 4, 4)
    out = rotate90(v, torch.tensor([1, 0]))
    assert torch.equal(out[1], v[1]) and torch.equal(out[0], torch.rot90(v[0], 1, (1, 2)))
    assert torch.equal(rotate90(rotate90(out, torch.tensor([3, 0])), torch.tensor([0, 0])), v)


def test_cutout_hides_the_requested_share():
    v = torch.rand(2, 1, 16, 16, 16)
    out, mask = cutout(v, ratio=0.3, generator=torch.Generator().manual_seed(0))
    share = mask.float().mean(dim=(1, 2, 3, 4))
    assert (share >= 0.3).all() and (share < 0.6).all()
    assert torch.equal(out[~mask.expand_as(v)], v[~mask.expand_as(v)])


def test_genesis_transforms():
    g = torch.Generator().manual_seed(0)
    v = torch.rand(3, 1, 12, 12, 12)
    curved = bezier_intensity(v, g)
    assert curved.min() >= 0 and curved.max() <= 1
    for i in range(3):  # a monotonic curve keeps (or reverses) the order of intensities
        order = v[i].flatten().argsort()
        diffs = curved[i].flatten()[order].diff()
        assert (diffs >= -1e-5).all() or (diffs <= 1e-5).all()
    shuffled = local_shuffle(v, blocks=50, generator=g)
    assert torch.equal(shuffled.flatten(1).sort(dim=1).values, v.flatten(1).sort(dim=1).values)
    assert not torch.equal(shuffled, v)
    painted = paint(v, generator=g)
    assert painted.shape == v.shape and (painted != v).any(dim=(1, 2, 3, 4)).all()


def test_voco_overlaps_sum_to_one_over_a_tiling_grid():
    base = torch.tensor([[x, y, z] for x in (0, 8) for y in (0, 8) for z in (0, 8)])
    corners = torch.tensor([[[0, 0, 0], [4, 0, 0], [3, 5, 7]]])
    frac = overlap_fractions(corners, base, 8)
    torch.testing.assert_close(frac.sum(-1), torch.ones(1, 3))
    assert frac[0, 0, 0] == 1.0
    torch.testing.assert_close(frac[0, 1, [0, 4]], torch.tensor([0.5, 0.5]))
    assert abs(float(frac[0, 2, 0]) - 5 * 3 * 1 / 512) < 1e-6
