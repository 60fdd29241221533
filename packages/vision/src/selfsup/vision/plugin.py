"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for images."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.vision.bench import main

    return main(argv)


def register() -> None:
    from selfsup.core.registry import register_bench, register_dataset, register_encoder, register_method
    from selfsup.vision.build import ENCODERS, METHODS
    from selfsup.vision.datasets import (
        load_cifar,
        load_cifar10_jpeg,
        load_digits_images,
        load_fashion_mnist,
        load_image_folder,
    )

    for name, factory in ENCODERS.items():
        register_encoder(name, factory)
    for name, factory in METHODS.items():
        register_method(f"vision_{name}", factory)
    for name, loader in {"cifar": load_cifar, "cifar10_jpeg": load_cifar10_jpeg, "digits_images": load_digits_images,
                         "fashion_mnist": load_fashion_mnist, "image_folder": load_image_folder}.items():
        register_dataset(name, loader)
    register_bench("vision", _bench)
