"""selfsup.vision: self-supervised learning for images, with batched on-device augmentations."""

from selfsup.vision.augment import ImageAugment, MultiView, byol_views, multicrop_views, prepare_images, simclr_views
from selfsup.vision.build import build_encoder, build_method
from selfsup.vision.datasets import (
    ImageArray,
    ImageDataset,
    load_cifar,
    load_cifar10_jpeg,
    load_digits_images,
    load_fashion_mnist,
    load_image_folder,
)
from selfsup.vision.encoders import PatchTokenizer, ResNetEncoder, VisionTransformer
from selfsup.vision.methods import BYOL, DCL, DINO, IJEPA, MAE, BarlowTwins, SimCLR, SimSiam, VICReg

__all__ = [
    "BYOL", "DCL", "DINO", "IJEPA", "MAE", "BarlowTwins", "ImageArray", "ImageAugment", "ImageDataset", "MultiView",
    "PatchTokenizer", "ResNetEncoder", "SimCLR", "SimSiam", "VICReg", "VisionTransformer", "build_encoder",
    "build_method", "byol_views", "load_cifar", "load_cifar10_jpeg", "load_digits_images", "load_fashion_mnist",
    "load_image_folder", "multicrop_views", "prepare_images", "simclr_views",
]
