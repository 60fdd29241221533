"""selfsup.vision: self-supervised learning for images, with batched on-device augmentations.

Every public name is imported on first use (:mod:`selfsup.core.lazy_exports`).
"""

from selfsup.core.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "augment": ["ImageAugment", "MultiView", "byol_views", "multicrop_views", "prepare_images", "simclr_views"],
    "build": ["build_encoder", "build_method"],
    "datasets": [
        "ImageArray", "ImageDataset", "load_cifar", "load_cifar10_jpeg", "load_digits_images",
        "load_fashion_mnist", "load_image_folder",
    ],
    "encoders": ["PatchTokenizer", "ResNetEncoder", "VisionTransformer"],
    "methods": ["BYOL", "DCL", "DINO", "IJEPA", "MAE", "BarlowTwins", "SimCLR", "SimSiam", "VICReg"],
})
