"""Image datasets as uint8 arrays: CIFAR-10/100, Fashion-MNIST, ImageFolder, the CIFAR-10 JPEG pack, digits."""

from selfsup.vision.datasets.arrays import ImageArray, ImageDataset
from selfsup.vision.datasets.cifar import load_cifar
from selfsup.vision.datasets.cifar10_jpeg import load_cifar10_jpeg
from selfsup.vision.datasets.digits import load_digits_images
from selfsup.vision.datasets.fashion_mnist import load_fashion_mnist, read_idx
from selfsup.vision.datasets.image_folder import load_image_folder

__all__ = ["ImageArray", "ImageDataset", "load_cifar", "load_cifar10_jpeg", "load_digits_images",
           "load_fashion_mnist", "load_image_folder", "read_idx"]
