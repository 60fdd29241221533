"""Batched, on-device image augmentations (one random draw per image) and the evaluation transform."""

from selfsup.vision.augment.blur import gaussian_blur, random_gaussian_blur
from selfsup.vision.augment.color import adjust_hue, color_jitter, random_grayscale, random_solarize
from selfsup.vision.augment.geometric import (
    crop_resize,
    random_crop_boxes,
    random_horizontal_flip,
    random_resized_crop,
)
from selfsup.vision.augment.pipeline import (
    CIFAR_MEAN,
    CIFAR_STD,
    AugmentConfig,
    ImageAugment,
    MultiView,
    byol_views,
    multicrop_views,
    normalize,
    prepare_images,
    set_normalization,
    simclr_views,
    to_float,
)

__all__ = [
    "CIFAR_MEAN", "CIFAR_STD", "AugmentConfig", "ImageAugment", "MultiView", "adjust_hue", "byol_views",
    "color_jitter", "crop_resize", "gaussian_blur", "multicrop_views", "normalize", "prepare_images",
    "random_crop_boxes", "random_gaussian_blur", "random_grayscale", "random_horizontal_flip",
    "random_resized_crop", "random_solarize", "set_normalization", "simclr_views", "to_float",
]
