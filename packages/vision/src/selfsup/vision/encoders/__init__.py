"""Image encoders: torchvision ResNets (CIFAR stem option) and ViTs on the core trunk."""

from selfsup.vision.encoders.resnet import ARCHS, ResNetEncoder
from selfsup.vision.encoders.vit import VIT_SIZES, PatchTokenizer, VisionTransformer

__all__ = ["ARCHS", "VIT_SIZES", "PatchTokenizer", "ResNetEncoder", "VisionTransformer"]
