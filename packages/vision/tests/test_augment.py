"""Batched augmentations against torchvision's per-image functional ops."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from selfsup.vision.augment import (
    ImageAugment,
    adjust_hue,
    byol_views,
    color_jitter,
    crop_resize,
    gaussian_blur,
    multicrop_views,
    prepare_images,
    random_crop_boxes,
    random_grayscale,
    random_horizontal_flip,
    random_solarize,
    simclr_views,
)


@pytest.fixture
def images():
    return torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_crop_boxes_respect_scale_ratio_and_bounds():
    torch.manual_seed(0)
    boxes = random_crop_boxes(4000, 32, 40, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert bool((boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all())
    assert bool((boxes[:, 2] <= 40).all() and (boxes[:, 3] <= 32).all())
    area = w * h / (32 * 40)
    assert float(area.min()) > 0.17 and float(area.max()) < 0.65  # rounding to whole pixels
    assert float((w / h).min()) > 0.45 and float((w / h).max()) < 2.2
    assert boxes[:, 0].unique().numel() > 10  # positions vary per image


def test_crop_boxes_fallback_is_centre_crop():
    boxes = random_crop_boxes(3, 10, 100, scale=(1.0, 1.0), ratio=(1.0, 1.0))  # cannot fit: centre square
    assert boxes.tolist() == [[45.0, 0.0, 55.0, 10.0]] * 3


def test_crop_resize_matches_slicing_and_bilinear_resize(images):
    same = crop_resize(images, torch.tensor([[0.0, 0.0, 32.0, 32.0]] * 6), 32)
    torch.testing.assert_close(same, images, atol=1e-6, rtol=0)
    boxes = torch.tensor([[4.0, 8.0, 20.0, 24.0]] * 6)  # a 16x16 crop, up-scaled to 32x32
    # the crop's border pixels interpolate with their neighbours outside the box: resize the crop with a
    # one-pixel margin at twice the size, then cut the margin's two output pixels off each side
    with_margin = F.interpolate(images[:, :, 7:25, 3:21], size=(36, 36), mode="bilinear", align_corners=False)
    expected = with_margin[:, :, 2:34, 2:34]
    torch.testing.assert_close(crop_resize(images, boxes, 32), expected, atol=1e-5, rtol=0)


def test_flip(images):
    torch.testing.assert_close(random_horizontal_flip(images, 1.0), images.flip(-1))
    torch.testing.assert_close(random_horizontal_flip(images, 0.0), images)
    torch.manual_seed(1)
    mixed = random_horizontal_flip(images, 0.5)
    flipped = [bool(torch.equal(m, i.flip(-1))) for m, i in zip(mixed, images, strict=True)]
    assert 0 < sum(flipped) < len(flipped)


def test_color_jitter_is_identity_at_p0_and_per_image_otherwise(images):
    torch.testing.assert_close(color_jitter(images, p=0.0), images)
    torch.manual_seed(0)
    out = color_jitter(images * 0.5, brightness=0.4, contrast=0, saturation=0, hue=0, p=1.0)
    factors = (out / (images * 0.5)).flatten(1)
    torch.testing.assert_close(factors.min(1).values, factors.max(1).values, atol=1e-4, rtol=0)  # one per image
    assert factors[:, 0].unique().numel() == len(images)
    assert float(factors.min()) >= 0.6 - 1e-5 and float(factors.max()) <= 1.4 + 1e-5
    full = color_jitter(images, 0.4, 0.4, 0.4, 0.1, p=1.0)
    assert float(full.min()) >= 0 and float(full.max()) <= 1


def test_hue_rotation_keeps_grey_and_luma(images):
    shift = torch.linspace(-0.4, 0.4, len(images))
    torch.testing.assert_close(adjust_hue(images, torch.zeros(len(images))), images, atol=1e-5, rtol=0)
    grey = TF.rgb_to_grayscale(images, num_output_channels=3)
    torch.testing.assert_close(adjust_hue(grey, shift), grey, atol=1e-5, rtol=0)
    luma = torch.tensor([0.299, 0.587, 0.114])
    before = torch.einsum("c,bchw->bhw", luma, images)
    after = torch.einsum("c,bchw->bhw", luma, adjust_hue(images, shift))
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)
    assert not torch.allclose(adjust_hue(images, shift)[1:], images[1:], atol=1e-2)


def test_grayscale_and_solarize_match_torchvision(images):
    torch.testing.assert_close(random_grayscale(images, 1.0), TF.rgb_to_grayscale(images, num_output_channels=3))
    torch.testing.assert_close(random_solarize(images, 1.0), TF.solarize(images, 0.5))
    torch.testing.assert_close(random_solarize(images, 0.0), images)


def test_per_image_blur_matches_torchvision(images):
    sigma = torch.tensor([0.0, 0.3, 0.7, 1.0, 1.6, 2.0])
    out = gaussian_blur(images, sigma, 7)
    torch.testing.assert_close(out[0], images[0])
    for i in range(1, len(images)):
        expected = TF.gaussian_blur(images[i : i + 1], kernel_size=[7, 7], sigma=[float(sigma[i])] * 2)
        torch.testing.assert_close(out[i : i + 1], expected, atol=1e-5, rtol=0)


def test_pipelines_shapes_and_randomness():
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    v1, v2 = simclr_views(32)(batch)
    assert v1.shape == v2.shape == (8, 3, 32, 32) and v1.dtype == torch.float32
    assert not torch.allclose(v1, v2)
    b1, b2 = byol_views(32)(batch)
    assert b1.shape == b2.shape == (8, 3, 32, 32)
    crops = multicrop_views(32, num_local=3)(batch)
    assert [tuple(c.shape[-2:]) for c in crops] == [(32, 32)] * 2 + [(16, 16)] * 3
    torch.manual_seed(5)
    a = ImageAugment(size=24)(batch)
    torch.manual_seed(5)
    b = ImageAugment(size=24)(batch)
    torch.testing.assert_close(a, b)  # seeded runs repeat
    grey = ImageAugment(size=16, mean=(0.5,), std=(0.25,))(batch[:, :1])
    assert grey.shape == (8, 1, 16, 16)


def test_prepare_images_and_errors():
    batch = torch.full((2, 3, 8, 8), 255, dtype=torch.uint8)
    out = prepare_images(batch, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), size=16)
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(out, torch.ones_like(out))
    with pytest.raises(ValueError, match="NaN"):
        prepare_images(torch.full((1, 3, 4, 4), float("nan")))
    with pytest.raises(TypeError, match="uint8 or floating"):
        prepare_images(torch.zeros(1, 3, 4, 4, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        prepare_images(torch.zeros(3, 4, 4, dtype=torch.uint8))
