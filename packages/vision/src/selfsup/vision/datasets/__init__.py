"""Image datasets: a user's own files read lazily (folders, list files, tar shards), and uint8 arrays for the
suites (CIFAR-10/100, Fashion-MNIST, ImageFolder, the CIFAR-10 JPEG pack, digits)."""

from selfsup.vision.datasets.arrays import ImageArray, ImageDataset
from selfsup.vision.datasets.cifar import load_cifar
from selfsup.vision.datasets.cifar10_jpeg import load_cifar10_jpeg
from selfsup.vision.datasets.digits import load_digits_images
from selfsup.vision.datasets.fashion_mnist import load_fashion_mnist, read_idx
from selfsup.vision.datasets.image_files import ImageFiles, decode_image_bytes, decode_image_file, image_header
from selfsup.vision.datasets.image_folder import load_image_folder
from selfsup.vision.datasets.image_shards import ImageShards, index_shards

__all__ = ["ImageArray", "ImageDataset", "ImageFiles", "ImageShards", "decode_image_bytes", "decode_image_file",
           "image_header", "index_shards", "load_cifar", "load_cifar10_jpeg", "load_digits_images",
           "load_fashion_mnist", "load_image_folder", "read_idx"]
